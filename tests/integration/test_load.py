"""Load: 64 concurrent clients, each doing 20 Save/Load/OpenStream round trips of random
sizes, on every backend; every byte checked; the server's threads, file descriptors and
memory come back to where they were.

The baseline is taken after a warm-up round at the same concurrency, so pools that grow
once and are kept (gRPC's worker threads, the SDK's connection pool, allocator arenas)
are part of it (the plugin runs 16 gRPC workers, so 64 clients queue and the warm-up fills
the pool). Tolerances after the run: threads +2, file descriptors +16 (idle
keep-alive connections to storage), RSS +64 MiB (allocator high-water marks).
"""

from __future__ import annotations

import hashlib
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from argo_artifact_driver.plugin_server.client import PluginClient
from argo_artifact_driver.plugin_server.testing.conformance import eventually
from argo_artifact_driver.plugin_server.testing.plugin import PluginProcess

CLIENTS = 64
ROUNDS = 20
MAX_SIZE = 192 * 1024


def usage(pid: int) -> dict[str, int]:
    status = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status").read().splitlines() if ":" in line)
    return {
        "threads": int(status["Threads"]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "rss_kib": int(status["VmRSS"].split()[0]),
    }


@pytest.fixture(scope="module")
def load_plugin(work_dir, plugin_env):
    # 16 workers for 64 clients: the warm-up round surely grows gRPC's pool to its
    # maximum, so the baseline already holds every thread the pool will ever keep. All
    # clients use one store, so that store may take every worker here: by default one
    # endpoint holds at most half of them, and the calls beyond would be refused at once
    # (that bound has its own test, tests/integration/test_security.py).
    env = {**plugin_env, "ARGO_ARTIFACT_DRIVER_WORKERS": "16", "ARGO_ARTIFACT_DRIVER_ENDPOINT_WORKER_SHARE": "1"}
    proc = PluginProcess(work_dir / "sockets" / "load" / "socket", work_dir, env=env, name="plugin-load")
    yield proc
    assert proc.stop() == 0


def round_trips(socket_path, store, worker: int, rounds: int, tmp) -> tuple[int, int]:
    """(round trips verified, bytes verified) for one client with its own channel."""
    client = PluginClient(socket_path, timeout=300)
    client.wait_ready()
    config = store.config
    rng = random.Random(worker)
    verified = volume = 0
    try:
        for i in range(rounds):
            data = store.payload(rng.randbytes(rng.randrange(MAX_SIZE)))
            key = f"load/{worker}/{i}"
            src = tmp / f"src-{worker}-{i}"
            src.write_bytes(data)
            r = client.save(config, key, src)
            assert (r.success, r.error) == (True, ""), r.error
            dest = tmp / f"dest-{worker}-{i}"
            r = client.load(config, key, dest)
            assert (r.success, r.error) == (True, ""), r.error
            assert dest.read_bytes() == data
            streamed, error = client.stream_bytes(config, key)
            assert error == "" and hashlib.sha256(streamed).digest() == hashlib.sha256(data).digest()
            src.unlink()
            dest.unlink()
            verified += 1
            volume += 3 * len(data)
    finally:
        client.close()
    return verified, volume


def run(socket_path, store, rounds: int, tmp) -> tuple[int, int]:
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(lambda w: round_trips(socket_path, store, w, rounds, tmp), range(CLIENTS)))
    return sum(r[0] for r in results), sum(r[1] for r in results)


def test_64_clients_20_round_trips_each(load_plugin, store, tmp_path):
    pid = load_plugin.proc.pid
    # Warm up at full concurrency until the server's thread pool (bounded, created lazily)
    # stops growing: the baseline must be the steady state, or growth of the pool towards
    # its bound would look like a leak.
    threads = -1
    for _ in range(4):
        run(load_plugin.socket_path, store, 1, tmp_path)
        time.sleep(1)
        if usage(pid)["threads"] == threads:
            break
        threads = usage(pid)["threads"]
    before = usage(pid)
    started = time.monotonic()
    verified, volume = run(load_plugin.socket_path, store, ROUNDS, tmp_path)
    elapsed = time.monotonic() - started
    assert verified == CLIENTS * ROUNDS

    def settled() -> bool:
        now = usage(pid)
        return (
            now["threads"] <= before["threads"] + 2
            and now["fds"] <= before["fds"] + 16
            and now["rss_kib"] <= before["rss_kib"] + 64 * 1024
        )

    ok = eventually(settled, timeout=30)
    after = usage(pid)
    print(
        f"FIGURE load[{store.scheme}]: {verified} round trips verified ({volume / 2**20:.0f} MiB checked) "
        f"in {elapsed:.1f} s; before {before}, after {after}"
    )
    assert ok, (before, after)
    assert not load_plugin.proc.poll()
