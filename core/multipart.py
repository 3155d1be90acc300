"""Writing one object in parts, several parts at once, in bounded memory.

Object stores take a large object as parts uploaded independently and then put together
(S3 multipart uploads, Azure block lists). Sending several parts at once is what makes a
single large upload fast (boto3 and azure-storage-blob do it too), and it is also what
made memory grow with the object: s3fs sends up to ten parts of 50 MiB at once. Here the
part buffers of every writer in the process come out of one :class:`ByteBudget`, so the
memory they take is bounded in bytes whatever the number of calls, objects and parts in
flight; a writer that finds the budget spent waits (and so slows its sender) until some
part finishes.

A backend only says how to send one part (:class:`~.backend.MultipartUpload`). The part
size, the concurrency, the budget and the clean-up on failure are here, once, for Save
and SaveStream and for every backend whose store takes parts.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Coroutine

if TYPE_CHECKING:
    from .backend import MultipartUpload

log = logging.getLogger("argo_artifact_driver")

#: How often a waiting writer runs its ``check`` (is the call still wanted?).
WAKE_SECONDS = 0.1
#: A stream of unknown length doubles its part size after this many parts, so that it
#: can reach any object size the store takes within its part count (S3: 10,000 parts).
PARTS_PER_SIZE = 1000
#: How long an abort may take before the writer gives up on it (the store expires it).
ABORT_SECONDS = 30.0


def _never() -> None:
    return None


class ByteBudget:
    """Bytes the process may hold in transfer buffers at once, shared by every call, and
    the part buffers themselves, kept for the next part.

    :meth:`acquire` waits while the budget is spent. A request for more than the whole
    budget is granted the whole budget (it waits until nothing else holds any), so a part
    larger than the budget still moves, one at a time.

    Part buffers are reused rather than allocated for every part: a fresh 8 MiB buffer is
    faulted in page by page (2,048 faults, about 30 ms on the machine measured: 256 MiB
    read into new buffers took 0.5-0.9 s, into reused ones 0.03-0.08 s), and freeing them
    in turn leaves glibc's arenas fragmented. At most the budget's worth is kept."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        #: The most bytes held at once so far (for tests and benchmarks).
        self.peak = 0
        self._changed = threading.Condition()
        self._free: dict[int, list[bytearray]] = {}
        self._pooled = 0

    def acquire(self, n: int, check: Callable[[], None] = _never) -> int:
        """Hold ``n`` bytes (at most the whole budget) and return what is held, to be
        released. ``check`` runs while waiting and raises when the caller must stop."""
        n = min(n, self.limit)
        with self._changed:
            while self.held + n > self.limit:
                check()
                self._changed.wait(WAKE_SECONDS)
            self.held += n
            self.peak = max(self.peak, self.held)
        return n

    def release(self, n: int) -> None:
        with self._changed:
            self.held -= n
            self._changed.notify_all()

    def buffer(self, size: int) -> bytearray:
        """A buffer of ``size`` bytes (its content undefined): a kept one if there is one."""
        with self._changed:
            free = self._free.get(size)
            if free:
                self._pooled -= size
                return free.pop()
        return bytearray(size)

    def recycle(self, buffer: bytearray) -> None:
        """Keep ``buffer`` for a later part (nothing may use it any more)."""
        size = len(buffer)
        with self._changed:
            if self._pooled + size <= self.limit:
                self._free.setdefault(size, []).append(buffer)
                self._pooled += size


class PartWriter:
    """A writable binary file whose content becomes one object, sent as parts.

    What it is given is gathered into parts of ``part_size`` bytes (the last may be
    shorter), each handed to the upload as a view of its buffer. Each full part is sent
    at once, at most ``concurrency`` in flight; a part's memory is held from ``budget``
    from the moment it starts gathering until its upload ends, when its buffer goes back
    to the budget's pool. An object that never fills a part is sent whole, in one
    request, by :meth:`commit`: nothing is started on the store for it before.
    :meth:`close` sends the rest and waits for every part; :meth:`commit` makes the object
    visible; :meth:`abort` throws everything away (nothing appears). ``check`` runs while
    the writer waits and raises when the call must stop. ``size``, when known, bounds
    what is held for the last part and lets a large object take larger parts than
    ``part_size`` (the store's part-count limit).

    The upload's coroutines run on ``loop``; the writer is used from one thread at a time.
    """

    def __init__(
        self,
        upload: "MultipartUpload",
        loop: asyncio.AbstractEventLoop,
        *,
        part_size: int,
        concurrency: int,
        budget: ByteBudget,
        size: int | None = None,
        check: Callable[[], None] = _never,
    ) -> None:
        self._upload = upload
        self._loop = loop
        self._budget = budget
        self._check = check
        self._concurrency = max(1, concurrency)
        self._part_size = max(part_size, upload.min_part_size)
        if size is not None and size > self._part_size * upload.max_parts:
            self._part_size = -(-size // upload.max_parts)
        self._unknown_size = size is None
        self._left = size  # bytes still to read, when the size is known
        self._buffer: bytearray | None = None  # the part being gathered
        self._fill = 0  # how much of it is filled
        self._held = 0  # budget held for it
        self._parts = 0  # parts sent so far
        self._started = False
        self._in_flight: list[concurrent.futures.Future] = []
        self._receipts: dict[int, Any] = {}
        self._failure: BaseException | None = None
        self._closed = False
        self._finished = False
        self.written = 0

    # -- the file interface ------------------------------------------------------------

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Copy ``data`` into parts, sending each part as it fills."""
        view = memoryview(data).cast("B")
        size = len(view)
        while view:
            buffer = self._buffer_to_fill()
            n = min(len(view), len(buffer) - self._fill)
            buffer[self._fill:self._fill + n] = view[:n]
            self._fill += n
            view = view[n:]
            self._send_if_full()
        self.written += size
        return size

    def write_from(self, f: BinaryIO, progress: Callable[[int], object] = lambda n: None) -> int:
        """Read ``f`` to its end straight into the part buffers (no copy in between),
        calling ``progress`` with the size of every read; returns the bytes read."""
        total = 0
        while True:
            if self._left == 0:  # all the size said was read: more only if the file grew
                data = f.read(1)
                if not data:
                    return total
                self._left = None  # its size is unknown from here on
                self.write(data)
                total += 1
                progress(1)
                continue
            buffer = self._buffer_to_fill()
            end = len(buffer) if self._left is None else min(len(buffer), self._fill + self._left)
            n = f.readinto(memoryview(buffer)[self._fill:end])
            if not n:
                return total
            self._fill += n
            if self._left is not None:
                self._left -= n
            total += n
            self.written += n
            progress(n)
            self._send_if_full()

    def close(self) -> None:
        """Send what is left and wait for every part; the object is not visible yet."""
        if self._closed:
            return
        self._closed = True
        if not self._started:
            return  # it never filled a part: commit() sends it whole
        if self._fill:
            self._send_part()
        else:
            self._drop_part()
        while self._in_flight:
            self._check()
            self._raise_failure()
            concurrent.futures.wait(self._in_flight, timeout=WAKE_SECONDS)
            self._in_flight = [f for f in self._in_flight if not f.done()]
        self._raise_failure()

    def commit(self) -> None:
        """Make the object visible: complete the upload, or send a small object whole."""
        self.close()
        if self._started:
            self._run(self._upload.complete([self._receipts[n] for n in sorted(self._receipts)]))
        else:
            data = memoryview(self._buffer)[:self._fill] if self._buffer is not None else b""
            try:
                self._run(self._upload.put(data))
            finally:
                del data
                self._drop_part()
        self._finished = True

    def abort(self) -> None:
        """Throw everything away: stop the parts in flight, give their memory back and
        abort the upload on the store (its parts are deleted; no object appears)."""
        self._closed = True
        for future in self._in_flight:
            future.cancel()
        concurrent.futures.wait(self._in_flight, timeout=ABORT_SECONDS)
        self._in_flight.clear()
        self._drop_part()
        if self._started and not self._finished:
            self._finished = True
            try:
                self._run(self._upload.abort(), check=False, timeout=ABORT_SECONDS)
            except Exception as exc:  # the upload stays invisible, and the store expires it
                log.warning("could not abort an unfinished upload: %s: %s", type(exc).__name__, exc)

    # -- parts -------------------------------------------------------------------------

    def _buffer_to_fill(self) -> bytearray:
        """The buffer of the part being gathered, with room in it; its memory is taken
        from the budget as it starts (what is left, for the last part of an object of
        known size), and grows to a whole part if more comes than the size said."""
        self._raise_failure()
        if self._buffer is None:
            size = self._part_size
            if self._left is not None and 0 < self._left < size:
                size = self._left
            self._held = self._budget.acquire(size, self._check)
            self._buffer = self._budget.buffer(size)
            self._fill = 0
        elif self._fill == len(self._buffer):
            more = self._part_size - len(self._buffer)
            self._held += self._budget.acquire(more, self._check)
            self._buffer += bytes(more)
        return self._buffer

    def _send_if_full(self) -> None:
        if self._fill >= self._part_size:
            self._send_part()

    def _recycle(self, buffer: bytearray) -> None:
        if len(buffer) == self._part_size:  # a whole part's buffer: the next part's
            self._budget.recycle(buffer)

    def _drop_part(self) -> None:
        buffer, self._buffer, self._fill = self._buffer, None, 0
        if buffer is not None:
            self._recycle(buffer)
        held, self._held = self._held, 0
        if held:
            self._budget.release(held)

    def _send_part(self) -> None:
        if not self._started:
            self._run(self._upload.begin())
            self._started = True
        self._wait_for_room()
        buffer, fill, held = self._buffer, self._fill, self._held
        self._buffer, self._fill, self._held = None, 0, 0
        self._parts += 1
        number = self._parts
        part = memoryview(buffer)[:fill]
        future = asyncio.run_coroutine_threadsafe(self._upload.upload_part(number, part), self._loop)
        del part
        future.add_done_callback(lambda f: self._part_done(f, number, buffer, held))
        self._in_flight.append(future)
        if self._unknown_size and self._parts % PARTS_PER_SIZE == 0:
            self._part_size *= 2

    def _part_done(self, future: concurrent.futures.Future, number: int, buffer: bytearray, held: int) -> None:
        if not future.cancelled():
            error = future.exception()
            if error is None:
                self._receipts[number] = future.result()
                self._recycle(buffer)  # the upload is over: nothing reads it any more
            elif self._failure is None:
                self._failure = error
        # A cancelled or failed part's buffer is not reused: its request may still hold it.
        self._budget.release(held)

    def _wait_for_room(self) -> None:
        while True:
            self._in_flight = [f for f in self._in_flight if not f.done()]
            self._raise_failure()
            if len(self._in_flight) < self._concurrency:
                return
            self._check()
            concurrent.futures.wait(self._in_flight, timeout=WAKE_SECONDS, return_when=concurrent.futures.FIRST_COMPLETED)

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _run(self, coro: Coroutine[Any, Any, Any], check: bool = True, timeout: float | None = None) -> Any:
        """Run one of the upload's coroutines on the loop and wait for it, checking the
        call while waiting (the coroutine is cancelled if the call is called off)."""
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        waited = 0.0
        while True:
            try:
                return future.result(timeout=WAKE_SECONDS)
            except concurrent.futures.TimeoutError:
                waited += WAKE_SECONDS
                try:
                    if check:
                        self._check()
                    if timeout is not None and waited >= timeout:
                        raise TimeoutError(f"the store did not answer within {timeout:g} s") from None
                except BaseException:
                    future.cancel()
                    raise
