"""(3) A directory of many small files saved and loaded on S3 behind 50 ms of latency.

Compared, in the same run and on each S3 server (moto, s3rver), with
(a) the same files uploaded and downloaded one after the other through the same proxy
    (what Argo's built-in S3 driver does: one request at a time), and
(b) the server's own ceiling: the same requests sent straight to the server, no proxy,
    from 32 threads (the server, not the client, caps this figure on this machine: moto
    takes about 110 small PUTs a second).
The proxy (:mod:`latency_proxy`) reports the most connections open at once, which shows
that ``ARGO_ARTIFACT_DRIVER_TRANSFER_CONCURRENCY`` reaches the wire (botocore's pool
would otherwise cap it at 10).
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness import ENDPOINTS, KiB, Report, Row, Servers, load, plugin, timed
from transfer_calls import check

from argo_artifact_driver.core.settings import Settings
from argo_artifact_driver.plugin_server.testing.processes import ManagedProcess, free_port, port_open

SPEEDUP_TARGET = 5.0
CEILING_TARGET = 0.9
CEILING_THREADS = 32


class Proxy:
    def __init__(self, work: Path, upstream: str, delay_ms: float) -> None:
        self.port = free_port()
        script = str(Path(__file__).with_name("latency_proxy.py"))
        self.proc = ManagedProcess(f"proxy-{self.port}", [sys.executable, script, str(self.port), upstream, str(delay_ms)], work)
        self.proc.wait_until(lambda: port_open(self.port))
        ENDPOINTS.append(self.endpoint)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def max_connections(self) -> int:
        found = re.findall(r"max_connections (\d+)", self.proc.output())
        return int(found[-1]) if found else 0

    def stop(self) -> None:
        self.proc.stop()


def s3(endpoint: str, pool: int = 10):
    """An s3fs client for the baselines, sending small PUTs in one round trip like the plugin
    (and like Argo's Go driver, which does not wait for ``100 Continue``)."""
    import s3fs

    from argo_artifact_driver.backends.s3 import sdk_session

    return s3fs.S3FileSystem(key="testing", secret="testing", skip_instance_cache=True, session=sdk_session(),
                             client_kwargs={"endpoint_url": f"http://{endpoint}", "region_name": "us-east-1"},
                             config_kwargs={"max_pool_connections": pool})


def make_tree(root: Path, count: int, size: int) -> list[str]:
    names = [f"d{i % 10}/f{i:04d}.bin" for i in range(count)]
    if not (root / names[-1]).exists():
        for name in names:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(os.urandom(size))
    return names


def run(report: Report, servers: Servers, work: Path, labels: list[str], count: int, size: int, delay_ms: float,
        repeat: int, concurrency_sweep: tuple[int, ...]) -> None:
    from harness import STORE_STARTERS

    for label in labels:
        store = STORE_STARTERS[label](servers)  # makes the bucket
        endpoint = store.config.split("endpoint: ", 1)[1].split("\n", 1)[0]
        _one_server(report, work, label, endpoint, count, size, delay_ms, repeat, concurrency_sweep)


def _one_server(report: Report, work: Path, label: str, endpoint: str, count: int, size: int, delay_ms: float,
                repeat: int, concurrency_sweep: tuple[int, ...]) -> None:
    server = label.split("-", 1)[-1]
    tree = work / "data" / f"tree-{count}-{size}"
    names = make_tree(tree, count, size)
    concurrency = Settings.from_env().transfer_concurrency
    print(f"(3) {count} files of {size // KiB} KiB on {server}, proxy +{delay_ms:g} ms, plugin concurrency {concurrency}", flush=True)

    plugin_save, plugin_load, conns = plugin_times(work, endpoint, tree, delay_ms, repeat, concurrency)
    print(f"    plugin: save {plugin_save:.2f} s, load {plugin_load:.2f} s, most connections at once {conns}  [{load()}]", flush=True)

    seq_save, seq_load = sequential_times(work, endpoint, tree, names, delay_ms)
    print(f"    one after the other via proxy: save {seq_save:.2f} s, load {seq_load:.2f} s  [{load()}]", flush=True)

    ceil_save, ceil_load = ceiling_times(work, endpoint, tree, names, repeat)
    print(f"    ceiling, {CEILING_THREADS} threads, no proxy: save {ceil_save:.2f} s, load {ceil_load:.2f} s  [{load()}]", flush=True)

    for verb, p, seq, ceil in (("Save", plugin_save, seq_save, ceil_save), ("Load", plugin_load, seq_load, ceil_load)):
        speedup, share = seq / p, ceil / p
        report.add(Row("3 many files", f"{label}+{delay_ms:g}ms {verb} {count} x {size // KiB} KiB vs one-by-one",
                       f"{p:.2f} s ({count / p:.0f}/s)", f"one by one {seq:.2f} s", speedup,
                       f">= {SPEEDUP_TARGET:g}x faster", speedup >= SPEEDUP_TARGET))
        report.add(Row("3 many files", f"{label}+{delay_ms:g}ms {verb} {count} x {size // KiB} KiB vs ceiling",
                       f"{p:.2f} s ({count / p:.0f}/s)", f"{server}, {CEILING_THREADS} threads, no proxy {ceil:.2f} s ({count / ceil:.0f}/s)",
                       share, f">= {CEILING_TARGET:g} of ceiling", share >= CEILING_TARGET))

    if concurrency_sweep:
        print("    concurrency sweep (ARGO_ARTIFACT_DRIVER_TRANSFER_CONCURRENCY), one run each:")
        print(f"    {'workers':>7} | {'save s':>6} | {'load s':>6} | most connections")
        for workers in concurrency_sweep:
            s, l, c = plugin_times(work, endpoint, tree, delay_ms, 1, workers)
            print(f"    {workers:>7} | {s:6.2f} | {l:6.2f} | {c}  [{load()}]", flush=True)


def plugin_times(work: Path, endpoint: str, tree: Path, delay_ms: float, repeat: int, workers: int) -> tuple[float, float, int]:
    proxy = Proxy(work, endpoint, delay_ms)
    config = f"scheme: s3\nbucket: bench\nendpoint: {proxy.endpoint}\ninsecure: true\nregion: us-east-1\n"
    dest = work / "data" / "tree-loaded"
    saves, loads = [], []
    try:
        env = {"ARGO_ARTIFACT_DRIVER_TRANSFER_CONCURRENCY": str(workers)}
        with plugin(work, env=env, name=f"many-{workers}") as (_, client):
            for _ in range(repeat):
                key = f"bench/{uuid.uuid4().hex}"
                saves.append(timed(lambda: check(client.save(config, key, tree))))
                shutil.rmtree(dest, ignore_errors=True)
                loads.append(timed(lambda: check(client.load(config, key, dest))))
                check(client.delete(config, key))
        return statistics.median(saves), statistics.median(loads), proxy.max_connections()
    finally:
        proxy.stop()
        shutil.rmtree(dest, ignore_errors=True)


def sequential_times(work: Path, endpoint: str, tree: Path, names: list[str], delay_ms: float) -> tuple[float, float]:
    proxy = Proxy(work, endpoint, delay_ms)
    try:
        fs = s3(proxy.endpoint)
        base = f"bench/{uuid.uuid4().hex}"
        dest = work / "data" / "tree-seq"
        for name in names:
            (dest / name).parent.mkdir(parents=True, exist_ok=True)

        def save() -> None:
            for name in names:
                fs.put_file(str(tree / name), f"bench/{base}/{name}")

        def get() -> None:
            for name in names:
                fs.get_file(f"bench/{base}/{name}", str(dest / name))

        result = timed(save), timed(get)
        fs.rm(f"bench/{base}", recursive=True)
        shutil.rmtree(dest, ignore_errors=True)
        return result
    finally:
        proxy.stop()


def ceiling_times(work: Path, endpoint: str, tree: Path, names: list[str], repeat: int) -> tuple[float, float]:
    fs = s3(endpoint, pool=CEILING_THREADS)
    dest = work / "data" / "tree-ceiling"
    for name in names:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
    saves, gets = [], []
    with ThreadPoolExecutor(CEILING_THREADS) as pool:
        for _ in range(repeat):
            base = f"bench/{uuid.uuid4().hex}"
            saves.append(timed(lambda: list(pool.map(lambda n: fs.put_file(str(tree / n), f"bench/{base}/{n}"), names))))
            gets.append(timed(lambda: list(pool.map(lambda n: fs.get_file(f"bench/{base}/{n}", str(dest / n)), names))))
            fs.rm(f"bench/{base}", recursive=True)
    shutil.rmtree(dest, ignore_errors=True)
    return statistics.median(saves), statistics.median(gets)
