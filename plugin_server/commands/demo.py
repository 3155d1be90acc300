"""``argo-artifacts demo``: start the plugin on the local-disk backend and show a round trip.

This is what `make run` (the README's first command) runs: no cloud account, nothing but this package. The
server runs as its own process on a unix socket, exactly as Argo runs it, and every
step below is a real gRPC call.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

from ..client import PluginClient


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="start the plugin on the local-disk backend and show a round trip")
    parser.add_argument("--dir", help="working directory (default: a new temporary one, removed afterwards)")
    parser.add_argument("--once", action="store_true", help="stop after the round trip instead of serving on")


def run(args: argparse.Namespace) -> int:
    return run_demo(args.dir, keep_serving=not args.once)


def run_demo(workdir: str | None, keep_serving: bool) -> int:
    base = workdir or tempfile.mkdtemp(prefix="argo-artifact-driver-demo-")
    socket_path = os.path.join(base, "artifact-plugins", "demo", "socket")
    store_root = os.path.join(base, "store")
    config = f"scheme: file\nroot: {store_root}\n"
    server = subprocess.Popen([_server_command(), socket_path])
    try:
        _wait_for(socket_path, server)
        with PluginClient(socket_path) as client:
            ok = _round_trip(client, config, base)
        print(f"\nplugin serving on {socket_path}")
        print(f"configuration: {config.strip()!r}")
        if not keep_serving:
            return 0 if ok else 1
        print("try: argo-artifacts call", socket_path, "list --config @CONFIG_FILE --key demo")
        print("press Ctrl-C to stop")
        server.wait()
        return 0 if ok else 1
    except KeyboardInterrupt:
        return 0
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=30)
        if workdir is None:
            shutil.rmtree(base, ignore_errors=True)


def _server_command() -> str:
    found = shutil.which("argo-artifact-driver", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if not found:
        raise SystemExit("argo-artifact-driver is not on PATH; install the package first")
    return found


def _wait_for(socket_path: str, server: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not os.path.exists(socket_path):
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the plugin did not start; see its log above")
        time.sleep(0.02)


def _step(label: str, result: dict, expect_error: bool = False) -> bool:
    ok = bool(result.get("error")) == expect_error
    shown = {k: v for k, v in result.items() if v not in ("", None)}
    print(f"{'ok ' if ok else 'ERR'} {label:<44} {shown}")
    return ok


def _round_trip(client: PluginClient, config: str, base: str) -> bool:
    src = os.path.join(base, "outputs")
    os.makedirs(os.path.join(src, "reports"), exist_ok=True)
    with open(os.path.join(src, "hello.txt"), "w") as f:
        f.write("Hello from Argo!\n")
    with open(os.path.join(src, "reports", "summary.json"), "w") as f:
        f.write('{"steps": 3}\n')
    loaded = os.path.join(base, "inputs", "outputs")
    results = [
        _step("Save directory -> key demo", client.run("save", config, "demo", src)),
        _step("ListObjects demo", client.run("list", config, "demo", "")),
        _step("IsDirectory demo", client.run("isdir", config, "demo", "")),
        _step("Load demo -> inputs/outputs", client.run("load", config, "demo", loaded)),
        _step("OpenStream demo/hello.txt", client.run("get", config, "demo/hello.txt", os.path.join(base, "hello.copy"))),
        _step("Load missing key (error expected)", client.run("load", config, "no/such/key", os.path.join(base, "x")), True),
        _step("Delete demo", client.run("delete", config, "demo", "")),
        _step("IsDirectory demo after Delete", client.run("isdir", config, "demo", "")),
    ]
    same = not filecmp.dircmp(src, loaded).diff_files and filecmp.cmp(
        os.path.join(src, "hello.txt"), os.path.join(base, "hello.copy"), shallow=False
    )
    print(f"{'ok ' if same else 'ERR'} {'loaded files equal the saved ones':<44}")
    return all(results) and same
