"""``argo-artifacts``: inspect backends, check configurations, call a running plugin,
migrate artifacts between stores, run the demo.

One module per subcommand, each with ``add_parser(subparsers)`` and ``run(args) -> int``;
adding one is a module here and its name in :data:`COMMANDS`. Run as ``argo-artifacts ...``.
Exit codes: 0 success; 1 the thing checked is broken (a configuration is invalid, a backend
does not load, a call failed); 2 usage errors.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Sequence

from ... import __version__

#: Subcommands, in the order ``--help`` shows them: name -> module of this package.
COMMANDS = ("backends", "check", "call", "migrate", "demo")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="argo-artifacts", description="Tools for the argo-artifact-driver plugin.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = {name: importlib.import_module(f".{name}", __name__) for name in COMMANDS}
    for module in modules.values():
        module.add_parser(subparsers)
    args = parser.parse_args(argv)
    return modules[args.command].run(args)
