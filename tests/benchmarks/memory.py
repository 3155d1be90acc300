"""(4) Peak resident memory of the plugin process for every call, at two sizes.

Each call runs in a fresh plugin process, so the kernel's high-water mark ``VmHWM`` read
just before the process stops is that call's peak (a thread also samples ``VmRSS`` every
20 ms, as a check). Calls, in order, each on what the previous ones wrote: Save of one
object, Load and OpenStream of it, SaveStream of it, Save of a directory of
``DIR_FILE``-sized files of the same total size, Load of that directory. The baseline is
the same process after one small call (the cost of the imports and the SDK).

Targets: under 150 MB for every call, and flat: the large size's peak at most 1.10 times
the small size's.

The largest size (4 GiB by default) is measured only on the stores of ``large_stores``
(file, s3rver): moto assembles a multipart upload in memory and the GCS emulator keeps
every object in memory, so 4 GiB objects there would take the shared machine's memory;
those stores stop at the size before it.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import Callable

from harness import MiB, Report, Row, Servers, human, make_file, plugin
from transfer_calls import drain_stream, load, save, save_stream

TARGET_MB = 150
FLAT = 1.10
DIR_FILE = 32 * MiB  # size of each file of the directory artifact
CALLS = ("Save", "Load", "OpenStream", "SaveStream", "Save dir", "Load dir")
#: s3rver answers CompleteMultipartUpload only once it has copied every part into the
#: object: for 4 GiB that outlasts the SDK's 30 s read time-out on this machine, and the
#: retried request finds the upload gone (a 500). Time-outs do not change memory.
SLOW_SERVER_ENV = {"ARGO_ARTIFACT_DRIVER_STORAGE_READ_TIMEOUT": "600"}


def status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


class Sampler:
    """Largest VmRSS seen while running, polled every 20 ms."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, status_kib(self.pid, "VmRSS"))

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def make_tree(root: Path, size: int, source: Path) -> Path:
    """A directory of ``size`` bytes: ``source`` cut into files of :data:`DIR_FILE`."""
    count = max(1, size // DIR_FILE)
    if root.exists() and len(list(root.rglob("*.bin"))) == count:
        return root
    shutil.rmtree(root, ignore_errors=True)
    with open(source, "rb") as f:
        for i in range(count):
            path = root / f"part{i % 8}" / f"file{i:04d}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f.read(DIR_FILE))
    return root


def run(report: Report, servers: Servers, work: Path, stores: list[str], sizes: list[int],
        large_stores: list[str] | None = None) -> None:
    from harness import STORE_STARTERS

    for label in stores:
        store = STORE_STARTERS[label](servers)
        peaks: dict[tuple[str, int], float] = {}
        mine = sizes if large_stores is None or label in large_stores or len(sizes) < 3 else sizes[:-1]
        for size in mine:
            src = make_file(work / "data" / f"object-{size}", size)
            tree = make_tree(work / "data" / f"tree-{size}", size, src)
            prefix = f"bench/{uuid.uuid4().hex}"
            dst = work / "data" / "rss-loaded"
            actions: dict[str, Callable] = {
                "Save": lambda c: save(c, store.config, f"{prefix}/object", src),
                "Load": lambda c: load(c, store.config, f"{prefix}/object", dst),
                "OpenStream": lambda c: drain_stream(c, store.config, f"{prefix}/object"),
                "SaveStream": lambda c: save_stream(c, store.config, f"{prefix}/streamed", src),
                "Save dir": lambda c: save(c, store.config, f"{prefix}/tree", tree),
                "Load dir": lambda c: load(c, store.config, f"{prefix}/tree", dst),
            }
            print(f"(4) {label} {human(size)}: peak RSS per call, fresh plugin each", flush=True)
            for call in CALLS:
                _remove(dst)
                with plugin(work, env={**store.plugin_env, **SLOW_SERVER_ENV},
                            name=f"rss-{label}-{call.replace(' ', '-')}-{size}") as (proc, client):
                    client.is_directory(store.config, "warm-up")  # backend loaded, SDK imported
                    idle = status_kib(proc.proc.pid, "VmRSS") / 1024
                    with Sampler(proc.proc.pid) as sampler:
                        actions[call](client)
                    hwm = status_kib(proc.proc.pid, "VmHWM") / 1024
                peak = max(hwm, sampler.peak / 1024)
                peaks[(call, size)] = peak
                report.add(Row("4 memory", f"{label} {call} {human(size)} peak RSS", f"{peak:.0f} MB",
                               f"idle after one call {idle:.0f} MB", None, f"< {TARGET_MB} MB", peak < TARGET_MB))
            _remove(dst)
            store.fs.rm(store.path(prefix), recursive=True)
        if len(mine) > 1:
            for call in CALLS:
                small, big = peaks[(call, mine[0])], peaks[(call, mine[-1])]
                report.add(Row("4 memory", f"{label} {call} {human(mine[-1])} vs {human(mine[0])}", f"{big:.0f} MB",
                               f"{small:.0f} MB", big / small, f"flat (<= {FLAT:.2f})", big / small <= FLAT))


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
