"""Copying every object under a prefix from one store to another: streamed, verified by the
checksums the stores compute, resumable, shardable, in constant memory.

The two stores are listed in key order and the listings merged entry by entry
(:func:`~.listing.merge_sorted`), so memory holds a few pages of listing and a bounded
window of objects in flight, whatever the number of objects. Per source object:

* **present at the destination with the same size and a checksum in common** (both list
  an MD5, say) — equal: already migrated, skipped on the listing alone; different:
  copied. Size alone never decides.
* **present, same size, nothing in common** — read the side whose checksum we can
  compute from the other's bytes (an S3 ETag from a file's bytes), or both sides when
  neither keeps one, and compare. Copied only if different.
* **absent, or another size** — copied:

  - inside the store when both sides are the same endpoint or account
    (:meth:`~.backend.Backend.copy_from`: S3 CopyObject, GCS rewrite, Azure copy from
    URL), so no byte passes through this process;
  - otherwise read from the source and written to the destination: a small object (up
    to the write block size) in one request each way, a large one streamed into an
    upload that publishes nothing if it stops short; hashing the bytes as they pass.

  A copy counts only once **verified**: the checksum the destination answered with (S3's
  ETag or ``ChecksumSHA256``, GCS's ``md5Hash``, Azure's ``Content-MD5``), computed by
  the store from what it received, equals the one of the bytes read from the source —
  which must in turn match the source's own listed checksum, or the source changed
  while it was read and nothing is published. Only a destination that keeps no usable
  checksum (a file system) is read back.

The source is never written or deleted; a copy whose verification fails is removed
from the destination (it is ours, and a fallback then still serves the source's).
``stop()`` stops listing and lets objects in flight finish; ``stop(abandon=True)`` makes
them stop moving data, publish nothing, and clean up (a write in progress on a file system
removes its temporary file, an S3 multipart upload is aborted).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable, Iterator

from . import shards
from .checksums import SHA256, ContentHasher, compare, computable
from .deadline import Deadline
from .errors import ArtifactError, BadConfiguration, BadRequest, Cancelled, Conflict, translate
from .listing import EVERYTHING, KeyRange, Listed, merge_sorted
from .shards import Name
from .store import ArtifactStore
from .transfer import read_ahead

log = logging.getLogger("argo_artifact_driver")

COPIED, SKIPPED, FAILED, ABANDONED = "copied", "skipped", "failed", "abandoned"
#: What the listings alone decide for an object (see :func:`decide`).
COPY, SKIP, COMPARE, CANNOT = "copy", "skip", "compare", "cannot"
#: Listing entries read ahead of the merge, per store: the two listings (and the copies)
#: overlap, in bounded memory.
LISTING_READ_AHEAD = 2000


@dataclass(frozen=True)
class Outcome:
    item: Listed
    action: str  # COPIED, SKIPPED, FAILED or ABANDONED
    bytes: int = 0
    reason: str = ""
    #: How a copy was verified, or how an object was found already migrated.
    method: str = ""


@dataclass
class Summary:
    listed: int = 0
    listed_bytes: int = 0
    copied: int = 0
    copied_bytes: int = 0
    skipped: int = 0
    skipped_bytes: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)
    #: Copies by how they were verified; skips by how they were found identical.
    verified_by: Counter = field(default_factory=Counter)
    skipped_by: Counter = field(default_factory=Counter)
    #: Why the run was stopped (stop(): a signal), "" when it ran to the end.
    stopped: str = ""
    #: Why a listing failed part-way ("" when none did).
    error: str = ""

    def add(self, outcome: Outcome) -> None:
        if outcome.action == COPIED:
            self.copied += 1
            self.copied_bytes += outcome.bytes
            self.verified_by[outcome.method] += 1
        elif outcome.action == SKIPPED:
            self.skipped += 1
            self.skipped_bytes += outcome.bytes
            self.skipped_by[outcome.method] += 1
        elif outcome.action == ABANDONED:
            self.abandoned.append(outcome.item.key)
        else:
            self.failed.append((outcome.item.key, outcome.reason))

    @property
    def done(self) -> int:
        return self.copied + self.skipped + len(self.failed) + len(self.abandoned)

    def as_dict(self) -> dict:
        return {
            "listed": self.listed, "listed_bytes": self.listed_bytes,
            "copied": self.copied, "copied_bytes": self.copied_bytes,
            "skipped": self.skipped, "skipped_bytes": self.skipped_bytes,
            "failed": [{"key": k, "reason": r} for k, r in self.failed],
            "abandoned": list(self.abandoned),
            "verified_by": dict(self.verified_by), "skipped_by": dict(self.skipped_by),
            "stopped": self.stopped, "error": self.error,
        }


def decide(src: Listed, dst: Listed | None) -> tuple[str, str]:
    """What the two listings alone say about ``src``: (COPY|SKIP|COMPARE|CANNOT, why)."""
    if src.problem:
        return CANNOT, src.problem
    if dst is None:
        return COPY, "absent at the destination"
    if dst.size != src.size:
        return COPY, f"the destination has {dst.size} bytes"
    same, algorithm = compare(src.checksums, dst.checksums)
    if same:
        return SKIP, f"listing: {algorithm}"
    if same is False:
        return COPY, f"same size, different {algorithm}"
    return COMPARE, "same size, no checksum in common: read to compare"


class SourceChanged(Conflict):
    """The bytes read are not what the source holds: it changed, or the read went wrong."""


class Migration:
    """Copy the objects under ``prefix`` whose keys are in ``keys`` from ``source`` to ``dest``."""

    def __init__(
        self, source: ArtifactStore, dest: ArtifactStore, *, prefix: str = "", keys: KeyRange = EVERYTHING,
        workers: int = 8, server_side: bool = True, walk: bool = False,
    ) -> None:
        if workers < 1:
            raise BadRequest(f"--workers must be at least 1, got {workers}")
        self.source = source
        self.dest = dest
        self.prefix = prefix
        self.keys = keys
        self.workers = workers
        #: List both stores one directory at a time, sorted here (see ArtifactStore.list_sorted).
        self.walk = walk
        self.server_side = server_side and dest.can_copy_from(source)
        #: Objects up to this size are read whole and written in one request.
        self.small = dest.settings.write_block_size
        self._part_size = dest.backend.upload_part_size()
        self._stopping = threading.Event()
        self._abandoning = threading.Event()
        self._stop_reason = ""
        self.deadline = Deadline(cancelled=self._abandoning.is_set)

    def check(self) -> None:
        """Refuse what cannot be migrated: a store onto itself (or into itself), a source
        root or a destination bucket that does not exist. One-line errors."""
        if self.source.overlaps(self.dest):
            raise BadConfiguration(
                f"--from and --to are the same store, or one lies inside the other ({self.source.describe()}, "
                f"{self.dest.describe()}): migrate copies between two different stores"
            )
        try:
            self.source.check_root(must_exist=True)
        except BadConfiguration as exc:
            raise BadConfiguration(f"--from: {exc.message}") from None
        try:
            self.dest.check_root()
        except BadConfiguration as exc:
            raise BadConfiguration(f"--to: {exc.message}") from None

    def pairs(self) -> Iterator[tuple[Listed, Listed | None]]:
        """Each source object of the range with the destination's object of the same key,
        both listings read ahead in their own threads."""
        source = read_ahead(self.source.list_sorted(self.prefix, self.keys, self.walk), LISTING_READ_AHEAD)
        dest = read_ahead(self.dest.list_sorted(self.prefix, self.keys, self.walk), LISTING_READ_AHEAD)
        with contextlib.closing(source), contextlib.closing(dest):
            yield from merge_sorted(source, dest)

    def plan(self, count: int) -> list[str]:
        """The boundaries of ``count`` shards of the source's keys under the prefix."""
        def children(key: str) -> list[Name]:
            return [Name(name, directory) for name, directory in self.source.names_below(key)]

        return shards.plan(children, self.prefix, count)

    def stop(self, reason: str, abandon: bool = False) -> None:
        """Stop listing (thread-safe, callable from a signal handler); with ``abandon``,
        objects in flight stop too, publishing nothing."""
        self._stop_reason = self._stop_reason or reason
        self._stopping.set()
        if abandon:
            self._abandoning.set()

    def run(self, on_outcome: Callable[[Outcome], None] = lambda o: None) -> Summary:
        """Migrate every object of the range, at most ``workers`` at once; ``on_outcome``
        runs in the calling thread as each finishes. One failure never stops the others;
        a listing that fails part-way ends the run (``summary.error``) once the objects in
        flight are done."""
        summary = Summary()

        def record(outcome: Outcome) -> None:
            summary.add(outcome)
            on_outcome(outcome)

        def collect(futures: set[Future], block: bool) -> set[Future]:
            done, rest = wait(futures, timeout=0.5 if block else 0, return_when=FIRST_COMPLETED)
            for future in done:
                record(future.result())
            return rest

        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="migrate") as pool, \
                contextlib.closing(self.pairs()) as pairs:
            pending: set[Future] = set()
            try:
                for src, dst in pairs:
                    action, why = decide(src, dst)
                    if action in (COPY, COMPARE):  # work for a worker: wait for room in the window
                        while len(pending) >= 2 * self.workers and not self._stopping.is_set():
                            pending = collect(pending, block=True)
                    if self._stopping.is_set():
                        break
                    summary.listed += 1
                    summary.listed_bytes += src.size
                    if action == SKIP:
                        record(Outcome(src, SKIPPED, src.size, method=why))
                    elif action == CANNOT:
                        record(Outcome(src, FAILED, reason=f"not copied: {why}"))
                    else:
                        pending.add(pool.submit(self.migrate_one, src, dst if action == COMPARE else None))
                    pending = collect(pending, block=False)
            except Exception as exc:  # the listing failed part-way: finish what is in flight
                error = translate(exc, "the listing")
                if error is None:  # a bug, shown with its traceback
                    log.error("internal error listing the stores", exc_info=exc)
                    error = ArtifactError(f"internal error ({type(exc).__name__}: {exc}); see the log")
                summary.error = error.message
            finally:
                while pending:
                    pending = collect(pending, block=True)
                summary.stopped = self._stop_reason  # set by stop(), during the listing or after it
        return summary

    def migrate_one(self, src: Listed, dst: Listed | None = None) -> Outcome:
        """Copy one object, unless ``dst`` (same size, listed) is found to hold the same bytes."""
        try:
            if self._abandoning.is_set():
                return Outcome(src, ABANDONED)
            if dst is not None:
                same, method = self._compare(src, dst)
                if same:
                    return Outcome(src, SKIPPED, src.size, method=method)
            if self.server_side:
                return self._copy_in_store(src)
            return self._copy(src)
        except Cancelled:
            return Outcome(src, ABANDONED)
        except Exception as exc:  # reported per object, with the store's own message
            error = translate(exc, f"key '{src.key}'")
            if error is None:  # not a storage error: a bug, shown with its traceback
                log.error("internal error migrating key '%s'", src.key, exc_info=exc)
                return Outcome(src, FAILED, reason=f"internal error ({type(exc).__name__}: {exc}); see the log")
            return Outcome(src, FAILED, reason=error.message)

    # -- one object ----------------------------------------------------------------------

    def _copy(self, src: Listed) -> Outcome:
        """Through this process: read, hash, write; then verify."""
        hasher = ContentHasher(self._part_size)
        if src.size <= self.small:
            data = self.source.read_bytes(src.key, src.size)
            hasher.update(data)
            self._check_source(src, hasher)
            self.deadline.check(f"copying key '{src.key}'")
            written = self.dest.put_bytes(src.key, data)
        else:
            def hashed(chunks: Iterator[bytes]) -> Iterator[bytes]:
                for chunk in chunks:
                    hasher.update(chunk)
                    yield chunk

            with contextlib.closing(self.source.open_stream(src.key, self.deadline)) as chunks:
                self.dest.save_stream(src.key, hashed(chunks), self.deadline,
                                      before_publish=lambda: self._check_source(src, hasher))
            written = self.dest.stat(src.key)
            if self.dest.backend.writer_records_checksum:
                written = Listed(written.key, written.size)  # our own record proves nothing: read back
        return self._verify(src, written, hasher.checksums())

    def _copy_in_store(self, src: Listed) -> Outcome:
        """Inside the store; verified by the copy's checksum against the source's listing."""
        written = self.dest.copy_from(self.source, src)
        same, algorithm = compare(written.checksums, src.checksums)
        if same and written.size == src.size:
            return Outcome(src, COPIED, src.size, method=f"server-side copy, source {algorithm} = destination {algorithm}")
        if same is None and written.size == src.size:
            ours, theirs = self._digest(self.source, src.key), self._digest(self.dest, src.key)
            if ours[SHA256] == theirs[SHA256]:
                return Outcome(src, COPIED, src.size, method="server-side copy, both read back (sha256)")
            algorithm = SHA256
        return self._discard(src, f"the store's copy has another {algorithm or 'size'} than the source object")

    def _verify(self, src: Listed, written: Listed, computed: dict[str, str]) -> Outcome:
        """A copy counts once the destination's checksum of what it received matches the
        bytes read; a destination that keeps none is read back."""
        same, algorithm = compare(written.checksums, computed)
        if same:
            return Outcome(src, COPIED, src.size, method=f"destination {algorithm}")
        if same is None:
            if self._digest(self.dest, src.key)[SHA256] == computed[SHA256]:
                return Outcome(src, COPIED, src.size, method="read back (sha256)")
            return self._discard(src, "the destination's sha256 of the new object differs from the bytes read")
        # The answer may describe another write of the same key that raced ours: ask again.
        now = self.dest.stat(src.key)
        if compare(now.checksums, computed)[0]:
            return Outcome(src, COPIED, src.size, method=f"destination {algorithm}")
        why = f"the destination's {algorithm} of the new object differs from the bytes read"
        if compare(now.checksums, written.checksums)[0]:  # still what our write made: ours, and wrong
            return self._discard(src, why)
        return Outcome(src, FAILED, reason=f"verification failed: {why}, and the key has been written again "
                                           "since (by someone else?): left as it is, run migrate again")

    def _discard(self, src: Listed, why: str) -> Outcome:
        """Remove a copy that failed verification: it is ours, and wrong."""
        try:
            self.dest.delete(src.key)
            what = "removed it"
        except ArtifactError as exc:
            what = f"could not remove it ({exc.message})"
        return Outcome(src, FAILED, reason=f"verification failed: {why}; {what}, run migrate again")

    def _check_source(self, src: Listed, hasher: ContentHasher) -> None:
        """Raise SourceChanged (before anything is published) when the bytes read are not
        what the source listed."""
        if hasher.size != src.size:
            raise SourceChanged(f"key '{src.key}' changed at the source while it was copied ({src.size} bytes "
                                f"listed, {hasher.size} read): nothing was written, run migrate again")
        computed = hasher.checksums()
        same, algorithm = compare(src.checksums, computed)
        if same is False and compare(self.source.stat(src.key).checksums, computed)[0] is False:
            # (asked again: a listing can show an S3 ETag that the object's own headers say
            # is no MD5, under SSE-KMS; then nothing contradicts the bytes read)
            raise SourceChanged(f"the bytes read of key '{src.key}' do not match the source's {algorithm} (listed, "
                                "and asked again): nothing was written, run migrate again")

    def _compare(self, src: Listed, dst: Listed) -> tuple[bool, str]:
        """Read the side whose bytes give a checksum the other side keeps; both when
        neither keeps one. Never writes."""
        # A comparison that settles nothing (an S3 multipart ETag of parts of another size:
        # ``None``) is not a difference: go on to the next way, or the copy is made again
        # on every run.
        source_digest = None
        if computable(dst.checksums, self._part_size):
            source_digest = self._digest(self.source, src.key, self._part_size)
            same, algorithm = compare(source_digest, dst.checksums)
            if same is not None:
                return same, f"source read: {algorithm}"
        if computable(src.checksums, None):
            same, algorithm = compare(self._digest(self.dest, dst.key), src.checksums)
            if same is not None:
                return same, f"destination read: {algorithm}"
        source_sha256 = (source_digest or self._digest(self.source, src.key))[SHA256]
        return source_sha256 == self._digest(self.dest, dst.key)[SHA256], "both read: sha256"

    def _digest(self, store: ArtifactStore, key: str, part_size: int | None = None) -> dict[str, str]:
        hasher = ContentHasher(part_size)
        with contextlib.closing(store.open_stream(key, self.deadline)) as chunks:
            for chunk in chunks:
                hasher.update(chunk)
        return hasher.checksums()

