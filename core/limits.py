"""Limits on what one call may take from the server: its key's size, and its share of the
workers while its store is slow.

Every call holds a worker thread while it runs. A store that never answers (an endpoint
that accepts connections and stays silent) would otherwise let its calls take every
worker, and calls to every other store would wait behind them. :class:`EndpointGate`
counts the calls in flight per endpoint (per local store for stores without one) and
refuses a call at once, with a message, when its endpoint already holds its share; the
other workers keep serving other stores. :class:`ServedStore` applies the gate and the
key cap to every call of one configured store, before the store does any work.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from .deadline import NO_DEADLINE, Deadline
from .errors import BadRequest, StorageUnavailable

if TYPE_CHECKING:
    from .store import Store


class EndpointGate:
    """At most ``limit`` calls in flight per endpoint."""

    def __init__(self, limit: int, explain: str = "") -> None:
        self.limit = max(1, limit)
        self._explain = explain
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def hold(self, places: Iterable[str]) -> Iterator[None]:
        """Count one call against every place in ``places`` while the block runs; raise
        :class:`StorageUnavailable` without waiting when one of them is full."""
        places = sorted(set(places))
        with self._lock:
            for place in places:
                if self._in_flight.get(place, 0) >= self.limit:
                    raise StorageUnavailable(
                        f"{self.limit} calls to {place} are already in flight, the most one endpoint may hold"
                        f"{self._explain}; it is slow or not answering: try again later"
                    )
            for place in places:
                self._in_flight[place] = self._in_flight.get(place, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                for place in places:
                    self._in_flight[place] -= 1
                    if not self._in_flight[place]:
                        del self._in_flight[place]

    def in_flight(self) -> dict[str, int]:
        with self._lock:
            return dict(self._in_flight)


def check_key(key: str, max_bytes: int) -> None:
    """Refuse a key longer than ``max_bytes`` before any work is done with it."""
    size = len(key.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise BadRequest(
            f"the artifact key is {size} bytes; the limit is {max_bytes} (ARGO_ARTIFACT_DRIVER_MAX_KEY_BYTES)"
        )


class ServedStore:
    """One configured store as calls reach it: the key cap, then the endpoint gate, then
    the store's own operation."""

    def __init__(self, store: "Store", gate: EndpointGate, max_key_bytes: int) -> None:
        self.store = store
        self.scheme = store.scheme
        self._gate = gate
        self._places = tuple(store.endpoints()) or (store.describe(),)
        self._max_key_bytes = max_key_bytes

    def describe(self) -> str:
        return self.store.describe()

    def _call(self, key: str, operation: Callable[..., Any], *args: Any) -> Any:
        check_key(key, self._max_key_bytes)
        with self._gate.hold(self._places):
            return operation(*args)

    def load(self, key: str, path: str, deadline: Deadline = NO_DEADLINE) -> int:
        return self._call(key, self.store.load, key, path, deadline)

    def save(self, path: str, key: str, deadline: Deadline = NO_DEADLINE) -> int:
        return self._call(key, self.store.save, path, key, deadline)

    def save_stream(self, key: str, chunks: Iterable[bytes], deadline: Deadline = NO_DEADLINE,
                    before_publish: Callable[[], None] | None = None) -> int:
        return self._call(key, self.store.save_stream, key, chunks, deadline, before_publish)

    def delete(self, key: str) -> int:
        return self._call(key, self.store.delete, key)

    def list_objects(self, key: str) -> list[str]:
        return self._call(key, self.store.list_objects, key)

    def is_directory(self, key: str) -> bool:
        return self._call(key, self.store.is_directory, key)

    def open_stream(self, key: str, deadline: Deadline = NO_DEADLINE) -> Iterator[bytes]:
        """The store's stream, opened now (in the caller's context, which the store's reader
        captures), holding the endpoint until it is closed or runs out."""
        check_key(key, self._max_key_bytes)
        hold = self._gate.hold(self._places)
        hold.__enter__()  # raises at once when the endpoint holds its share
        try:
            chunks = self.store.open_stream(key, deadline)
        except BaseException:
            hold.__exit__(None, None, None)
            raise
        return _HeldStream(chunks, lambda: hold.__exit__(None, None, None))


class _HeldStream:
    """An iterator of chunks that gives its endpoint back when closed (the gRPC edge always
    closes it, also when the client leaves) or exhausted. Not a generator: a generator
    closed before its first chunk would never run its clean-up."""

    def __init__(self, chunks: Iterator[bytes], release: Callable[[], None]) -> None:
        self._chunks = chunks
        self._release = release
        self._closed = False

    def __iter__(self) -> "_HeldStream":
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except BaseException:  # the end, or an error: either way the endpoint is free again
            self.close()
            raise

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            close = getattr(self._chunks, "close", None)
            if close is not None:
                close()
        finally:
            self._release()
