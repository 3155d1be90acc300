"""What every benchmark shares: the stores (real servers), the plugin process, timing, the table.

Stores come from the exported test harness (``StoreUnderTest``); a store server is started
here by the pid we own and stopped at the end. Adding a store to every benchmark is one
entry in :data:`STORE_STARTERS`.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from argo_artifact_driver.plugin_server.client import PluginClient
from argo_artifact_driver.plugin_server.testing.plugin import PluginProcess
from argo_artifact_driver.plugin_server.testing.policy import write_policy
from support import servers as test_servers
from support.stores import AzureStore, FileStore, GCSStore, S3Store, StoreUnderTest

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

AWS_ENV = test_servers.MOTO_ENV
os.environ.update(AWS_ENV)
os.environ.update(test_servers.GCS_EMULATOR_ENV)  # before gcsfs is imported: gcsfs >= 2026 probes buckets over gRPC, which the emulator never answers
NPM_DIR = Path(__file__).resolve().parents[1] / "servers"  # Azurite and s3rver, installed by `make servers`

#: ``host:port`` of every server and proxy this run started. The plugin refuses loopback
#: endpoints and local files unless the operator's policy lists them: every plugin a
#: benchmark starts gets a policy listing exactly these, and the run's directory as root.
ENDPOINTS: list[str] = []


def policy_env(work: Path) -> dict[str, str]:
    """The environment naming a policy that allows this run's servers and directory."""
    return write_policy(work / "policy.yaml", endpoints=ENDPOINTS, roots=[work])


class Servers:
    """Storage servers started on demand, once per run, stopped by pid at exit (the same
    starters the test suite uses)."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self._started: dict[str, test_servers.Server] = {}

    def _endpoint(self, name: str, start: Callable[[Path], test_servers.Server]) -> str:
        if name not in self._started:
            self._started[name] = start(self.work)
            ENDPOINTS.append(self._started[name].endpoint)
        return self._started[name].info["endpoint"]

    def moto(self) -> str:
        """``host:port`` of a moto S3 server."""
        return self._endpoint("moto", test_servers.start_moto)

    def s3rver(self) -> str:
        """``host:port`` of s3rver, the S3 server that serves ranged GETs from disk."""
        return self._endpoint("s3rver", lambda work: test_servers.start_s3rver(work, NPM_DIR))

    def gcs(self) -> str:
        """URL of a gcp-storage-emulator."""
        return self._endpoint("gcs", test_servers.start_gcs_emulator)

    def azurite(self) -> str:
        """Blob endpoint of Azurite."""
        return self._endpoint("azurite", lambda work: test_servers.start_azurite(work, NPM_DIR))

    def stop(self) -> None:
        for server in reversed(list(self._started.values())):
            server.stop()


#: store label -> how to get a configured store on this run's servers. One line per store.
#: S3 is measured on two servers: moto copies the whole object for every ranged GET and
#: takes about 110 small PUTs a second, s3rver serves ranges from disk; a figure that
#: differs between the two is the server's, not the plugin's.
STORE_STARTERS: dict[str, Callable[[Servers], StoreUnderTest]] = {
    "file": lambda servers: FileStore(servers.work / "file-store"),
    "s3-moto": lambda servers: S3Store(servers.moto(), "bench"),
    "s3-s3rver": lambda servers: S3Store(servers.s3rver(), "bench"),
    "gcs": lambda servers: GCSStore(servers.gcs(), "bench"),
    "azure": lambda servers: AzureStore(servers.azurite(), "bench"),
}


@contextlib.contextmanager
def plugin(work: Path, env: dict[str, str] | None = None, name: str = "plugin") -> Iterator[tuple[PluginProcess, PluginClient]]:
    """A fresh plugin process (its console script, a unix socket) and a client."""
    sock = work / "sockets" / name / "socket"
    sock.parent.mkdir(parents=True, exist_ok=True)
    proc = PluginProcess(sock, work, env={**AWS_ENV, **policy_env(work), **(env or {})}, name=name)
    client = proc.client()
    try:
        yield proc, client
    finally:
        client.close()
        proc.stop()


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def median_time(action: Callable[[], object], repeat: int, before: Callable[[], object] | None = None) -> float:
    """Median wall time of ``action`` over ``repeat`` runs (``before`` runs untimed first)."""
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        times.append(timed(action))
    return statistics.median(times)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


def human(n: float) -> str:
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n:g} B"


def make_file(path: Path, size: int) -> Path:
    """A file of ``size`` pseudo-random bytes (incompressible, cheap to make)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.stat().st_size == size:
        return path
    block = os.urandom(4 * MiB)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            f.write(block[: min(left, len(block))])
            left -= len(block)
    return path


@dataclass
class Row:
    bench: str
    case: str
    figure: str  # what we measured, formatted
    baseline: str  # what we compare it with, formatted, measured in the same run
    ratio: float | None  # figure / baseline, in the target's sense
    target: str
    met: bool | None
    note: str = ""  # other baselines and context, measured in the same run
    loadavg: str = field(default_factory=lambda: load())  # the load average when the figure was taken


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(f"  {row.case}: {row.figure} vs {row.baseline} -> {_ratio(row.ratio)} "
              f"(target {row.target}: {_met(row.met)}) [{row.loadavg}] {row.note}", flush=True)

    def table(self) -> str:
        head = ("bench", "case", "plugin", "baseline (same run)", "ratio", "target", "met", "load", "also measured")
        lines = [head] + [(r.bench, r.case, r.figure, r.baseline, _ratio(r.ratio), r.target, _met(r.met), r.loadavg[5:], r.note)
                          for r in self.rows]
        widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
        out = []
        for n, line in enumerate(lines):
            out.append("| " + " | ".join(str(c).ljust(w) for c, w in zip(line, widths)) + " |")
            if n == 0:
                out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        return "\n".join(out)


def _ratio(r: float | None) -> str:
    return "-" if r is None else f"{r:.2f}"


def _met(m: bool | None) -> str:
    return "-" if m is None else ("yes" if m else "NO")
