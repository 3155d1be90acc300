"""Run the performance benchmarks and print every figure next to its same-run baseline.

    .venv/bin/python tests/benchmarks/run.py [--quick] [--sizes 256MiB,1GiB] [--repeat 3] [--only 1,2,3,4,5]

No figure is asserted: each row says whether its target is met. Timings on a shared
machine are noisy, so each figure is a median and the load average is printed with it.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parent.parent)]  # benchmarks/, tests/ (support)

from harness import STORE_STARTERS, GiB, KiB, MiB, Report, Servers, load  # noqa: E402

UNITS = {"k": KiB, "kib": KiB, "m": MiB, "mib": MiB, "g": GiB, "gib": GiB, "": 1, "b": 1}


def size(text: str) -> int:
    t = text.strip().lower()
    digits = t.rstrip("kmgib")
    return int(float(digits) * UNITS[t[len(digits):]])


S3_STORES = [label for label in STORE_STARTERS if label.startswith("s3-")]
#: --quick: every benchmark and every store, smaller and once (about a quarter of the time).
QUICK = {"sizes": "256MiB", "repeat": 1, "rss_sizes": "256MiB,1GiB", "files": 200, "concurrency_sweep": "",
         "sweep_size": 64 * MiB}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smaller sizes, one repetition, no sweeps: " + ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in QUICK.items()))
    p.add_argument("--sizes", "--size", default="256MiB,1GiB", help="object sizes for (1) (default 256MiB,1GiB)")
    p.add_argument("--repeat", type=int, default=3, help="repetitions; figures are medians (default 3)")
    p.add_argument("--stores", default=",".join(STORE_STARTERS), help=f"stores for (1), (3) and (4) (default {','.join(STORE_STARTERS)}; "
                   "(3) uses the S3 ones)")
    p.add_argument("--only", default="1,2,3,4,5", help="which benchmarks (default all)")
    p.add_argument("--no-fsspec", action="store_true", help="leave out the fsspec-direct context of (1)")
    p.add_argument("--files", type=int, default=1000, help="files in the directory of (3) (default 1000)")
    p.add_argument("--file-size", type=size, default=4 * KiB, help="size of each file of (3) (default 4KiB)")
    p.add_argument("--latency-ms", type=float, default=50, help="latency the proxy of (3) adds per request (default 50)")
    p.add_argument("--concurrency-sweep", default="4,8,16,32", help="transfer concurrencies tried in (3); '' for none")
    p.add_argument("--rss-sizes", default="256MiB,1GiB,4GiB",
                   help="object sizes for (4), small first; the largest only on --rss-large-stores (default 256MiB,1GiB,4GiB)")
    p.add_argument("--rss-large-stores", default="file,s3-s3rver",
                   help="stores measured at the largest size of (4); the others hold objects in memory (default file,s3-s3rver)")
    p.add_argument("--sweep-size", type=size, default=256 * MiB, help="object size of the chunk sweep (2)")
    p.add_argument("--work", help="working directory (default: a temporary one, removed afterwards)")
    given = argv if argv is not None else sys.argv[1:]
    if "--quick" in given:
        p.set_defaults(**QUICK)  # options given explicitly still win
    args = p.parse_args(given)

    only = {int(x) for x in args.only.split(",") if x}
    stores = [s for s in args.stores.split(",") if s]
    unknown = [s for s in stores if s not in STORE_STARTERS]
    if unknown:
        p.error(f"unknown store {', '.join(unknown)}; known: {', '.join(STORE_STARTERS)}")
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="argo-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, {platform.python_implementation()} "
          f"{platform.python_version()}; {load()} at start")
    print(f"arguments: {' '.join(given) or '(defaults)'}")
    started = time.monotonic()
    # SIGTERM (a `kill` of this run) ends it like Ctrl-C, so the servers it started stop too.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    servers = Servers(work)
    report = Report()
    try:
        if 1 in only:
            import transfer
            transfer.run(report, servers, work, stores, [size(s) for s in args.sizes.split(",")], args.repeat,
                         fsspec_context=not args.no_fsspec)
        if 2 in only and args.sweep_size:
            import stream
            stream.run(servers, work, args.sweep_size, args.repeat)
        if 3 in only:
            import many_files
            sweep = tuple(int(x) for x in args.concurrency_sweep.split(",") if x)
            many_files.run(report, servers, work, [s for s in stores if s in S3_STORES], args.files, args.file_size,
                           args.latency_ms, args.repeat, sweep)
        if 4 in only:
            import memory
            memory.run(report, servers, work, stores, [size(s) for s in args.rss_sizes.split(",")],
                       args.rss_large_stores.split(","))
        if 5 in only:
            import startup
            startup.run(report, servers, work, max(args.repeat, 5))
    finally:
        servers.stop()
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(report.table())
    missed = [r for r in report.rows if r.met is False]
    print(f"\n{len(report.rows)} figures, {len(missed)} targets missed; {time.monotonic() - started:.0f} s; {load()} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
