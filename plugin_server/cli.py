"""Console entry points: ``argo-artifact-driver`` (the server) and ``argo-artifacts`` (tools)."""

from __future__ import annotations

import argparse
import json
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

    from .logs import configure_logging
    from .server import serve

    configure_logging()
    return serve(args.socket_path)


def tools_main(argv: Sequence[str] | None = None) -> int:
    """``argo-artifacts``: inspect backends, check configurations, call a running plugin,
    migrate artifacts between stores."""
    parser = argparse.ArgumentParser(prog="argo-artifacts", description="Tools for the argo-artifact-driver plugin.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("backends", help="list the installed storage schemes")

    demo = commands.add_parser("demo", help="start the plugin on the local-disk backend and show a round trip")
    demo.add_argument("--dir", help="working directory (default: a new temporary one, removed afterwards)")
    demo.add_argument("--once", action="store_true", help="stop after the round trip instead of serving on")

    check = commands.add_parser("check", help="validate a plugin configuration without touching storage")
    check.add_argument("config", help="configuration text, or @FILE to read it from a file ('@-' for stdin)")

    call = commands.add_parser("call", help="call one method of a running plugin (for trials and debugging)")
    call.add_argument("socket", help="the plugin's unix socket")
    call.add_argument("method", choices=sorted(_CALLS), help="which call")
    call.add_argument("--config", default="", help="plugin configuration text, or @FILE")
    call.add_argument("--key", default="", help="plugin.key of the artifact")
    call.add_argument("--path", default="", help="local path (load, save, get, put)")

    from . import migrate

    migrate.add_parser(commands)

    args = parser.parse_args(argv)
    if args.command == "migrate":
        return migrate.run(args, _read_text)
    if args.command == "backends":
        return _backends()
    if args.command == "demo":
        from .demo import run_demo

        return run_demo(args.dir, keep_serving=not args.once)
    if args.command == "check":
        return _check(_read_text(args.config))
    return _call(args)


def _read_text(value: str) -> str:
    if value == "@-":
        return sys.stdin.read()
    if value.startswith("@"):
        with open(value[1:], encoding="utf-8") as f:
            return f.read()
    return value


def _backends() -> int:
    from ..core.registry import BackendRegistry

    for scheme in BackendRegistry().schemes():
        print(scheme)
    return 0


def _check(text: str) -> int:
    from ..core.config import parse_configuration
    from ..core.errors import ArtifactError
    from ..core.registry import BackendRegistry

    try:
        store = BackendRegistry().store(parse_configuration(text))
    except ArtifactError as exc:
        print(f"invalid: {exc}", file=sys.stderr)
        return 1
    print(f"ok: scheme '{store.scheme}', store {store.describe()}")
    return 0


_CALLS = {
    "load": "Load the artifact into --path",
    "save": "Save --path as the artifact",
    "delete": "Delete the artifact",
    "list": "ListObjects below the key",
    "isdir": "IsDirectory",
    "get": "OpenStream into --path (or stdout)",
    "put": "SaveStream from --path (or stdin)",
    "capabilities": "GetCapabilities",
}


def _call(args: argparse.Namespace) -> int:
    from .client import PluginClient

    with PluginClient(args.socket) as client:
        result = client.run(args.method, _read_text(args.config), args.key, args.path)
    json.dump(result, sys.stderr if args.method == "get" and not args.path else sys.stdout)
    print(file=sys.stderr if args.method == "get" and not args.path else sys.stdout)
    return 0 if not result.get("error") else 1
