"""Profile the plugin process with py-spy while it serves one large call.

    .venv/bin/python tests/benchmarks/profile_plugin.py CALL STORE [MiB] [--native] [--keep FILE]

CALL is ``load``, ``save``, ``open`` (OpenStream) or ``stream`` (SaveStream); STORE a label
of ``harness.STORE_STARTERS`` (file, s3-moto, s3-s3rver, gcs, azure). Prints the call's
time, then the functions with the most samples (own time, then including callees), all
threads, idle threads left out; ``--keep`` saves py-spy's raw stacks (for a flame graph).
py-spy comes with the ``test`` extra.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parent.parent)]  # benchmarks/, tests/ (support)

from harness import STORE_STARTERS, MiB, Servers, make_file, plugin  # noqa: E402
from transfer_calls import drain_stream, load, save, save_stream  # noqa: E402

CALLS = {
    "load": lambda client, store, key, src, dst: load(client, store.config, key, dst),
    "save": lambda client, store, key, src, dst: save(client, store.config, key, src),
    "open": lambda client, store, key, src, dst: drain_stream(client, store.config, key),
    "stream": lambda client, store, key, src, dst: save_stream(client, store.config, key, src),
}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("call", choices=sorted(CALLS))
    p.add_argument("store", choices=sorted(STORE_STARTERS))
    p.add_argument("mib", type=int, nargs="?", default=512)
    p.add_argument("--native", action="store_true", help="include native (C) frames")
    p.add_argument("--keep", help="copy py-spy's raw output here")
    p.add_argument("--top", type=int, default=20)
    args = p.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="argo-profile-"))
    servers = Servers(work)
    out = work / "py-spy.txt"
    try:
        store = STORE_STARTERS[args.store](servers)
        src = make_file(work / "object", args.mib * MiB)
        dst = work / "loaded"
        store.fs.put_file(str(src), store.path("profiled"))  # what load and open read
        with plugin(work, env=store.plugin_env, name="profiled") as (proc, client):
            client.is_directory(store.config, "warm-up")
            argv_spy = [str(Path(sys.executable).with_name("py-spy")), "record", "-p", str(proc.proc.pid), "-r", "200",
                        "-f", "raw", "-o", str(out), "--nonblocking", "--threads"] + (["--native"] if args.native else [])
            spy = subprocess.Popen(argv_spy, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)  # py-spy attaches
            start = time.perf_counter()
            CALLS[args.call](client, store, "profiled", src, dst)
            print(f"{args.call} {args.store} {args.mib} MiB: {time.perf_counter() - start:.2f} s")
            spy.send_signal(2)
            spy.wait()
        summarise(out, args.top)
        if args.keep:
            shutil.copy(out, args.keep)
    finally:
        servers.stop()
        shutil.rmtree(work, ignore_errors=True)


def summarise(path: Path, top: int = 20) -> None:
    own, inclusive = collections.Counter(), collections.Counter()
    threads = collections.Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        threads[frames[0]] += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    for title, counter in (("samples per thread", threads), ("own samples", own), ("samples including callees", inclusive)):
        print(f"-- {title}")
        for frame, n in counter.most_common(top):
            print(f"{n:6d}  {frame[:160]}")


if __name__ == "__main__":
    main()
