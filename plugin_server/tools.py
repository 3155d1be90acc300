"""``argo-artifacts``: inspect backends, check configurations, call a running plugin,
migrate artifacts between stores.

Run as ``argo-artifacts ...`` or ``python -m argo_artifact_driver.plugin_server.tools ...``.
Exit codes: 0 success; 1 the thing checked is broken (a configuration is invalid, a
backend does not load, a call failed); 2 usage errors (argparse).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Sequence

from .. import __version__

if TYPE_CHECKING:
    from ..core.registry import BackendRegistry, BackendStatus


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "backends":
        return backends_command(args.schemes, as_json=args.json)
    if args.command == "check":
        return check_command(_read_text(args.config), resolve=args.resolve)
    if args.command == "demo":
        from .demo import run_demo

        return run_demo(args.dir, keep_serving=not args.once)
    if args.command == "migrate":
        from . import migrate

        return migrate.run(args, _read_text)
    return _call(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="argo-artifacts", description="Tools for the argo-artifact-driver plugin.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    backends = commands.add_parser(
        "backends",
        help="list the installed storage schemes and whether each loads",
        description="List every scheme declared in the entry-point group argo_artifact_driver.backends, with the "
        "package that declares it and whether its backend loads (this imports each backend module, never a "
        "storage SDK, and touches no storage). Exit 1 if any listed scheme does not load.",
    )
    backends.add_argument("schemes", nargs="*", metavar="SCHEME", help="only these schemes (default: all installed)")
    backends.add_argument("--json", action="store_true", help="one JSON object per scheme, one per line")

    check = commands.add_parser(
        "check",
        help="validate a plugin configuration without touching storage",
        description="Parse a plugin configuration, load its scheme's backend and validate the options, without "
        "any network access. Exit 0 and print the store when valid; exit 1 and say why when not.",
    )
    check.add_argument("config", help="configuration text, or @FILE to read it from a file ('@-' for stdin)")
    check.add_argument(
        "--resolve", action="store_true",
        help="also resolve secret references and report where each credential comes from (never the values)",
    )

    demo = commands.add_parser("demo", help="start the plugin on the local-disk backend and show a round trip")
    demo.add_argument("--dir", help="working directory (default: a new temporary one, removed afterwards)")
    demo.add_argument("--once", action="store_true", help="stop after the round trip instead of serving on")

    call = commands.add_parser("call", help="call one method of a running plugin (for trials and debugging)")
    call.add_argument("socket", help="the plugin's unix socket")
    call.add_argument("method", choices=sorted(_CALLS), help="which call")
    call.add_argument("--config", default="", help="plugin configuration text, or @FILE")
    call.add_argument("--key", default="", help="plugin.key of the artifact")
    call.add_argument("--path", default="", help="local path (load, save, get, put)")

    from . import migrate

    migrate.add_parser(commands)
    return parser


def _read_text(value: str) -> str:
    if value == "@-":
        return sys.stdin.read()
    if value.startswith("@"):
        with open(value[1:], encoding="utf-8") as f:
            return f.read()
    return value


# -- backends -------------------------------------------------------------------------


def backends_command(schemes: Sequence[str] = (), as_json: bool = False, registry: "BackendRegistry | None" = None) -> int:
    """Print one line per scheme; exit 1 when any of them does not load."""
    from ..core.registry import BackendRegistry

    registry = registry or BackendRegistry()
    statuses = [registry.status(scheme) for scheme in (schemes or registry.schemes())]
    if as_json:
        for status in statuses:
            print(json.dumps(_status_record(status)))
    else:
        _print_table(statuses)
    return 0 if all(status.ok for status in statuses) else 1


def _status_record(status: "BackendStatus") -> dict:
    return {
        "scheme": status.scheme,
        "ok": status.ok,
        "packages": [
            {"distribution": e.distribution, "version": e.version, "entry_point": e.target} for e in status.entries
        ],
        "error": status.error,
    }


def _print_table(statuses: "list[BackendStatus]") -> None:
    rows = [("SCHEME", "PACKAGE", "VERSION", "STATUS")]
    for status in statuses:
        packages = ", ".join(e.distribution for e in status.entries) or "-"
        versions = ", ".join(e.version for e in status.entries) or "-"
        rows.append((status.scheme, packages, versions, "ok" if status.ok else "FAILED"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
    failed = [status for status in statuses if not status.ok]
    if not statuses:
        print("no backends installed (no entry points in the group argo_artifact_driver.backends)")
    for status in failed:
        print(f"\n{status.scheme}: {status.error}")


# -- check ----------------------------------------------------------------------------


def check_command(text: str, registry: "BackendRegistry | None" = None, resolve: bool = False) -> int:
    """Validate one configuration without touching storage; print the verdict.

    With ``resolve``, also resolve its secret references (mounted files, the Kubernetes
    API) and say where each credential would come from, never printing a value."""
    from ..core.config import parse_configuration
    from ..core.errors import ArtifactError, BadConfiguration, UnknownScheme
    from ..core.registry import BackendRegistry

    registry = registry or BackendRegistry()
    try:
        config = parse_configuration(text)
    except ArtifactError as exc:
        print(f"invalid: {exc}", file=sys.stderr)
        return 1
    try:
        backend = registry.create(config)
    except ArtifactError as exc:
        print(f"invalid: {exc}", file=sys.stderr)
        if isinstance(exc, BadConfiguration) and not isinstance(exc, UnknownScheme):
            _print_options(registry.backend_class(config.scheme).option_spec, config.scheme)
        return 1
    entry = registry.entries(backend.scheme)[0]
    print(f"ok: scheme '{backend.scheme}' ({entry.distribution} {entry.version}), store {backend.describe()}")
    for name, value in backend.options.items():
        print(f"  {name}: {value!r}")
    if resolve:
        try:
            report = backend.credential_report()
        except ArtifactError as exc:
            print(f"invalid: {exc}", file=sys.stderr)
            return 1
        print("credentials:")
        for line in report:
            print(f"  {line}")
    return 0


def _print_options(spec, scheme: str) -> None:
    from ..core.options import describe_options

    print(f"options of scheme '{scheme}':", file=sys.stderr)
    for line in describe_options(spec):
        print(f"  {line}", file=sys.stderr)


# -- call -----------------------------------------------------------------------------

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
    out = sys.stderr if args.method == "get" and not args.path else sys.stdout
    json.dump(result, out)
    print(file=out)
    return 0 if not result.get("error") else 1


if __name__ == "__main__":
    sys.exit(main())
