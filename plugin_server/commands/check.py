"""``argo-artifacts check``: validate a plugin configuration without touching storage."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Mapping

from ...core.errors import ArtifactError, BadConfiguration, UnknownScheme
from ...core.options import Option, describe_options
from ...core.stores import StoreCache
from .inputs import read_text


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="validate a plugin configuration without touching storage",
        description="Parse a plugin configuration, load its scheme's backend and validate the options, without "
        "any network access. Exit 0 and print the store when valid; exit 1 and say why when not.",
    )
    parser.add_argument("config", help="configuration text, or @FILE to read it from a file ('@-' for stdin)")
    parser.add_argument(
        "--resolve", action="store_true",
        help="also resolve secret references and report where each credential comes from (never the values)",
    )


def run(args: argparse.Namespace) -> int:
    return check_command(read_text(args.config), resolve=args.resolve)


def check_command(text: str, stores: StoreCache | None = None, resolve: bool = False) -> int:
    """Validate one configuration without touching storage; print the verdict.

    With ``resolve``, also resolve its secret references (mounted files, the Kubernetes
    API) and say where each credential would come from, never printing a value."""
    stores = stores or StoreCache()
    try:
        config = stores.parse(text)
        configured = stores.configure(config)
        store = stores.build(config)  # composites validate their parts here; no I/O
    except ArtifactError as exc:
        print(f"invalid: {exc}", file=sys.stderr)
        if isinstance(exc, BadConfiguration) and not isinstance(exc, UnknownScheme):
            _print_options(stores, text)
        return 1
    entry = stores.registry.entries(config.scheme)[0]
    print(f"ok: scheme '{config.scheme}' ({entry.distribution} {entry.version}), store {store.describe()}")
    for name, value in configured.options.items():
        print(f"  {name}: {value!r}")
    if resolve and hasattr(configured, "credential_report"):
        try:
            report = configured.credential_report()
        except ArtifactError as exc:
            print(f"invalid: {exc}", file=sys.stderr)
            return 1
        print("credentials:")
        for line in report:
            print(f"  {line}")
    return 0


def _print_options(stores: StoreCache, text: str) -> None:
    try:
        scheme = stores.parse(text).scheme
        spec: Mapping[str, Option] = stores.registry.backend_class(scheme).option_spec
    except ArtifactError:
        return
    print(f"options of scheme '{scheme}':", file=sys.stderr)
    for line in describe_options(spec):
        print(f"  {line}", file=sys.stderr)
