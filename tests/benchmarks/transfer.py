"""(1) Load, Save, OpenStream, SaveStream of one large object: the plugin against what a
user would use instead, measured in the same run.

For each store, size and call, in one round per repetition (the order rotates each
round, so a burst of load on the shared machine hits every contender alike):

* **plugin**: the call through a plugin process over its unix socket, as Argo makes it
  (SaveStream in Argo's 2 MiB frames, OpenStream drained as fast as it comes);
* **the vendor SDK**, every path of :mod:`sdk` for this call; the fastest is the baseline
  of the row and the others are printed beside it;
* **the transport's ceiling** for the streaming calls (:mod:`ceiling`): what any plugin
  could reach over this gRPC transport; the target where storage is faster than it (file);
* **fsspec direct** (context only): ``get_file``/``put_file``/``open()`` of the store's own
  fsspec filesystem in this process. It shows what s3fs/gcsfs/adlfs cost, not a target.

Every figure is a median; the load average is printed with every row.
"""

from __future__ import annotations

import os
import statistics
import uuid
from pathlib import Path
from typing import Callable

from ceiling import BareServer
from harness import MiB, Report, Row, Servers, StoreUnderTest, human, make_file, plugin, timed
from sdk import READ_CHUNK, baselines, sdk_name
from transfer_calls import drain_stream, file_chunks, load, save, save_stream

from argo_artifact_driver.core.settings import Settings

TARGET = 1.10  # plugin time / the best SDK path's time
CEILING_TARGET = 0.8  # plugin throughput / the bare transport's, where storage outpaces it
CALLS = ("Save", "Load", "OpenStream", "SaveStream")
STREAMING = ("OpenStream", "SaveStream")
#: Stores whose storage outpaces the transport, so the ceiling is their streaming target.
CEILING_BOUND = ("file",)


def medians(contenders: dict[str, Callable[[], object]], before: Callable[[], object], repeat: int) -> dict[str, float]:
    """Median seconds of each contender, run in rounds whose order rotates each time.

    The kernel's dirty pages are written out before each contender (``os.sync``): the
    machine's disk takes 300-400 MiB/s, so whoever ran after a large write paid for the
    write-back of the one before (a 1 GiB Load to disk took 3.2 s right after a 1 GiB
    SaveStream, where the plain copy that followed took 0.3 s)."""
    names = list(contenders)
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(repeat):
        for name in names[i % len(names):] + names[: i % len(names)]:
            before()
            os.sync()
            times[name].append(timed(contenders[name]))
    return {name: statistics.median(t) for name, t in times.items()}


def rate(size: int, seconds: float) -> str:
    return f"{seconds:.2f} s ({size / seconds / MiB:.0f} MiB/s)"


def run(report: Report, servers: Servers, work: Path, stores: list[str], sizes: list[int], repeat: int,
        fsspec_context: bool = True) -> None:
    from harness import STORE_STARTERS

    chunk = Settings.from_env().stream_chunk_size
    bare = BareServer(work)
    try:
        for size in sizes:
            src = make_file(work / "data" / f"object-{size}", size)
            ceiling = medians({"OpenStream": lambda: bare.open_stream(chunk, size), "SaveStream": lambda: bare.save_stream(src)},
                              lambda: None, repeat)
            print(f"(1) {human(size)}: bare gRPC ceiling OpenStream {rate(size, ceiling['OpenStream'])}, "
                  f"SaveStream {rate(size, ceiling['SaveStream'])}", flush=True)
            for label in stores:
                store = STORE_STARTERS[label](servers)
                print(f"(1) {label}: {human(size)} object, median of {repeat}", flush=True)
                _one_store(report, work, label, store, src, size, repeat, chunk, ceiling, fsspec_context)
    finally:
        bare.stop()


def _one_store(report: Report, work: Path, label: str, store: StoreUnderTest, src: Path, size: int, repeat: int,
               chunk: int, ceiling: dict[str, float], fsspec_context: bool) -> None:
    prefix = f"bench/{uuid.uuid4().hex}"
    source = f"{prefix}/source"  # what every reader reads, written once out of band
    store.fs.put_file(str(src), store.path(source))
    dst = work / "data" / "loaded"
    sdk = baselines(store)
    sdk_label = sdk_name(store)
    fs = store.fs

    def fsspec_read() -> int:
        with fs.open(store.path(source), "rb") as f:
            return sum(len(b) for b in iter(lambda: f.read(READ_CHUNK), b""))

    def fsspec_write() -> None:
        with fs.open(store.path(f"{prefix}/fsspec-stream"), "wb") as f:
            for data in file_chunks(src):
                f.write(data)

    with plugin(work, env=store.plugin_env, name=f"transfer-{label}-{size}") as (_, client):
        client.is_directory(store.config, "warm-up")  # backend loaded, SDK imported, connections open
        plugin_calls: dict[str, Callable[[], object]] = {
            "Save": lambda: save(client, store.config, f"{prefix}/plugin-save", src),
            "Load": lambda: load(client, store.config, source, dst),
            "OpenStream": lambda: drain_stream(client, store.config, source),
            "SaveStream": lambda: save_stream(client, store.config, f"{prefix}/plugin-stream", src),
        }
        sdk_calls: dict[str, dict[str, Callable[[], object]]] = {
            "Save": {n: (lambda f=f, n=n: f(src, f"{prefix}/sdk-save-{n}")) for n, f in sdk["Save"].items()},
            "Load": {n: (lambda f=f: f(source, dst)) for n, f in sdk["Load"].items()},
            "OpenStream": {n: (lambda f=f: f(source)) for n, f in sdk["OpenStream"].items()},
            "SaveStream": {n: (lambda f=f, n=n: f(f"{prefix}/sdk-stream-{n}", file_chunks(src)))
                           for n, f in sdk["SaveStream"].items()},
        }
        direct_calls: dict[str, Callable[[], object]] = {
            "Save": lambda: fs.put_file(str(src), store.path(f"{prefix}/fsspec-save")),
            "Load": lambda: fs.get_file(store.path(source), str(dst)),
            "OpenStream": fsspec_read,
            "SaveStream": fsspec_write,
        }
        for call in CALLS:
            contenders = {"plugin": plugin_calls[call], **{f"sdk:{n}": f for n, f in sdk_calls[call].items()}}
            if fsspec_context:
                contenders["fsspec direct"] = direct_calls[call]
            t = medians(contenders, lambda: _remove(dst), repeat)
            p = t.pop("plugin")
            direct = t.pop("fsspec direct", None)
            best_name, best = min(((n[4:], s) for n, s in t.items()), key=lambda pair: pair[1])
            others = [f"{n[4:]} {s:.2f} s" for n, s in t.items() if n[4:] != best_name]
            context = others + ([f"fsspec direct {direct:.2f} s (x{p / direct:.2f})"] if direct else [])
            ratio = p / best
            # Where storage outpaces the transport (a cached local file), no process hop can
            # match an in-process read or write: the transport's ceiling is the target.
            bound = call in STREAMING and label in CEILING_BOUND
            report.add(Row("1 transfer", f"{label} {call} {human(size)}", rate(size, p),
                           f"{sdk_label} {best_name} {rate(size, best)}", ratio,
                           "(context)" if bound else f"<= {TARGET:.2f}", None if bound else ratio <= TARGET,
                           note="; ".join(context)))
            if call in STREAMING:
                share = ceiling[call] / p
                report.add(Row("1 transfer", f"{label} {call} {human(size)} vs transport", rate(size, p),
                               f"bare gRPC {rate(size, ceiling[call])}", share,
                               f">= {CEILING_TARGET:.2f} of ceiling" if bound else "(context)",
                               share >= CEILING_TARGET if bound else None))
    _remove(dst)
    fs.rm(store.path(prefix), recursive=True)


def _remove(path: Path) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
