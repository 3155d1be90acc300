"""``argo-artifacts call``: call one method of a running plugin (for trials and debugging)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..client import METHODS, PluginClient
from .inputs import read_text


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "call", help="call one method of a running plugin (for trials and debugging)",
        description="Call one method of the plugin listening on SOCKET and print the answer as JSON. METHOD is a "
        "gRPC method name or its short alias: " + ", ".join(f"{m} ({a})" for m, a in METHODS.items()) + ".",
    )
    parser.add_argument("socket", help="the plugin's unix socket")
    parser.add_argument("method", choices=sorted({*METHODS, *METHODS.values()}), metavar="METHOD",
                        help="which call (e.g. Load or load, OpenStream or get)")
    parser.add_argument("--config", default="", help="plugin configuration text, or @FILE")
    parser.add_argument("--key", default="", help="plugin.key of the artifact")
    parser.add_argument("--path", default="", help="local path (Load, Save, OpenStream, SaveStream)")


def run(args: argparse.Namespace) -> int:
    with PluginClient(args.socket) as client:
        result = client.run(args.method, read_text(args.config), args.key, args.path)
    streamed_to_stdout = METHODS.get(args.method, args.method) == "get" and not args.path
    out = sys.stderr if streamed_to_stdout else sys.stdout
    json.dump(result, out)
    print(file=out)
    return 0 if not result.get("error") else 1
