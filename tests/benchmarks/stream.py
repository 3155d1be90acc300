"""(2) OpenStream on ``file`` against the transport's ceiling and a plain file read.

* bare gRPC: :mod:`bare_grpc`, a server-streaming call of the same byte count in the same
  chunk size over the same kind of unix socket, through the same generated stub;
* plain read: ``open().read(chunk)`` of the same file in this process.

SaveStream is compared the same way with a bare server that parses and drops the frames.

A sweep over chunk sizes (plugin and bare gRPC at each) is printed so the default chunk
is chosen from measurements; ``ARGO_ARTIFACT_DRIVER_STREAM_CHUNK_SIZE`` sets it.
"""

from __future__ import annotations

import statistics
import sys
import uuid
from pathlib import Path

from harness import KiB, MiB, Report, Row, Servers, human, load, make_file, plugin, timed
from transfer import check, drain_stream, file_chunks

from argo_artifact_driver.core.settings import Settings
from argo_artifact_driver.plugin_server.client import PluginClient
from argo_artifact_driver.plugin_server.testing.processes import ManagedProcess

TARGET = 0.8
SWEEP = (256 * KiB, 512 * KiB, 1 * MiB, 2 * MiB, 3 * MiB)


class BareServer:
    def __init__(self, work: Path) -> None:
        self.socket = work / "sockets" / "bare" / "socket"
        self.socket.parent.mkdir(parents=True, exist_ok=True)
        script = str(Path(__file__).with_name("bare_grpc.py"))
        self.proc = ManagedProcess("bare-grpc", [sys.executable, script, str(self.socket)], work)
        self.proc.wait_until(lambda: self.socket.exists())
        self.client = PluginClient(self.socket, timeout=600)
        self.client.wait_ready()

    def stream(self, chunk: int, total: int) -> int:
        return drain_stream(self.client, "", f"{chunk}:{total}")

    def stop(self) -> None:
        self.client.close()
        self.proc.stop()


def plain_read(path: Path, chunk: int) -> int:
    n = 0
    with open(path, "rb", buffering=0) as f:
        while data := f.read(chunk):
            n += len(data)
    return n


def run(report: Report, servers: Servers, work: Path, size: int, repeat: int, sweep_size: int) -> None:
    from harness import STORE_STARTERS

    store = STORE_STARTERS["file"](servers)
    chunk = Settings.from_env().stream_chunk_size
    bare = BareServer(work)
    try:
        key = f"bench/{uuid.uuid4().hex}/stream"
        store.fs.put_file(str(make_file(work / "data" / f"object-{size}", size)), store.path(key))
        print(f"(2) OpenStream on file, {human(size)}, chunk {human(chunk)}, median of {repeat}", flush=True)
        with plugin(work, name="stream") as (_, client):
            p_t, b_t, f_t = [], [], []
            for _ in range(repeat):
                p_t.append(timed(lambda: drain_stream(client, store.config, key)))
                b_t.append(timed(lambda: bare.stream(chunk, size)))
                f_t.append(timed(lambda: plain_read(Path(store.path(key)), chunk)))
        p, b, f = (statistics.median(t) for t in (p_t, b_t, f_t))
        share = b / p  # plugin throughput as a share of the ceiling's
        report.add(Row("2 stream", f"file OpenStream {human(size)} vs bare gRPC",
                       f"{size / p / MiB:.0f} MiB/s ({p:.2f} s)", f"bare gRPC {size / b / MiB:.0f} MiB/s ({b:.2f} s)",
                       share, f">= {TARGET:.2f} of ceiling", share >= TARGET))
        report.add(Row("2 stream", f"file OpenStream {human(size)} vs plain read",
                       f"{size / p / MiB:.0f} MiB/s", f"plain read {size / f / MiB:.0f} MiB/s", f / p, "(context)", None))
        save_vs_bare(report, work, store, bare, size, repeat)
        sweep(report, work, store, bare, min(size, sweep_size), repeat)
        store.fs.rm(store.path(key))
    finally:
        bare.stop()


def save_stream_bare(bare: BareServer, src: Path) -> None:
    check(bare.client.save_stream("", "bare", file_chunks(src)))


def save_vs_bare(report: Report, work: Path, store, bare: BareServer, size: int, repeat: int) -> None:
    """SaveStream to ``file`` against a bare server that parses and drops the same frames."""
    src = make_file(work / "data" / f"object-{size}", size)
    key = f"bench/{uuid.uuid4().hex}/save"
    with plugin(work, name="stream-save") as (_, client):
        p_t, b_t = [], []
        for _ in range(repeat):
            p_t.append(timed(lambda: check(client.save_stream(store.config, key, file_chunks(src)))))
            b_t.append(timed(lambda: save_stream_bare(bare, src)))
    p, b = statistics.median(p_t), statistics.median(b_t)
    report.add(Row("2 stream", f"file SaveStream {human(size)} vs bare gRPC",
                   f"{size / p / MiB:.0f} MiB/s ({p:.2f} s)", f"bare gRPC {size / b / MiB:.0f} MiB/s ({b:.2f} s)",
                   b / p, "(context)", None))
    store.fs.rm(store.path(key))


def sweep(report: Report, work: Path, store, bare: BareServer, size: int, repeat: int) -> None:
    key = f"bench/{uuid.uuid4().hex}/sweep"
    store.fs.put_file(str(make_file(work / "data" / f"object-{size}", size)), store.path(key))
    print(f"    chunk sweep on {human(size)}, median of {repeat}  [{load()}]")
    print(f"    {'chunk':>9} | {'plugin MiB/s':>12} | {'bare MiB/s':>10} | share")
    for chunk in SWEEP:
        with plugin(work, env={"ARGO_ARTIFACT_DRIVER_STREAM_CHUNK_SIZE": str(chunk)}, name=f"sweep-{chunk}") as (_, client):
            p = statistics.median(timed(lambda: drain_stream(client, store.config, key)) for _ in range(repeat))
        b = statistics.median(timed(lambda: bare.stream(chunk, size)) for _ in range(repeat))
        print(f"    {human(chunk):>9} | {size / p / MiB:12.0f} | {size / b / MiB:10.0f} | {b / p:.2f}", flush=True)
    store.fs.rm(store.path(key))
