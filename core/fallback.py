"""``scheme: fallback``: a new store in front of an old one, for moving without downtime.

::

    scheme: fallback
    primary:  {scheme: s3, bucket: new-artifacts}
    fallback: {scheme: s3, bucket: old-artifacts, endpoint: minio:9000}
    writeBoth: false

Reads try the primary and go to the fallback only when the primary does not have the key
(not found, or an empty listing); writes go to the primary (and to the fallback too with
``writeBoth``); Delete removes from both. Any other error of the primary (unreachable,
permission denied, a conflict) is reported as it is, never hidden behind an answer from
the fallback: serving an old artifact because the new store is down would be silent
data skew. Every error says which side failed.

This is a :class:`~.composite.Composite`: its two parts are ordinary configurations, built
(and checked against the operator's policy) like any other, so any installed scheme can be
either side (even another fallback).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, TypeVar

from .composite import BuildStore, Composite
from .deadline import NO_DEADLINE, Deadline
from .errors import ArtifactError, NotFound
from .options import Option

if TYPE_CHECKING:
    from .store import Store

T = TypeVar("T")

PRIMARY, FALLBACK = "primary", "fallback"


class FallbackScheme(Composite):
    """The ``fallback`` scheme: options are two nested configurations and ``writeBoth``."""

    option_spec = {
        PRIMARY: Option(dict, required=True, help="configuration of the new store, e.g. {scheme: s3, bucket: new}"),
        FALLBACK: Option(dict, required=True, help="configuration of the old store, read when the primary lacks a key"),
        "writeBoth": Option(bool, default=False, help="also write every artifact to the fallback store"),
    }

    def build_store(self, build: BuildStore) -> "FallbackStore":
        sides = []
        for name in (PRIMARY, FALLBACK):
            where = f"'{name}' of scheme '{self.scheme}'"
            try:
                sides.append(build(self.options[name], where))
            except ArtifactError as exc:
                raise type(exc)(f"{where}: {exc.message}") from None
        return FallbackStore(sides[0], sides[1], write_both=self.options["writeBoth"], scheme=self.scheme)


class FallbackStore:
    """Serves the artifact operations from ``primary``, reading ``fallback`` for keys the
    primary does not have."""

    def __init__(self, primary: "Store", fallback: "Store", *, write_both: bool = False, scheme: str = "fallback") -> None:
        self.primary = primary
        self.fallback = fallback
        self.write_both = write_both
        self.scheme = scheme
        self._primary_root_seen = False

    def describe(self) -> str:
        return f"{self.primary.describe()} with fallback {self.fallback.describe()}"

    def endpoints(self) -> list[str]:
        # a side without servers (a local store) is named by its description
        return [*(self.primary.endpoints() or [self.primary.describe()]),
                *(self.fallback.endpoints() or [self.fallback.describe()])]

    # -- reads: primary, then fallback when the key is not there ---------------------

    def load(self, key: str, path: str, deadline: Deadline = NO_DEADLINE) -> int:
        return self._read(
            key, lambda: self.primary.load(key, path, deadline), lambda: self.fallback.load(key, path, deadline)
        )

    def open_stream(self, key: str, deadline: Deadline = NO_DEADLINE) -> Iterator[bytes]:
        # A stream reports a missing key on its first read: open and read one chunk of
        # the primary before deciding, then pass the rest through. Opened now, not at the
        # first next() (no generator here): the stores' readers take the caller's context
        # (the call's span and logs) when they are opened.
        return self._read(
            key,
            lambda: _opened(PRIMARY, self.primary, key, deadline),
            lambda: _opened(FALLBACK, self.fallback, key, deadline),
        )

    def list_objects(self, key: str) -> list[str]:
        return self._read(key, lambda: self.primary.list_objects(key), lambda: self.fallback.list_objects(key), empty=True)

    def is_directory(self, key: str) -> bool:
        return self._read(key, lambda: self.primary.is_directory(key), lambda: self.fallback.is_directory(key), empty=True)

    def check_root(self) -> None:
        self.primary.check_root()

    # -- writes: primary (and fallback with writeBoth); delete: both -----------------

    def save(self, path: str, key: str, deadline: Deadline = NO_DEADLINE) -> int:
        written = _write(PRIMARY, self.primary.save, path, key, deadline)
        if self.write_both:
            self._copy_to_fallback(key, lambda: self.fallback.save(path, key, deadline))
        return written

    def save_stream(
        self,
        key: str,
        chunks: Iterable[bytes],
        deadline: Deadline = NO_DEADLINE,
        before_publish: Callable[[], None] | None = None,
    ) -> int:
        written = _write(PRIMARY, self.primary.save_stream, key, chunks, deadline, before_publish)
        if self.write_both:
            # The stream can be read once: copy what the primary now holds, streamed.
            self._copy_to_fallback(
                key, lambda: self.fallback.save_stream(key, self.primary.open_stream(key, deadline), deadline)
            )
        return written

    def delete(self, key: str) -> int:
        removed, errors = 0, []
        for side, store in ((PRIMARY, self.primary), (FALLBACK, self.fallback)):
            try:
                removed += store.delete(key)
            except ArtifactError as exc:
                errors.append(_label(side, exc))
        if errors:
            raise errors[0]
        return removed

    # -- helpers ---------------------------------------------------------------------

    def _read(self, key: str, primary: Callable[[], T], fallback: Callable[[], T], *, empty: bool = False) -> T:
        """``primary()``, or ``fallback()`` when the primary has no such key (NotFound, or
        with ``empty`` a false answer: no objects listed, not a directory)."""
        try:
            result = _on(PRIMARY, primary)
            if not (empty and not result):
                return result
        except _Missing:
            pass
        self._check_primary_root()
        try:
            return _on(FALLBACK, fallback)
        except _Missing as missing:
            raise NotFound(
                f"key '{key}' was not found in the primary store ({self.primary.describe()}) "
                f"nor in the fallback store ({self.fallback.describe()})"
            ) from missing.error

    def _check_primary_root(self) -> None:
        """A primary whose bucket is missing lacks every key: that is a misconfiguration
        to report, not a reason to serve everything from the fallback. Checked on the first
        miss, then remembered (this store lives as long as its configuration is cached)."""
        if not self._primary_root_seen:
            _on(PRIMARY, self.primary.check_root)
            self._primary_root_seen = True

    def _copy_to_fallback(self, key: str, write: Callable[[], int]) -> None:
        try:
            write()
        except ArtifactError as exc:
            raise type(exc)(
                f"key '{key}' was saved to the primary store, but writing it to the fallback store "
                f"(writeBoth) failed: {exc.message}"
            ) from None


class _Missing(Exception):
    """The key is not in one side: the only failure that lets a read go to the fallback."""

    def __init__(self, error: NotFound) -> None:
        super().__init__(error.message)
        self.error = error


def _label(side: str, exc: ArtifactError) -> ArtifactError:
    return type(exc)(f"{side} store: {exc.message}")


def _on(side: str, action: Callable[..., T], *args: object) -> T:
    """Run one side's read: NotFound becomes :class:`_Missing` (the caller may try the
    other side), any other error is re-raised naming the side."""
    try:
        return action(*args)
    except NotFound as exc:
        raise _Missing(exc) from None
    except ArtifactError as exc:
        raise _label(side, exc) from None


def _write(side: str, action: Callable[..., T], *args: object) -> T:
    """Run one side's write; every error is re-raised naming the side."""
    try:
        return action(*args)
    except ArtifactError as exc:
        raise _label(side, exc) from None


def _opened(side: str, store: "Store", key: str, deadline: Deadline) -> Iterator[bytes]:
    """``store.open_stream(key)`` with its first chunk already read (so a missing key
    raises here, not in the middle of the caller's stream)."""
    chunks = store.open_stream(key, deadline)
    try:
        first = next(chunks, None)
    except BaseException:
        chunks.close()
        raise
    return _labelled(side, first, chunks)


def _labelled(side: str, first: bytes | None, chunks: Iterator[bytes]) -> Iterator[bytes]:
    """``first`` and the rest of a stream; a later error names the side."""
    with contextlib.closing(chunks):  # type: ignore[type-var]
        if first is None:
            return
        yield first
        try:
            yield from chunks
        except ArtifactError as exc:
            raise _label(side, exc) from None
