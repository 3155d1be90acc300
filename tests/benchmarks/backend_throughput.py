"""Throughput of Load and Save through the plugin next to the same transfer done directly
with the backend's fsspec filesystem (``get_file``/``put_file``), per backend, one run.

    .venv/bin/python tests/benchmarks/backend_throughput.py [--mib 256] [--repeat 3] [BACKEND ...]

Starts the servers and the plugin itself (as the test suite does), prints a table and
never fails on a number. Not collected by pytest (its name does not match ``test_*.py``).
The pieces are functions taking a store and a client, for reuse elsewhere.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from argo_artifact_driver.core.stores import StoreCache
from argo_artifact_driver.core.units import MiB
from argo_artifact_driver.plugin_server.client import PluginClient
from argo_artifact_driver.plugin_server.testing.plugin import PluginProcess
from support import servers
from support.stores import (
    AzureStore,
    FileStore,
    FTPStore,
    GCSStore,
    S3Store,
    SFTPStore,
    StoreUnderTest,
)

NPM_DIR = Path(__file__).resolve().parents[1] / "servers"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_EC2_METADATA_DISABLED": "true"}


def median_seconds(action: Callable[[], None], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(store: StoreUnderTest, client: PluginClient, src: Path, work: Path, repeat: int) -> dict[str, float]:
    """Median seconds of Save and Load of ``src`` through the plugin and directly."""
    key = f"bench/{store.scheme}/{src.name}"
    dest = work / "loaded"

    def plugin_save() -> None:
        r = client.save(store.config, key, src)
        assert r.success, r.error

    def plugin_load() -> None:
        r = client.load(store.config, key, dest)
        assert r.success, r.error

    # "Directly": the filesystem the backend itself builds from the same configuration.
    stores = StoreCache()
    direct = stores.build(stores.parse(store.config))
    fs, rpath = direct.fs, f"{fs_root(direct)}/{key}"
    out = {"plugin_save": median_seconds(plugin_save, repeat), "plugin_load": median_seconds(plugin_load, repeat)}
    out["direct_save"] = median_seconds(lambda: fs.put_file(str(src), rpath), repeat)
    out["direct_load"] = median_seconds(lambda: fs.get_file(rpath, str(dest)), repeat)
    return out


def fs_root(store) -> str:
    return store.fs._strip_protocol(store.backend.root()).rstrip("/")


def make_stores(work: Path, started: list[servers.Server]) -> dict[str, Callable[[], StoreUnderTest]]:
    """Backend label -> how to make its store; servers are started on first use into ``started``."""

    def start(fn: Callable[[], servers.Server]) -> servers.Server:
        server = fn()
        started.append(server)
        return server

    def sftp() -> StoreUnderTest:
        s = start(lambda: servers.start_sshd(work))
        return SFTPStore(s.port, s.info["username"], s.info["client_key"], str(work / "sftp-store"))

    def ftp() -> StoreUnderTest:
        s = start(lambda: servers.start_ftp(work))
        return FTPStore(s.port, s.info["username"], s.info["password"], s.info["served_dir"], "artifacts")

    makers = {
        "file": lambda: FileStore(work / "file-store"),
        "s3": lambda: S3Store(start(lambda: servers.start_moto(work)).info["endpoint"], "bench"),
        "gcs": lambda: GCSStore(start(lambda: servers.start_gcs_emulator(work)).info["endpoint"], "bench"),
        "azure": lambda: AzureStore(start(lambda: servers.start_azurite(work, NPM_DIR)).info["endpoint"], "bench"),
        "fsspec-sftp": sftp,
        "fsspec-ftp": ftp,
    }
    return makers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("backends", nargs="*")
    args = parser.parse_args(argv)
    os.environ.update(AWS_ENV)
    os.environ.update(servers.GCS_EMULATOR_ENV)
    os.environ.update(AzureStore.plugin_env)  # the direct path authenticates as the plugin does
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        src = work / f"payload-{args.mib}MiB"
        with open(src, "wb") as f:
            for _ in range(args.mib):
                f.write(os.urandom(MiB))
        started: list[servers.Server] = []
        stores = make_stores(work, started)
        env = {**AWS_ENV, **servers.GCS_EMULATOR_ENV, **AzureStore.plugin_env}
        plugin = PluginProcess(work / "socket", work, env=env)
        client = plugin.client()
        mib = args.mib
        print(f"{args.mib} MiB, median of {args.repeat}; MiB/s (ratio plugin/direct)")
        print(f"{'backend':<12} {'save plugin':>12} {'save direct':>12} {'ratio':>6} {'load plugin':>12} {'load direct':>12} {'ratio':>6}")
        try:
            for name in args.backends or list(stores):
                store = stores[name]()
                t = measure(store, client, src, work, args.repeat)
                print(
                    f"{name:<12} {mib / t['plugin_save']:>12.0f} {mib / t['direct_save']:>12.0f} "
                    f"{t['direct_save'] / t['plugin_save']:>6.2f} {mib / t['plugin_load']:>12.0f} "
                    f"{mib / t['direct_load']:>12.0f} {t['direct_load'] / t['plugin_load']:>6.2f}",
                    flush=True,
                )
                store.fs.rm(store.path("bench"), recursive=True)
                while started:
                    started.pop().stop()
        finally:
            client.close()
            plugin.stop()
            for server in started:
                server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
