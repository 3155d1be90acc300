"""(4) Peak resident memory of the plugin process while it streams a large object.

Each case runs in a fresh plugin process; a thread samples ``VmRSS`` of that pid every
20 ms and the kernel's own high-water mark ``VmHWM`` is read before the process stops.
The baseline is the same process's RSS after one small call (the cost of the imports).
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

from harness import Report, Row, Servers, human, make_file, plugin
from transfer import check, drain_stream, file_chunks

TARGET_MB = 150


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


def run(report: Report, servers: Servers, work: Path, stores: list[str], sizes: list[int]) -> None:
    from harness import STORE_STARTERS

    for scheme in stores:
        store = STORE_STARTERS[scheme](servers)
        peaks: dict[tuple[str, int], float] = {}
        for size in sizes:
            src = make_file(work / "data" / f"object-{size}", size)
            key = f"bench/{uuid.uuid4().hex}/big"
            for op in ("SaveStream", "OpenStream"):
                with plugin(work, env=store.plugin_env, name=f"rss-{scheme}-{op}-{size}") as (proc, client):
                    client.is_directory(store.config, "warm-up")  # backend loaded, SDK imported
                    idle = status_kib(proc.proc.pid, "VmRSS") / 1024
                    with Sampler(proc.proc.pid) as sampler:
                        if op == "SaveStream":
                            check(client.save_stream(store.config, key, file_chunks(src)))
                        else:
                            drain_stream(client, store.config, key)
                    hwm = status_kib(proc.proc.pid, "VmHWM") / 1024
                peak = max(hwm, sampler.peak / 1024)
                peaks[(op, size)] = peak
                report.add(Row("4 memory", f"{scheme} {op} {human(size)} peak RSS", f"{peak:.0f} MB",
                               f"idle after one call {idle:.0f} MB", None, f"< {TARGET_MB} MB", peak < TARGET_MB))
            store.fs.rm(store.path(key))
        if len(sizes) > 1:
            for op in ("SaveStream", "OpenStream"):
                small, big = peaks[(op, sizes[0])], peaks[(op, sizes[-1])]
                report.add(Row("4 memory", f"{scheme} {op} {human(sizes[-1])} vs {human(sizes[0])}", f"{big:.0f} MB",
                               f"{small:.0f} MB", big / small, "flat (<= 1.10)", big / small <= 1.10))
