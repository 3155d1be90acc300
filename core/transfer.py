"""Moving data: many objects at once with bounded concurrency and per-object failure
reports; one stream written (or read) while the next chunks move, in bounded memory; and
the one retry loop core has (for whole-object transfers).

Every thread started here runs in a copy of the starting thread's context
(:mod:`contextvars`), so what the caller's context carries (the call a storage operation
belongs to, for :mod:`.observe`) is there in the worker too.
"""

from __future__ import annotations

import contextvars
import queue
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence, TypeVar

if TYPE_CHECKING:
    from .deadline import Deadline

T = TypeVar("T")
R = TypeVar("R")


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
        # one copy per item: a Context cannot be entered by two threads at once
        futures = [(item, pool.submit(contextvars.copy_context().run, action, item)) for item in items]
        for item, future in futures:
            try:
                total += future.result()
            except Exception as exc:
                failures.append((item, exc))
    return total, failures


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter for whole-object transfers.

    This is the only retry layer in core, and it covers what storage SDKs do not: a
    transfer whose response body broke after the request succeeded. Request-level
    failures (5xx, throttling, resets before a response) are retried by the SDK itself,
    configured by each backend; see "Reliability" in the operations docs.
    """

    attempts: int = 3
    base_seconds: float = 0.2
    cap_seconds: float = 5.0

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (attempt counts from 1)."""
        return random.uniform(0, min(self.cap_seconds, self.base_seconds * 2 ** (attempt - 1)))


def with_retries(
    action: Callable[[], R],
    *,
    policy: RetryPolicy,
    transient: Callable[[BaseException], bool],
    deadline: "Deadline",
    what: str,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> R:
    """Run ``action``; on a transient failure wait and run it again, at most
    ``policy.attempts`` times in all and never past the call's deadline. ``on_retry``
    hears of each retry: (attempts made, the failure, seconds of pause before the next)."""
    attempt = 1
    while True:
        deadline.check(what)
        try:
            return action()
        except Exception as exc:
            if attempt >= policy.attempts or not transient(exc):
                raise
            pause = policy.backoff(attempt)
            remaining = deadline.remaining()
            if remaining is not None and remaining <= pause:
                raise
            if on_retry is not None:
                on_retry(attempt, exc, pause)
            time.sleep(pause)
            attempt += 1


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

    thread = threading.Thread(target=contextvars.copy_context().run, args=(writer,), name="write-behind", daemon=True)
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
    ``source`` is closed in its own thread, releasing the storage reader. The producer
    runs in the context of this call, not of the first ``next()``.
    """
    return _read_ahead(source, depth, contextvars.copy_context())


def _read_ahead(source: Iterator[bytes], depth: int, context: contextvars.Context) -> Iterator[bytes]:
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

    thread = threading.Thread(target=context.run, args=(produce,), name="read-ahead", daemon=True)
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
