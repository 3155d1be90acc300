"""``argo-artifacts call``: call one method of a running plugin (for trials and debugging)."""

from __future__ import annotations

import argparse
import os
import stat
import sys
from typing import Any

import grpc

from ..client import METHODS, PluginClient
from . import FAILED, OK, ToolError, add_json_argument, print_json
from .inputs import read_text

#: What each method needs besides the socket (aliases resolved): the options to give.
NEEDS = {
    "load": ("--config", "--key", "--path"), "save": ("--config", "--key", "--path"),
    "delete": ("--config", "--key"), "list": ("--config",), "isdir": ("--config",),
    "get": ("--config", "--key"), "put": ("--config", "--key"), "capabilities": (),
}
#: Seconds a call may take before the tool gives up (a plugin that accepts but never answers).
DEFAULT_TIMEOUT = 600.0


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "call", help="call one method of a running plugin (for trials and debugging)",
        description="Call one method of the plugin listening on SOCKET and print its answer. METHOD is a gRPC "
        "method name or its short alias: " + ", ".join(f"{m} ({a})" for m, a in METHODS.items()) + ". OpenStream "
        "without --path writes the object to stdout; SaveStream without --path reads it from stdin.",
    )
    parser.add_argument("socket", metavar="SOCKET", help="the plugin's unix socket")
    parser.add_argument("method", choices=sorted({*METHODS, *METHODS.values()}), metavar="METHOD",
                        help="which call (e.g. Load or load, OpenStream or get)")
    parser.add_argument("--config", default="", help="plugin configuration text, or @FILE ('@-': stdin)")
    parser.add_argument("--key", default="", help="plugin.key of the artifact")
    parser.add_argument("--path", default="", help="local path (Load, Save; OpenStream, SaveStream: optional)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"seconds before giving up on the call (default {DEFAULT_TIMEOUT:g})")
    add_json_argument(parser, "the answer")


def run(args: argparse.Namespace) -> int:
    alias = METHODS.get(args.method, args.method)
    missing = [flag for flag in NEEDS[alias] if not getattr(args, flag[2:])]
    if missing:
        raise ToolError(f"{args.method} needs {' and '.join(missing)}: {_explain(missing)}")
    config = read_text(args.config, "--config")
    _check_socket(args.socket)
    streamed_to_stdout = alias == "get" and not args.path
    with PluginClient(args.socket, timeout=args.timeout) as client:
        try:
            result = client.run(alias, config, args.key, args.path)
        except grpc.RpcError as exc:
            raise ToolError(_unreachable(args.socket, exc), FAILED) from None
        except OSError as exc:  # the local --path of OpenStream or SaveStream
            raise ToolError(f"--path {args.path!r}: {exc.strerror or exc}") from None
    if args.json:
        print_json(result, sys.stderr if streamed_to_stdout else sys.stdout)  # stdout may hold the object
    else:
        _print_human(alias, result, sys.stderr if streamed_to_stdout else sys.stdout)
    return FAILED if result.get("error") else OK


_MEANINGS = {
    "--config": "the plugin configuration, as text or @FILE",
    "--key": "the artifact's plugin.key",
    "--path": "the local file or directory",
}


def _explain(missing: list[str]) -> str:
    return "; ".join(f"{flag} is {_MEANINGS[flag]}" for flag in missing)


def _check_socket(path: str) -> None:
    """Say plainly what is wrong with a socket path before gRPC says it obscurely."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ToolError(f"no socket at {path}: is the plugin running? (argo-artifact-driver {path} starts it)",
                        FAILED) from None
    except OSError as exc:
        raise ToolError(f"cannot use {path}: {exc.strerror or exc}", FAILED) from None
    if not stat.S_ISSOCK(mode):
        raise ToolError(f"{path} is not a socket: give the unix socket the plugin listens on", FAILED)


def _unreachable(path: str, exc: grpc.RpcError) -> str:
    code = exc.code() if hasattr(exc, "code") else None
    if code == grpc.StatusCode.UNAVAILABLE:
        return f"no plugin answers on {path} (the socket is left from a plugin that stopped?)"
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"the plugin on {path} did not answer within the time-out (--timeout)"
    details = exc.details() if hasattr(exc, "details") else str(exc)
    return f"the call failed: {code.name if code else 'error'}: {details}"


def _print_human(alias: str, result: dict[str, Any], out: Any) -> None:
    if result.get("error"):
        print(f"error: {result['error']}", file=out)
        return
    if alias == "list":
        for key in result["objects"]:
            print(key, file=out)
        return
    if alias == "isdir":
        print("true" if result["is_directory"] else "false", file=out)
        return
    if alias == "capabilities":
        print(f"supports SaveStream: {'yes' if result['supports_save_stream'] else 'no'}", file=out)
        return
    moved = result.get("bytes")
    print("ok" if moved is None else f"ok ({moved} bytes)", file=out)
