"""(1) Load, Save, OpenStream, SaveStream of one large object: plugin vs fsspec directly.

The direct baseline is the same transfer done in this process with the store's own fsspec
filesystem, the way a program without the plugin would do it: ``put_file``/``get_file``
for Save/Load, one streamed read in chunks of the plugin's OpenStream chunk size for
OpenStream, and an fsspec write file fed Argo's 2 MiB chunks for SaveStream.
"""

from __future__ import annotations

import os
import statistics
import uuid
from pathlib import Path
from typing import Callable, Iterator

from harness import MiB, Report, Row, Servers, StoreUnderTest, human, make_file, plugin, timed

from argo_artifact_driver.core.settings import Settings
from argo_artifact_driver.core.streams import open_streaming_reader
from argo_artifact_driver.plugin_server import artifact_pb2 as pb
from argo_artifact_driver.plugin_server.client import PluginClient, artifact

ARGO_SAVE_CHUNK = 2 * MiB  # what Argo's driver sends per SaveStream message
TARGET = 1.10


def file_chunks(path: Path, size: int = ARGO_SAVE_CHUNK) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(size):
            yield chunk


def drain_stream(client: PluginClient, config: str, key: str) -> int:
    """Read an OpenStream to its end and drop the bytes, as a fast client would."""
    n = 0
    for msg in client.stub.OpenStream(pb.OpenStreamRequest(artifact=artifact(config, key)), timeout=900):
        if msg.error:
            raise RuntimeError(msg.error)
        if msg.is_end:
            return n
        n += len(msg.data)
    raise RuntimeError("OpenStream ended without is_end")


def check(response) -> None:
    if not response.success:
        raise RuntimeError(response.error)


def direct_stream(store: StoreUnderTest, key: str, chunk: int) -> int:
    n = 0
    with open_streaming_reader(store.fs, store.path(key), Settings().read_block_size) as reader:
        while data := reader.read(chunk):
            n += len(data)
    return n


def direct_save_stream(store: StoreUnderTest, key: str, src: Path) -> None:
    with store.fs.open(store.path(key), "wb", block_size=Settings().write_block_size) as f:
        for chunk in file_chunks(src):
            f.write(chunk)


def run(report: Report, servers: Servers, work: Path, stores: list[str], size: int, repeat: int) -> None:
    from harness import STORE_STARTERS

    src = make_file(work / "data" / f"object-{size}", size)
    chunk = Settings.from_env().stream_chunk_size
    for scheme in stores:
        store = STORE_STARTERS[scheme](servers)
        print(f"(1) {scheme}: {human(size)} object, median of {repeat}", flush=True)
        with plugin(work, env=store.plugin_env, name=f"transfer-{scheme}") as (_, client):
            client.is_directory(store.config, "warm-up")  # backend loaded, SDK imported, connections open
            k_plugin, k_direct = f"bench/{uuid.uuid4().hex}/p", f"bench/{uuid.uuid4().hex}/d"
            dst = work / "data" / "loaded"
            cases: list[tuple[str, Callable[[], object], Callable[[], object], Callable[[], object]]] = [
                ("Save", lambda: check(client.save(store.config, k_plugin, src)),
                 lambda: store.fs.put_file(str(src), store.path(k_direct)), lambda: None),
                ("Load", lambda: check(client.load(store.config, k_plugin, dst)),
                 lambda: store.fs.get_file(store.path(k_direct), str(dst)), lambda: _remove(dst)),
                ("OpenStream", lambda: drain_stream(client, store.config, k_plugin),
                 lambda: direct_stream(store, k_direct, chunk), lambda: None),
                ("SaveStream", lambda: check(client.save_stream(store.config, k_plugin, file_chunks(src))),
                 lambda: direct_save_stream(store, k_direct, src), lambda: None),
            ]
            for name, via_plugin, direct, before in cases:
                p_times, d_times = [], []
                for i in range(repeat):
                    # alternate the order so a burst of load on the machine hits both alike
                    for which, action, times in ((0, via_plugin, p_times), (1, direct, d_times))[:: 1 if i % 2 == 0 else -1]:
                        before()
                        times.append(timed(action))
                p, d = statistics.median(p_times), statistics.median(d_times)
                ratio = p / d
                report.add(Row("1 transfer", f"{scheme} {name} {human(size)}",
                               f"{p:.2f} s ({size / p / MiB:.0f} MiB/s)", f"fsspec direct {d:.2f} s ({size / d / MiB:.0f} MiB/s)",
                               ratio, f"<= {TARGET:.2f}", ratio <= TARGET))
            _remove(dst)
            for k in (k_plugin, k_direct):
                store.fs.rm(store.path(k))


def _remove(path: Path) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
