"""Profile the plugin process with py-spy while it serves one large OpenStream or SaveStream.

    .venv/bin/python tests/benchmarks/profile_plugin.py {open|save} {file|s3} [MiB]

Prints the functions with the most samples (own time, then including callees), all
threads, idle threads left out. py-spy comes with the ``test`` extra.
"""

from __future__ import annotations

import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parent.parent)]  # benchmarks/, tests/ (support)

from harness import STORE_STARTERS, MiB, Servers, make_file, plugin  # noqa: E402
from transfer import check, drain_stream, file_chunks  # noqa: E402


def main(op: str, scheme: str, size: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="argo-profile-"))
    servers = Servers(work)
    out = work / "py-spy.txt"
    try:
        store = STORE_STARTERS[scheme](servers)
        src = make_file(work / "object", size)
        with plugin(work, name="profiled") as (proc, client):
            check(client.save_stream(store.config, "profiled", file_chunks(src)))  # warm up; OpenStream reads it
            spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "-p", str(proc.proc.pid), "-r", "200",
                                    "-f", "raw", "-o", str(out), "--nonblocking", "--threads"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)  # py-spy attaches
            start = time.perf_counter()
            if op == "save":
                check(client.save_stream(store.config, "profiled", file_chunks(src)))
            else:
                drain_stream(client, store.config, "profiled")
            print(f"{op} {scheme} {size // MiB} MiB: {time.perf_counter() - start:.2f} s")
            spy.send_signal(2)
            spy.wait()
        summarise(out)
    finally:
        servers.stop()
        shutil.rmtree(work, ignore_errors=True)


def summarise(path: Path, top: int = 15) -> None:
    own, inclusive = collections.Counter(), collections.Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    for title, counter in (("own samples", own), ("samples including callees", inclusive)):
        print(f"-- {title}")
        for frame, n in counter.most_common(top):
            print(f"{n:6d}  {frame[:140]}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) * MiB if len(sys.argv) > 3 else 512 * MiB)
