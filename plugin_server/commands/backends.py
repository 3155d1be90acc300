"""``argo-artifacts backends``: the installed schemes and whether each loads."""

from __future__ import annotations

import argparse
from typing import Any, Sequence

from ...core.registry import BackendRegistry, BackendStatus
from . import add_json_argument, print_json


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "backends",
        help="list the installed storage schemes and whether each loads",
        description="List every scheme declared in the entry-point group argo_artifact_driver.backends, with the "
        "package that declares it and whether its backend loads: this imports each backend module and the "
        "packages of its SDK (the extra an image needs for that scheme), and touches no storage. Exit 1 if any "
        "listed scheme does not load.",
    )
    parser.add_argument("schemes", nargs="*", metavar="SCHEME", help="only these schemes (default: all installed)")
    add_json_argument(parser, "each scheme")


def run(args: argparse.Namespace) -> int:
    return backends_command(args.schemes, as_json=args.json)


def backends_command(schemes: Sequence[str] = (), as_json: bool = False, registry: BackendRegistry | None = None) -> int:
    """Print one line per scheme; exit 1 when any of them does not load."""
    registry = registry or BackendRegistry()
    statuses = [registry.status(scheme) for scheme in (schemes or registry.schemes())]
    if as_json:
        for status in statuses:
            print_json(_status_record(status))
    else:
        _print_table(statuses)
    return 0 if all(status.ok for status in statuses) else 1


def _status_record(status: BackendStatus) -> dict:
    return {
        "scheme": status.scheme,
        "ok": status.ok,
        "packages": [
            {"distribution": e.distribution, "version": e.version, "entry_point": e.target} for e in status.entries
        ],
        "error": status.error,
    }


def _print_table(statuses: list[BackendStatus]) -> None:
    rows = [("SCHEME", "PACKAGE", "VERSION", "STATUS")]
    for status in statuses:
        packages = ", ".join(e.distribution for e in status.entries) or "-"
        versions = ", ".join(e.version for e in status.entries) or "-"
        rows.append((status.scheme, packages, versions, "ok" if status.ok else "FAILED"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
    if not statuses:
        print("no backends installed (no entry points in the group argo_artifact_driver.backends)")
    for status in statuses:
        if not status.ok:
            print(f"\n{status.scheme}: {status.error}")
