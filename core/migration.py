"""Copying every object under a prefix from one store to another: streamed, verified,
idempotent, resumable, shardable.

Per object, with a bounded number of worker threads:

* absent at the destination, or of another size: copy it, streaming the source's
  ``open_stream`` into the destination's atomic ``save_stream`` (no whole object in
  memory, no temporary copy; a copy cut short publishes nothing), hashing the bytes as
  they pass; then re-read the destination and compare its SHA-256 with them;
* present with the same size: compare the SHA-256 of both sides, streamed; equal means
  already migrated (skipped), different means copy.

Why SHA-256 of both sides rather than store checksums: the checksums stores keep are
not comparable across stores (S3's ETag is an MD5 only for single-part uploads, GCS keeps
MD5/CRC32C, Azure keeps an MD5 only when the uploader sent one, a file system none), so
the one check that means "same bytes" on every pair of stores is to read both. Reads are
cheaper than writes everywhere, and a resumed run re-reads only what is already there.

The source is never written or deleted. ``Shard(i, n)`` keeps the keys whose SHA-256
falls in slot ``i`` of ``n``: stable across machines and runs, so ``n`` workers split a
bucket without talking to each other.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from .errors import BadRequest, translate
from .store import ArtifactStore

log = logging.getLogger("argo_artifact_driver")

COPIED, SKIPPED, FAILED = "copied", "skipped", "failed"


@dataclass(frozen=True)
class Shard:
    """Slot ``index`` of ``count`` (0-based) of the key space."""

    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> "Shard":
        """``"I/N"`` with ``0 <= I < N``; raises BadRequest otherwise."""
        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise BadRequest(f"--shard must look like I/N (for example 0/4), got {text!r}") from None
        if count < 1 or not 0 <= index < count:
            raise BadRequest(f"--shard {text}: need N >= 1 and 0 <= I < N (shards are numbered from 0)")
        return cls(index, count)

    def owns(self, key: str) -> bool:
        digest = hashlib.sha256(key.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass(frozen=True)
class Item:
    """One source object and what the destination has at its key."""

    key: str
    size: int
    dest_size: int | None  # None: absent at the destination
    problem: str = ""  # why it cannot be copied at all (its name), reported as a failure

    @property
    def planned(self) -> str:
        """What a dry run says: ``copy``, ``compare`` (same size: decided by checksum) or
        ``cannot``."""
        if self.problem:
            return "cannot"
        return "compare" if self.size == self.dest_size else "copy"


@dataclass(frozen=True)
class Outcome:
    item: Item
    action: str  # COPIED, SKIPPED or FAILED
    bytes: int = 0
    reason: str = ""


@dataclass
class Summary:
    listed: int = 0
    listed_bytes: int = 0
    copied: int = 0
    copied_bytes: int = 0
    skipped: int = 0
    skipped_bytes: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        if outcome.action == COPIED:
            self.copied += 1
            self.copied_bytes += outcome.bytes
        elif outcome.action == SKIPPED:
            self.skipped += 1
            self.skipped_bytes += outcome.bytes
        else:
            self.failed.append((outcome.item.key, outcome.reason))

    @property
    def done(self) -> int:
        return self.copied + self.skipped + len(self.failed)

    def as_dict(self) -> dict:
        return {
            "listed": self.listed, "listed_bytes": self.listed_bytes,
            "copied": self.copied, "copied_bytes": self.copied_bytes,
            "skipped": self.skipped, "skipped_bytes": self.skipped_bytes,
            "failed": [{"key": k, "reason": r} for k, r in self.failed],
        }


class Migration:
    """Copy the objects under ``prefix`` in ``shard`` from ``source`` to ``dest``."""

    def __init__(
        self, source: ArtifactStore, dest: ArtifactStore, *, prefix: str = "", shard: Shard = Shard(), workers: int = 8
    ) -> None:
        if workers < 1:
            raise BadRequest(f"--workers must be at least 1, got {workers}")
        self.source = source
        self.dest = dest
        self.prefix = prefix
        self.shard = shard
        self.workers = workers

    def plan(self) -> list[Item]:
        """The source objects of this shard, sorted by key, with the destination's sizes
        (two recursive listings; no object is read). Objects whose names no artifact key
        can address are planned too, so that they are reported, never silently left."""
        present = self.dest.inventory(self.prefix).sizes
        source = self.source.inventory(self.prefix)
        items = [Item(key, size, present.get(key)) for key, size in source.sizes.items()]
        items += [Item(name, 0, None, f"not copied: {why}") for name, why in source.unaddressable.items()]
        return sorted((item for item in items if self.shard.owns(item.key)), key=lambda item: item.key)

    def run(self, items: Iterable[Item], on_outcome: Callable[[Outcome], None] = lambda o: None) -> Summary:
        """Migrate ``items`` with at most ``workers`` at once; ``on_outcome`` is called in
        the calling thread as each finishes. One failure never stops the others."""
        summary = Summary()
        items = list(items)
        summary.listed = len(items)
        summary.listed_bytes = sum(item.size for item in items)

        def record(done: Iterable[Future]) -> None:
            for future in done:
                outcome = future.result()
                summary.add(outcome)
                on_outcome(outcome)

        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="migrate") as pool:
            pending: set[Future] = set()
            for item in items:
                # A bounded window of submitted work: memory stays flat for huge listings.
                if len(pending) >= 2 * self.workers:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    record(done)
                pending.add(pool.submit(self.migrate_one, item))
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                record(done)
        return summary

    def migrate_one(self, item: Item) -> Outcome:
        """Copy one object unless the destination already holds the same bytes."""
        if item.problem:
            return Outcome(item, FAILED, reason=item.problem)
        try:
            if item.dest_size == item.size and self._digest(self.source, item.key) == self._digest(self.dest, item.key):
                return Outcome(item, SKIPPED, item.size)
            copied, digest = self._copy(item.key)
            if self._digest(self.dest, item.key) != digest:
                return Outcome(item, FAILED, reason="verification failed: the destination's bytes differ from the source's after the copy")
            return Outcome(item, COPIED, copied)
        except Exception as exc:  # reported per object, with the store's own message
            error = translate(exc, f"key '{item.key}'")
            if error is None:  # not a storage error: a bug, shown with its traceback
                log.error("internal error migrating key '%s'", item.key, exc_info=exc)
                return Outcome(item, FAILED, reason=f"internal error ({type(exc).__name__}: {exc}); see the log")
            return Outcome(item, FAILED, reason=error.message)

    def _copy(self, key: str) -> tuple[int, bytes]:
        hasher = hashlib.sha256()

        def hashed(chunks: Iterator[bytes]) -> Iterator[bytes]:
            for chunk in chunks:
                hasher.update(chunk)
                yield chunk

        with contextlib.closing(self.source.open_stream(key)) as chunks:  # released even if the write fails
            written = self.dest.save_stream(key, hashed(chunks))
        return written, hasher.digest()

    @staticmethod
    def _digest(store: ArtifactStore, key: str) -> bytes:
        hasher = hashlib.sha256()
        for chunk in store.open_stream(key):
            hasher.update(chunk)
        return hasher.digest()
