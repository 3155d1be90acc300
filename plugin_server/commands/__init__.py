"""``argo-artifacts``: inspect backends, check configurations, call a running plugin,
migrate artifacts between stores, run the demo.

One module per subcommand, each with ``add_parser(subparsers)`` and ``run(args) -> int``;
adding one is a module here and its name in :data:`COMMANDS`. Run as ``argo-artifacts ...``.

What every subcommand shares:

- **Exit codes**: 0 success; 1 the thing checked is broken (a configuration is invalid,
  a backend does not load, a call failed or the plugin cannot be reached); 2 a usage
  error (a bad argument, a missing option or ``@FILE``, an ``ARGO_ARTIFACT_DRIVER_*``
  variable with a value that cannot be used); 130 interrupted (Ctrl-C).
- **No traceback for a user's mistake**: a subcommand raises :class:`ToolError` with one
  line a person can act on; :func:`main` prints it as ``argo-artifacts COMMAND: ...``.
  A traceback means a bug in the tool.
- **``--json``** on every subcommand that reports (:func:`add_json_argument`): one JSON
  object per line on stdout, each result in the same shape whatever its outcome.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import Any, Sequence, TextIO

from ... import __version__
from ...core.settings import SettingError

#: Subcommands, in the order ``--help`` shows them: name -> module of this package.
COMMANDS = ("backends", "check", "policy", "call", "migrate", "demo")

#: Exit codes every subcommand uses.
OK, FAILED, USAGE, INTERRUPTED = 0, 1, 2, 130


class ToolError(Exception):
    """A mistake of the tool's user (or a plugin that cannot be reached): one line, an exit code."""

    def __init__(self, message: str, code: int = USAGE) -> None:
        super().__init__(message)
        self.code = code


def add_json_argument(parser: argparse.ArgumentParser, what: str = "each result") -> None:
    """The ``--json`` flag, worded the same on every subcommand."""
    parser.add_argument("--json", action="store_true", help=f"print {what} as one JSON object per line")


def print_json(record: Any, out: TextIO | None = None) -> None:
    """One JSON object on its own line of ``out`` (default: stdout)."""
    print(json.dumps(record, default=str, ensure_ascii=False), file=out or sys.stdout, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="argo-artifacts", description="Tools for the argo-artifact-driver plugin.",
        epilog="Exit codes: 0 success, 1 what was checked or called failed, 2 usage error, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = {name: importlib.import_module(f".{name}", __name__) for name in COMMANDS}
    for module in modules.values():
        module.add_parser(subparsers)
    args = parser.parse_args(argv)
    try:
        return modules[args.command].run(args)
    except ToolError as exc:
        print(f"argo-artifacts {args.command}: {exc}", file=sys.stderr)
        return exc.code
    except SettingError as exc:  # an ARGO_ARTIFACT_DRIVER_* variable the tools read too
        print(f"argo-artifacts {args.command}: {exc}", file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        print(f"argo-artifacts {args.command}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:  # the reader of our output went away (`| head`): nothing left to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return FAILED
