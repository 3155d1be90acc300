"""Moving data concurrently, in bounded memory: many objects at once with per-object
failure reports, and one stream written (or read) while the next chunks move."""

from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

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


_END = object()


def read_ahead(source: Iterator[bytes], depth: int) -> Iterator[bytes]:
    """Yield what ``source`` yields, produced by a second thread up to ``depth`` items ahead.

    Reading the next chunk from storage then overlaps with sending the previous one.
    An exception of ``source`` is raised here, in order. When the consumer stops early
    (the client went away), the producer stops after at most ``depth`` more items and
    ``source`` is closed in its own thread, releasing the storage reader.
    """
    ready: queue.Queue = queue.Queue(maxsize=max(depth, 1))
    stop = threading.Event()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)  # wakes up to notice a consumer that left
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in source:
                if not offer(item):
                    break
            else:
                offer((_END, None))
        except BaseException as exc:  # handed to the consumer
            offer((_END, exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            if type(item) is tuple and item[0] is _END:
                if item[1] is not None:
                    raise item[1]
                return
            yield item
    finally:
        stop.set()
        thread.join()
