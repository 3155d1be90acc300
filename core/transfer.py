"""Moving data concurrently, in bounded memory: many objects at once with per-object
failure reports, and one stream written while the next chunks arrive."""

from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Sequence, TypeVar

T = TypeVar("T")


def run_bounded(items: Sequence[T], action: Callable[[T], int], workers: int) -> tuple[int, list[tuple[T, BaseException]]]:
    """Run ``action`` on every item with at most ``workers`` at once.

    Returns the sum of what the actions returned (bytes moved) and the items that failed
    with their exceptions; one failure does not stop the others, so a caller can say
    exactly which objects did not make it.
    """
    if not items:
        return 0, []
    total = 0
    failures: list[tuple[T, BaseException]] = []
    if workers <= 1 or len(items) == 1:
        for item in items:
            try:
                total += action(item)
            except Exception as exc:  # reported per item below
                failures.append((item, exc))
        return total, failures
    with ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="transfer") as pool:
        futures = [(item, pool.submit(action, item)) for item in items]
        for item, future in futures:
            try:
                total += future.result()
            except Exception as exc:
                failures.append((item, exc))
    return total, failures


def write_behind(write: Callable[[bytes], object], chunks: Iterable[bytes], depth: int) -> int:
    """Call ``write`` on every chunk from a second thread, at most ``depth`` chunks behind.

    Receiving the next chunk and writing the previous one then overlap: a write to disk
    or a part upload to an object store no longer stops the stream it is fed from. The
    queue bounds the memory held (``depth`` chunks). Returns the bytes written; a
    failure of ``write`` or of ``chunks`` is raised here once the writer has stopped, so
    the caller still owns the file when it decides to discard it.
    """
    pending: queue.Queue = queue.Queue(maxsize=max(depth, 1))
    failed: list[BaseException] = []
    stop = object()

    def writer() -> None:
        while (chunk := pending.get()) is not stop:
            if not failed:
                try:
                    write(chunk)
                except BaseException as exc:  # handed to the caller below
                    failed.append(exc)

    thread = threading.Thread(target=writer, name="write-behind", daemon=True)
    thread.start()
    written = 0
    try:
        for chunk in chunks:
            if failed:
                break
            pending.put(chunk)
            written += len(chunk)
    finally:
        pending.put(stop)
        thread.join()
    if failed:
        raise failed[0]
    return written
