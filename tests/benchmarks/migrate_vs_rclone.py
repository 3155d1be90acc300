"""``argo-artifacts migrate`` against ``rclone copy`` on one tree between two moto servers.

Not a test (pytest does not collect this directory's scripts): it prints figures and never
fails on a number. Run it from the repository root with the test extra installed and
Debian's rclone on PATH (``apt-get install -y rclone``)::

    .venv/bin/python tests/benchmarks/migrate_vs_rclone.py [--objects 1000] [--rounds 3] [--workers 8]

Each round copies the same source bucket (server A) into two fresh buckets on server B,
once with each tool, with the same concurrency, then re-runs each onto its now-complete
bucket (the "resume, nothing to do" case). Both copies are checked out of band.
rclone is driven through RCLONE_CONFIG_* variables (no config file) and run with ``-vv``
so its log shows which hash checks it made.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from argo_artifact_driver.plugin_server.testing.plugin import console_script
from argo_artifact_driver.plugin_server.testing.processes import ManagedProcess, free_port, port_open
from support.stores import S3Store

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_EC2_METADATA_DISABLED": "true"}


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


def check_copy(dst: S3Store, expected: dict[str, str]) -> None:
    got = {key: hashlib.sha256(dst.get(key)).hexdigest() for key in dst.keys()}
    if got != expected:
        raise SystemExit(f"{dst!r}: {len(got)} objects, {sum(got.get(k) == v for k, v in expected.items())} correct "
                         f"of {len(expected)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    if not shutil.which("rclone"):
        raise SystemExit("rclone is not installed: apt-get install -y rclone")
    os.environ.update(CREDENTIALS)
    work = Path(tempfile.mkdtemp(prefix="migrate-bench-"))
    server_a, endpoint_a = moto("moto-a", work)
    server_b, endpoint_b = moto("moto-b", work)
    try:
        src = S3Store(endpoint_a, "source")
        objects = {f"runs/wf-{i % 20:02d}/pod-{i % 7}/artifact-{i:04d}.bin": os.urandom(1024 + (i * 97) % 15360)
                   for i in range(args.objects)}
        src.fs.pipe(dict((src.path(k), v) for k, v in objects.items()))
        expected = {key: hashlib.sha256(data).hexdigest() for key, data in objects.items()}
        total = sum(len(v) for v in objects.values())
        print(f"tree: {len(objects)} objects, {total / 1024 / 1024:.1f} MiB, moto A -> moto B, "
              f"{args.workers} concurrent transfers each; rclone {rclone_version()}")

        env = {**rclone_env("src", endpoint_a), **rclone_env("dst", endpoint_b)}
        figures: dict[str, list[float]] = {"migrate": [], "rclone": [], "migrate re-run": [], "rclone re-run": []}
        for round_ in range(args.rounds):
            mig, rcl = S3Store(endpoint_b, f"mig-{round_}"), S3Store(endpoint_b, f"rcl-{round_}")
            migrate = [console_script("argo-artifacts"), "migrate", "--from", src.config, "--to", mig.config,
                       "--workers", str(args.workers), "--json"]
            rclone = ["rclone", "copy", "src:source", f"dst:rcl-{round_}", "--transfers", str(args.workers),
                      "--checkers", str(args.workers), "-vv"]
            for label, argv in (("migrate", migrate), ("rclone", rclone)):
                seconds, proc = timed(argv, env)
                figures[label].append(seconds)
                if label == "rclone" and round_ == 0:
                    describe_rclone_checks(proc.stderr, len(objects))
            check_copy(mig, expected)
            check_copy(rcl, expected)
            for label, argv in (("migrate re-run", migrate), ("rclone re-run", rclone)):
                figures[label].append(timed(argv, env)[0])
            print(f"round {round_ + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in figures.items()))
        print("median of", args.rounds, "rounds:")
        for label, values in figures.items():
            med = statistics.median(values)
            print(f"  {label:15} {med:6.2f} s  ({len(objects) / med:6.0f} objects/s)")
        print("both destinations verified out of band (sha256 of every object) after every round")
    finally:
        server_a.stop()
        server_b.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def rclone_version() -> str:
    out = subprocess.run(["rclone", "version"], capture_output=True, text=True).stdout
    return out.splitlines()[0].split()[-1] if out else "?"


def describe_rclone_checks(log: str, count: int) -> None:
    """What rclone's debug log says it checked after each upload."""
    md5_ok = len(re.findall(r": md5 = [0-9a-f]{32} OK", log))
    sizes_ok = len(re.findall(r": Size and md5 of src and dst objects identical", log))
    print(f"rclone -vv, first copy: {md5_ok} of {count} transfers logged 'md5 = ... OK' "
          f"(source MD5 compared with the destination's reported MD5 after upload); "
          f"{sizes_ok} 'Size and md5 ... identical'")


if __name__ == "__main__":
    raise SystemExit(main())
