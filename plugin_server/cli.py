"""Console entry points: ``argo-artifact-driver`` (the server) and ``argo-artifacts`` (tools)."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .. import __version__


def server_main(argv: Sequence[str] | None = None) -> int:
    """``argo-artifact-driver SOCKET_PATH``: serve Argo's artifact plugin API on a unix socket."""
    parser = argparse.ArgumentParser(
        prog="argo-artifact-driver",
        description="Argo Workflows artifact plugin: serves artifact.ArtifactService on a unix socket.",
    )
    parser.add_argument("socket_path", metavar="SOCKET_PATH", help="unix socket to listen on (no unix:// prefix)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    args = parser.parse_args(argv)

    from ..core.settings import SettingError, Settings
    from .logs import configure_logging
    from .server import serve

    try:
        settings = Settings.from_env()
    except SettingError as exc:
        print(f"argo-artifact-driver: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    return serve(args.socket_path, settings)


def tools_main(argv: Sequence[str] | None = None) -> int:
    """``argo-artifacts``: the tools (see :mod:`.commands`)."""
    from .commands import main

    return main(argv)
