"""Console entry points: ``argo-artifact-driver`` (the server) and ``argo-artifacts`` (tools).

Argo starts the server as ``ENTRYPOINT SOCKET_PATH`` and appends the controller's
``executor.args`` to every plugin container (``workflow/controller/workflowpod.go``,
``newExecContainer``: plugin containers take the executor's env, resources,
securityContext and args), e.g. ``--loglevel debug --gloglevel 6`` from upstream's sample
configuration, or ``--kubeconfig=PATH`` when the controller has a kubeconfig. Those flags
are Argo's own: the ones that mean something here are honoured, anything else is named in
one warning line, and none of them ever stops the server from starting (Argo would wait
two minutes for a socket that never comes, then fail the step).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from typing import Sequence

from .. import __version__

#: Argo's executor flags the server honours: flag -> the setting it overrides.
LOG_FLAGS = {"--loglevel": "log_level", "--log-level": "log_level", "--log-format": "log_format"}
#: glog verbosity (Argo's ``--gloglevel``, for the Go libraries in its own binaries) at and
#: above which gRPC's core logs at DEBUG here; from 1, at INFO.
GLOG_DEBUG = 6


@dataclass
class ServerArguments:
    """What the command line asked of the server, and what it could not use."""

    socket_path: str
    flags: dict[str, str] = field(default_factory=dict)  # honoured flag -> its value
    gloglevel: int | None = None
    ignored: list[str] = field(default_factory=list)  # arguments the server does not know
    problems: list[str] = field(default_factory=list)  # known flags with values it cannot use


def parse_server_arguments(argv: Sequence[str] | None) -> ServerArguments:
    """The socket path and Argo's flags; exits 2 (argparse) only when no socket path is given."""
    parser = argparse.ArgumentParser(
        prog="argo-artifact-driver",
        description="Argo Workflows artifact plugin: serves artifact.ArtifactService on a unix socket. "
        "Argo appends its executor.args after the socket path: --loglevel/--log-level LEVEL and "
        "--log-format json|text override ARGO_ARTIFACT_DRIVER_LOG_LEVEL/_LOG_FORMAT, --gloglevel N sets "
        "gRPC's own verbosity, and other arguments are ignored with a warning.",
        allow_abbrev=False,  # an unknown --log... must not be taken for one of ours
    )
    parser.add_argument("socket_path", metavar="SOCKET_PATH", help="unix socket to listen on (no unix:// prefix)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    for flag in LOG_FLAGS:
        parser.add_argument(flag, dest=flag.lstrip("-").replace("-", "_"), metavar="VALUE", help=argparse.SUPPRESS)
    parser.add_argument("--gloglevel", metavar="N", help=argparse.SUPPRESS)
    namespace, unknown = parser.parse_known_args(argv)
    args = ServerArguments(namespace.socket_path, ignored=list(unknown))
    for flag in LOG_FLAGS:
        value = getattr(namespace, flag.lstrip("-").replace("-", "_"))
        if value is not None:
            args.flags[flag] = value
    if namespace.gloglevel not in (None, ""):  # Argo passes "" when its own glog flag is unset
        try:
            args.gloglevel = int(namespace.gloglevel)
        except ValueError:
            args.problems.append(f"--gloglevel must be a whole number, got {namespace.gloglevel!r}; ignored")
    return args


def server_main(argv: Sequence[str] | None = None) -> int:
    """``argo-artifact-driver SOCKET_PATH [ARGS...]``: serve Argo's artifact plugin API on a unix socket."""
    args = parse_server_arguments(argv)

    from ..core.settings import SettingError, Settings

    try:
        settings = Settings.from_env()
    except SettingError as exc:  # the operator's own environment: refuse to start, in one line
        print(f"argo-artifact-driver: {exc}", file=sys.stderr)
        return 2
    for flag, value in args.flags.items():
        try:
            settings = settings.overridden(LOG_FLAGS[flag], value, flag)
        except SettingError as exc:  # a flag Argo appended: warn, keep the environment's value
            args.problems.append(f"{exc}; ignored")
    if args.gloglevel is not None and args.gloglevel > 0:
        # Read by gRPC's core when grpc is first imported, which is below.
        os.environ.setdefault("GRPC_VERBOSITY", "DEBUG" if args.gloglevel >= GLOG_DEBUG else "INFO")

    from .logs import configure_logging
    from .server import serve

    log = configure_logging(settings.python_log_level(), settings.log_format)
    if args.ignored or args.problems:
        log.warning(
            "ignoring command-line arguments the server does not use (Argo appends the controller's executor.args "
            "to plugin containers)",
            extra={"fields": {"ignored": args.ignored, "problems": args.problems}},
        )
    return serve(args.socket_path, settings)


def tools_main(argv: Sequence[str] | None = None) -> int:
    """``argo-artifacts``: the tools (see :mod:`.commands`)."""
    from .commands import main

    return main(argv)
