"""``argo-artifacts demo``: start the plugin on the local-disk backend and show a round trip.

This is what `make run` (the README's first command) runs: no cloud account, nothing but this package. The
server runs as its own process on a unix socket, exactly as Argo runs it, and every
step below is a real gRPC call.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

from ..client import PluginClient
from . import FAILED, OK, ToolError, add_json_argument, print_json


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="start the plugin on the local-disk backend and show a round trip")
    parser.add_argument("--dir", help="working directory (default: a new temporary one, removed afterwards)")
    parser.add_argument("--once", action="store_true", help="stop after the round trip instead of serving on")
    add_json_argument(parser, "each step")


def run(args: argparse.Namespace) -> int:
    return run_demo(args.dir, keep_serving=not args.once, as_json=args.json)


def run_demo(workdir: str | None, keep_serving: bool, as_json: bool = False) -> int:
    base = workdir or tempfile.mkdtemp(prefix="argo-artifact-driver-demo-")
    socket_path = os.path.join(base, "artifact-plugins", "demo", "socket")
    store_root = os.path.join(base, "store")
    config = f"scheme: file\nroot: {store_root}\n"
    config_file = os.path.join(base, "config.yaml")
    server = None
    try:
        os.makedirs(base, exist_ok=True)
        with open(config_file, "w") as f:
            f.write(config)
        # Scheme file is off by default (see the security page of the docs): the demo is an
        # operator allowing exactly its own store.
        policy = os.path.join(base, "policy.yaml")
        with open(policy, "w", encoding="utf-8") as f:
            f.write(f"schemes: [file]\nfile: {{roots: [{json.dumps(store_root)}]}}\n")
        # the server's log lines would interleave with the steps; they go to a file
        server_log = open(os.path.join(base, "plugin.log"), "wb")
        server = subprocess.Popen([_server_command(), socket_path], stderr=server_log, stdout=server_log,
                                  env={**os.environ, "ARGO_ARTIFACT_DRIVER_POLICY": policy})
        _wait_for(socket_path, server, server_log.name)
        with PluginClient(socket_path) as client:
            ok = _round_trip(client, config, base, as_json)
        if as_json:
            print_json({"socket": socket_path, "configuration": config_file, "plugin_log": server_log.name, "ok": ok})
        else:
            print(f"\nplugin serving on {socket_path}, its log in {server_log.name}")
            print(f"configuration ({config_file}):")
            for line in config.splitlines():
                print(f"  {line}")
        if not keep_serving:
            return OK if ok else FAILED
        if not as_json:
            print(f"try: argo-artifacts call {socket_path} list --config @{config_file} --key demo")
            print("press Ctrl-C to stop")
        server.wait()
        return OK if ok else FAILED
    except KeyboardInterrupt:
        return OK  # Ctrl-C is how the demo is meant to end
    except BrokenPipeError:
        raise  # the reader of the output went away; the tools' main ends quietly
    except OSError as exc:
        raise ToolError(f"cannot set up the demo in {base}: {exc.strerror or exc}", FAILED) from None
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(timeout=30)
        if workdir is None:
            shutil.rmtree(base, ignore_errors=True)


def _server_command() -> str:
    found = shutil.which("argo-artifact-driver", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if not found:
        raise ToolError("argo-artifact-driver is not on PATH; install the package first", FAILED)
    return found


def _wait_for(socket_path: str, server: subprocess.Popen, log_path: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not os.path.exists(socket_path):
        if server.poll() is not None or time.monotonic() > deadline:
            raise ToolError(f"the plugin did not start; see its log in {log_path}", FAILED)
        time.sleep(0.02)


def _step(label: str, result: dict, expect_error: bool = False, as_json: bool = False) -> bool:
    ok = bool(result.get("error")) == expect_error
    shown = {k: v for k, v in result.items() if v not in ("", None)}
    if as_json:
        print_json({"step": label, "ok": ok, **shown})
    else:
        print(f"{'ok ' if ok else 'ERR'} {label:<44} {json.dumps(shown) if shown else ''}".rstrip())
    return ok


def _round_trip(client: PluginClient, config: str, base: str, as_json: bool) -> bool:
    src = os.path.join(base, "outputs")
    os.makedirs(os.path.join(src, "reports"), exist_ok=True)
    with open(os.path.join(src, "hello.txt"), "w") as f:
        f.write("Hello from Argo!\n")
    with open(os.path.join(src, "reports", "summary.json"), "w") as f:
        f.write('{"steps": 3}\n')
    loaded = os.path.join(base, "inputs", "outputs")
    steps = [
        ("Save directory -> key demo", "save", "demo", src, False),
        ("ListObjects demo", "list", "demo", "", False),
        ("IsDirectory demo", "isdir", "demo", "", False),
        ("Load demo -> inputs/outputs", "load", "demo", loaded, False),
        ("OpenStream demo/hello.txt", "get", "demo/hello.txt", os.path.join(base, "hello.copy"), False),
        ("Load missing key (error expected)", "load", "no/such/key", os.path.join(base, "x"), True),
        ("Delete demo", "delete", "demo", "", False),
        ("IsDirectory demo after Delete", "isdir", "demo", "", False),
    ]
    results = [_step(label, client.run(method, config, key, path), failing, as_json)
               for label, method, key, path, failing in steps]
    same = not filecmp.dircmp(src, loaded).diff_files and filecmp.cmp(
        os.path.join(src, "hello.txt"), os.path.join(base, "hello.copy"), shallow=False
    )
    _step("loaded files equal the saved ones", {} if same else {"error": "they differ"}, as_json=as_json)
    return all(results) and same
