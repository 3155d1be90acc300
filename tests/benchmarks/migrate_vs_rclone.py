"""``argo-artifacts migrate`` against ``rclone copy`` between moto servers, and its memory
over a synthetic listing of up to a million objects.

Not a test (pytest does not collect this directory's scripts): it prints figures and never
fails on a number. Run it from the repository root with the test extra installed and
Debian's rclone on PATH (``make bench-migrate`` installs it)::

    .venv/bin/python tests/benchmarks/migrate_vs_rclone.py [--objects 1000] [--rounds 3] [--workers 8]
        [--rss-sizes 10000,1000000] [--skip-rss]

Rows, each the median of ``--rounds`` rounds in one run, beside rclone and the target:

1. copy: a tree of 1,000 objects of 1-16 KiB from moto A into a fresh bucket on moto B,
   once with each tool, the same concurrency (``--workers`` = rclone's ``--transfers``
   and ``--checkers``); both copies checked out of band afterwards. Target: <= rclone.
2. re-run with everything present (the "resume, nothing to do" case). Target: <= 0.5 x rclone.
3. the same tree into another bucket of moto A: migrate's in-store copy (CopyObject)
   against migrate with ``--no-server-side`` (through the process). Target: >= 3x faster.
   rclone's copy inside one remote (also server-side) is printed for context. Then the
   same with 16 objects of 16 MiB, where a copy through the process moves bytes.
4. peak RSS of a migration, in its own process, over synthetic stores listing 10,000 and
   1,000,000 objects (1% missing at the destination and copied; the rest skipped on their
   listed MD5s). Target: flat (1M within 10% of 10k).

Beside each copy, the requests the servers logged per object (moto logs one line per
request), so the figures can be read as "requests x moto's cost per request". rclone is
driven through RCLONE_CONFIG_* variables (no config file) and run with ``-vv`` so its log
shows which hash checks it made; it needs ``AWS_CA_BUNDLE`` unset on this machine.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parent.parent)]  # benchmarks/, tests/ (support)

from harness import Report, Row, load  # noqa: E402

from argo_artifact_driver.core.backend import Backend, KeyRange  # noqa: E402
from argo_artifact_driver.core.listing import EVERYTHING  # noqa: E402
from argo_artifact_driver.plugin_server.testing.plugin import console_script  # noqa: E402
from argo_artifact_driver.plugin_server.testing.processes import ManagedProcess, free_port, port_open  # noqa: E402
from support.stores import S3Store  # noqa: E402

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_EC2_METADATA_DISABLED": "true"}
SYNTHETIC_SIZE = 1024


def moto(name: str, log_dir: Path) -> tuple[ManagedProcess, str]:
    port = free_port()
    server = ManagedProcess(name, [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], log_dir)
    server.wait_until(lambda: port_open(port))
    return server, f"127.0.0.1:{port}"


def rclone_env(name: str, endpoint: str) -> dict[str, str]:
    prefix = f"RCLONE_CONFIG_{name.upper()}_"
    return {prefix + "TYPE": "s3", prefix + "PROVIDER": "Other", prefix + "ENDPOINT": f"http://{endpoint}",
            prefix + "ACCESS_KEY_ID": "testing", prefix + "SECRET_ACCESS_KEY": "testing", prefix + "REGION": "us-east-1"}


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    environ = {**os.environ, **env}
    if argv[0] == "rclone":
        # rclone's AWS SDK refuses AWS_CA_BUNDLE with its own HTTP transport
        # ("LoadCustomCABundleError"); the moto servers are plain HTTP anyway.
        environ.pop("AWS_CA_BUNDLE", None)
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, env=environ)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return elapsed, proc


class RequestLog:
    """Requests a moto server logged since the last :meth:`count` (one line each)."""

    def __init__(self, server: ManagedProcess) -> None:
        self.server = server
        self.seen = self._lines()

    def _lines(self) -> int:
        return sum(1 for line in self.server.output().splitlines() if '" 2' in line or '" 3' in line or '" 4' in line)

    def count(self) -> int:
        now = self._lines()
        made, self.seen = now - self.seen, now
        return made


def check_copy(dst: S3Store, expected: dict[str, str]) -> None:
    got = {key: hashlib.sha256(dst.get(key)).hexdigest() for key in dst.keys()}
    if got != expected:
        raise SystemExit(f"{dst!r}: {len(got)} objects, {sum(got.get(k) == v for k, v in expected.items())} correct "
                         f"of {len(expected)}")


def copy_rows(args: argparse.Namespace, report: Report) -> None:
    work = Path(tempfile.mkdtemp(prefix="migrate-bench-"))
    server_a, endpoint_a = moto("moto-a", work)
    server_b, endpoint_b = moto("moto-b", work)
    logs = {"A": RequestLog(server_a), "B": RequestLog(server_b)}
    try:
        src = S3Store(endpoint_a, "source")
        objects = {f"runs/wf-{i % 20:02d}/pod-{i % 7}/artifact-{i:04d}.bin": os.urandom(1024 + (i * 97) % 15360)
                   for i in range(args.objects)}
        src.fs.pipe(dict((src.path(k), v) for k, v in objects.items()))
        expected = {key: hashlib.sha256(data).hexdigest() for key, data in objects.items()}
        total = sum(len(v) for v in objects.values())
        print(f"tree: {len(objects)} objects, {total / 1024 / 1024:.1f} MiB, moto A -> moto B, "
              f"{args.workers} concurrent transfers each; rclone {rclone_version()}; {load()}", flush=True)
        env = {**rclone_env("src", endpoint_a), **rclone_env("dst", endpoint_b)}
        workers = ["--workers", str(args.workers)]
        rclone_flags = ["--transfers", str(args.workers), "--checkers", str(args.workers)]
        figures: dict[str, list[float]] = {}
        requests: dict[str, int] = {}

        def run(label: str, argv: list[str], check: Callable[[], None] | None = None) -> subprocess.CompletedProcess:
            for log in logs.values():
                log.count()
            seconds, proc = timed(argv, env)
            figures.setdefault(label, []).append(seconds)
            requests[label] = sum(log.count() for log in logs.values())
            if check:
                check()
            return proc

        for round_ in range(args.rounds):
            mig, rcl = S3Store(endpoint_b, f"mig-{round_}"), S3Store(endpoint_b, f"rcl-{round_}")
            inside, pod = S3Store(endpoint_a, f"inside-{round_}"), S3Store(endpoint_a, f"pod-{round_}")
            rcl_inside = S3Store(endpoint_a, f"rcl-inside-{round_}")
            migrate = [console_script("argo-artifacts"), "migrate", "--from", src.config, "--json", *workers]
            rclone = ["rclone", "copy", "src:source", *rclone_flags, "-vv"]
            run("migrate copy", [*migrate, "--to", mig.config], lambda: check_copy(mig, expected))
            proc = run("rclone copy", [*rclone, f"dst:rcl-{round_}"], lambda: check_copy(rcl, expected))
            if round_ == 0:
                describe_rclone_checks(proc.stderr, len(objects))
            run("migrate re-run", [*migrate, "--to", mig.config])
            run("rclone re-run", [*rclone, f"dst:rcl-{round_}"])
            run("migrate in-store", [*migrate, "--to", inside.config], lambda: check_copy(inside, expected))
            run("migrate through the process", [*migrate, "--to", pod.config, "--no-server-side"],
                lambda: check_copy(pod, expected))
            run("rclone in-store", [*rclone, f"src:rcl-inside-{round_}"], lambda: check_copy(rcl_inside, expected))
            print(f"round {round_ + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in figures.items())
                  + f" [{load()}]", flush=True)
        med = {label: statistics.median(values) for label, values in figures.items()}
        per = {label: requests[label] / len(objects) for label in requests}

        def figure(label: str) -> str:
            return f"{med[label]:.2f} s, {per[label]:.2f} req/object"

        print(f"median of {args.rounds} rounds (requests per object as the servers logged them, last round):")
        report.add(Row("migrate", f"copy {len(objects)} objects moto -> moto", figure("migrate copy"),
                       f"rclone {figure('rclone copy')}", med["migrate copy"] / med["rclone copy"], "<= 1.00",
                       med["migrate copy"] <= med["rclone copy"]))
        report.add(Row("migrate", "re-run, everything present", figure("migrate re-run"),
                       f"rclone {figure('rclone re-run')}", med["migrate re-run"] / med["rclone re-run"], "<= 0.50",
                       med["migrate re-run"] <= 0.5 * med["rclone re-run"]))
        speedup = med["migrate through the process"] / med["migrate in-store"]
        report.add(Row("migrate", "same endpoint: in-store copy", figure("migrate in-store"),
                       f"through the process {figure('migrate through the process')}", speedup, ">= 3x faster",
                       speedup >= 3, note=f"rclone in-store (context) {figure('rclone in-store')}"))
        large_rows(args, report, src, endpoint_a, logs)
    finally:
        server_a.stop()
        server_b.stop()
        shutil.rmtree(work, ignore_errors=True)


def large_rows(args: argparse.Namespace, report: Report, small: S3Store, endpoint: str, logs: dict) -> None:
    """The same-endpoint row again with objects large enough that moving their bytes, not
    the number of requests, is what a copy through the process costs."""
    src = S3Store(endpoint, "source-large")
    objects = {f"runs/wf-{i:02d}/pod/artifact.tgz": os.urandom(args.large_mib * 1024 * 1024)
               for i in range(args.large_objects)}
    for key, data in objects.items():
        src.put(key, data)
    expected = {key: hashlib.sha256(data).hexdigest() for key, data in objects.items()}
    del objects
    print(f"large tree: {args.large_objects} objects of {args.large_mib} MiB, within moto A [{load()}]", flush=True)
    times: dict[str, list[float]] = {"in-store": [], "through": []}
    for round_ in range(args.rounds):
        for label, extra in (("in-store", []), ("through", ["--no-server-side"])):
            dst = S3Store(endpoint, f"large-{label}-{round_}")
            argv = [console_script("argo-artifacts"), "migrate", "--from", src.config, "--to", dst.config, "--json",
                    "--workers", str(args.workers), *extra]
            times[label].append(timed(argv, {})[0])
            check_copy(dst, expected)
        print(f"round {round_ + 1}: in-store {times['in-store'][-1]:.2f} s, through the process "
              f"{times['through'][-1]:.2f} s [{load()}]", flush=True)
    inside, through = statistics.median(times["in-store"]), statistics.median(times["through"])
    mib = args.large_objects * args.large_mib
    report.add(Row("migrate", f"same endpoint, {args.large_objects} x {args.large_mib} MiB: in-store copy",
                   f"{inside:.2f} s", f"through the process {through:.2f} s ({mib / through:.0f} MiB/s)",
                   through / inside, ">= 3x faster", through >= 3 * inside))


# -- memory over a synthetic listing ---------------------------------------------------------


class SyntheticFileSystem:
    """Just what a migration asks of a filesystem: objects of 1 KiB that exist, and writes
    that go nowhere."""

    protocol = "synthetic"
    async_impl = False

    def _strip_protocol(self, path: str) -> str:
        return path

    def invalidate_cache(self, path: str | None = None) -> None:
        pass

    def exists(self, path: str) -> bool:
        return True

    def info(self, path: str) -> dict:
        return {"name": path, "type": "file", "size": SYNTHETIC_SIZE}

    def open(self, path: str, mode: str = "rb", **kwargs: Any) -> io.BytesIO:
        return io.BytesIO(b"x" * SYNTHETIC_SIZE)


class SyntheticBackend(Backend):
    """``count`` objects shaped like Argo's keys, each with its MD5 in the listing; every
    ``missing``-th one absent (when ``missing`` is not 0)."""

    md5 = hashlib.md5(b"x" * SYNTHETIC_SIZE).hexdigest()

    def create_filesystem(self) -> Any:
        return SyntheticFileSystem()

    def root(self) -> str:
        return "synthetic"

    def list_sorted(self, fs: Any, rpath: str, keys: KeyRange) -> Iterator[tuple[str, Mapping[str, Any]]]:
        count, missing = self.options["count"], self.options["missing"]
        for i in range(count):
            if missing and i % missing == 0:
                continue
            path = f"synthetic/runs/wf-{i // 100:07d}/pod-{i % 100:02d}/out.tgz"
            if path in keys:
                yield path, {"size": SYNTHETIC_SIZE, "md5": self.md5}

    def checksums(self, info: Mapping[str, Any]) -> dict[str, str]:
        return {"md5": info["md5"]} if "md5" in info else {}

    def upload_bytes(self, fs: Any, rpath: str, data: bytes) -> Mapping[str, Any]:
        return {"md5": hashlib.md5(data).hexdigest()}


def synthetic_run(count: int, workers: int) -> dict[str, float]:
    """One migration over synthetic stores, in this process: peak RSS before and after."""
    from argo_artifact_driver.core.backend import Option
    from argo_artifact_driver.core.migration import Migration
    from argo_artifact_driver.core.secrets import SecretResolver
    from argo_artifact_driver.core.settings import Settings
    from argo_artifact_driver.core.store import ArtifactStore

    SyntheticBackend.option_spec = {"count": Option(int, required=True), "missing": Option(int, default=0)}

    def store(missing: int) -> ArtifactStore:
        return ArtifactStore(SyntheticBackend("synthetic", {"count": count, "missing": missing}, Settings(),
                                              SecretResolver(secrets_dir="/nonexistent")))

    migration = Migration(store(0), store(100), workers=workers, keys=EVERYTHING)
    before = peak_rss_kb()
    started = time.monotonic()
    summary = migration.run()
    return {"count": count, "listed": summary.listed, "copied": summary.copied, "skipped": summary.skipped,
            "failed": len(summary.failed), "seconds": time.monotonic() - started,
            "idle_kb": before, "peak_kb": peak_rss_kb()}


def peak_rss_kb() -> int:
    """VmHWM: the process's peak RSS. (Not getrusage's ru_maxrss, which a child inherits
    from the parent it was forked from, across exec.)"""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def rss_rows(args: argparse.Namespace, report: Report) -> None:
    sizes = [int(n) for n in args.rss_sizes.split(",")]
    print(f"peak RSS of a migration over synthetic listings of {', '.join(f'{n:,}' for n in sizes)} objects "
          f"(1% copied, the rest skipped on their listed MD5s), each in its own process [{load()}]", flush=True)
    results = []
    for count in sizes:
        proc = subprocess.run([sys.executable, __file__, "--synthetic", str(count), "--workers", str(args.workers)],
                              capture_output=True, text=True)
        if proc.returncode:
            raise SystemExit(f"synthetic run of {count} failed:\n{proc.stderr[-3000:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        if result["listed"] != count or result["copied"] != (count + 99) // 100 or result["failed"]:
            raise SystemExit(f"synthetic run of {count} did not do what it should: {result}")
        print(f"  {count:>9,} objects: {result['seconds']:.1f} s, peak RSS {result['peak_kb'] / 1024:.0f} MB "
              f"(after imports, before the run: {result['idle_kb'] / 1024:.0f} MB) [{load()}]", flush=True)
        results.append(result)
    small, large = results[0], results[-1]
    ratio = large["peak_kb"] / small["peak_kb"]
    report.add(Row("migrate", f"peak RSS, {large['count']:,} vs {small['count']:,} listed objects",
                   f"{large['peak_kb'] / 1024:.0f} MB", f"{small['peak_kb'] / 1024:.0f} MB", ratio,
                   "flat (<= 1.10)", ratio <= 1.10, note=f"idle after imports {small['idle_kb'] / 1024:.0f} MB"))


def rclone_version() -> str:
    out = subprocess.run(["rclone", "version"], capture_output=True, text=True).stdout
    return out.splitlines()[0].split()[-1] if out else "?"


def describe_rclone_checks(log: str, count: int) -> None:
    """What rclone's debug log says it checked after each upload."""
    md5_ok = len(re.findall(r": md5 = [0-9a-f]{32} OK", log))
    print(f"  rclone -vv, first copy: {md5_ok} of {count} transfers logged 'md5 = ... OK' (the source's MD5 "
          "compared with the MD5 the destination reported for the new object)", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--large-objects", type=int, default=16, help="objects of the large same-endpoint row")
    parser.add_argument("--large-mib", type=int, default=16, help="their size in MiB")
    parser.add_argument("--rss-sizes", default="10000,1000000", help="listing sizes of the RSS row, comma-separated")
    parser.add_argument("--skip-rss", action="store_true", help="only the rows against rclone")
    parser.add_argument("--skip-copy", action="store_true", help="only the RSS row")
    parser.add_argument("--synthetic", type=int, help=argparse.SUPPRESS)  # one synthetic run, as a child process
    args = parser.parse_args()
    if args.synthetic:
        print(json.dumps(synthetic_run(args.synthetic, args.workers)))
        return 0
    os.environ.update(CREDENTIALS)
    report = Report()
    if not args.skip_copy:
        if not shutil.which("rclone"):
            raise SystemExit("rclone is not installed: apt-get install -y rclone (or make bench-migrate)")
        copy_rows(args, report)
    if not args.skip_rss:
        rss_rows(args, report)
    print()
    print(report.table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
