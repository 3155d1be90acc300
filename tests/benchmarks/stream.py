"""(2) OpenStream's message size: the plugin and the bare transport at each chunk size.

The plugin (on ``file``, the fastest store) and the bare gRPC server (:mod:`ceiling`) are
timed at every size of :data:`SWEEP`, so the default of
``ARGO_ARTIFACT_DRIVER_STREAM_CHUNK_SIZE`` is chosen from measurements. No target: a
table of figures. (1) compares OpenStream and SaveStream with the transport's ceiling.
"""

from __future__ import annotations

import statistics
import uuid
from pathlib import Path

from ceiling import BareServer
from harness import KiB, MiB, Servers, human, load, make_file, plugin, timed
from transfer_calls import drain_stream

SWEEP = (256 * KiB, 512 * KiB, 1 * MiB, 2 * MiB, 3 * MiB)


def run(servers: Servers, work: Path, size: int, repeat: int) -> None:
    from harness import STORE_STARTERS

    store = STORE_STARTERS["file"](servers)
    bare = BareServer(work)
    key = f"bench/{uuid.uuid4().hex}/sweep"
    store.fs.put_file(str(make_file(work / "data" / f"object-{size}", size)), store.path(key))
    try:
        print(f"(2) OpenStream chunk sweep on file, {human(size)}, median of {repeat}  [{load()}]")
        print(f"    {'chunk':>9} | {'plugin MiB/s':>12} | {'bare MiB/s':>10} | share")
        for chunk in SWEEP:
            env = {"ARGO_ARTIFACT_DRIVER_STREAM_CHUNK_SIZE": str(chunk)}
            with plugin(work, env=env, name=f"sweep-{chunk}") as (_, client):
                p = statistics.median(timed(lambda: drain_stream(client, store.config, key)) for _ in range(repeat))
            b = statistics.median(timed(lambda: bare.open_stream(chunk, size)) for _ in range(repeat))
            print(f"    {human(chunk):>9} | {size / p / MiB:12.0f} | {size / b / MiB:10.0f} | {b / p:.2f}  [{load()}]", flush=True)
    finally:
        store.fs.rm(store.path(key))
        bare.stop()
