"""``argo-artifacts migrate``: the command-line face of :mod:`..core.migrate`.

Progress goes to stderr: one redrawn bar on a terminal, a plain line every few seconds
otherwise (pod logs); the summary goes to stdout (``--json`` for one JSON object).
Exit status: 0 when every object is at the destination and verified, 1 when any failed,
2 when the run could not start (bad configuration, unreachable store).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, TextIO

from ...core.errors import ArtifactError, BadConfiguration
from ...core.migration import FAILED, Item, Migration, Outcome, Shard, Summary
from ...core.store import ArtifactStore
from ...core.stores import StoreCache
from ...core.units import MiB
from .inputs import read_text


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "migrate",
        help="copy every object under a prefix from one store to another, verified and resumable",
        description="Copy every object under --prefix from the --from store to the --to store. Objects "
        "already at the destination with the same size and SHA-256 are skipped, so the command can be "
        "re-run after an interruption. Every copy is verified by re-reading it. Nothing is deleted.",
    )
    parser.add_argument("--from", dest="source", required=True, metavar="CONFIG",
                        help="plugin configuration of the source store: YAML text or @FILE")
    parser.add_argument("--to", dest="dest", required=True, metavar="CONFIG",
                        help="plugin configuration of the destination store: YAML text or @FILE")
    parser.add_argument("--prefix", default="", help="copy only this key and the keys below PREFIX/ (default: all)")
    parser.add_argument("--workers", type=int, default=8, help="objects copied at once (default 8)")
    parser.add_argument("--dry-run", action="store_true", help="list what would be copied, copy nothing")
    parser.add_argument("--shard", default="0/1", metavar="I/N",
                        help="handle only shard I of N (0 <= I < N), split by a hash of the key")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")


def run(args: argparse.Namespace) -> int:
    """Run the parsed ``migrate`` command; return the exit status."""
    stores = StoreCache()
    try:
        migration = Migration(
            _store(stores, read_text(args.source), "--from"), _store(stores, read_text(args.dest), "--to"),
            prefix=args.prefix, shard=Shard.parse(args.shard), workers=args.workers,
        )
        items = migration.plan()
    except (ArtifactError, OSError) as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return 2
    where = f"{migration.source.describe()} -> {migration.dest.describe()}, prefix '{args.prefix}', shard {migration.shard}"
    if args.dry_run:
        return _dry_run(items, where, args.json)
    started = time.monotonic()
    progress = Progress(len(items), sum(item.size for item in items), sys.stderr)
    summary = migration.run(items, progress.update)
    progress.finish()
    _print_summary(summary, where, time.monotonic() - started, args.json)
    return 1 if summary.failed else 0


def _store(stores: StoreCache, text: str, flag: str) -> ArtifactStore:
    try:
        store = stores.build(stores.parse(text))
    except ArtifactError as exc:
        raise type(exc)(f"{flag}: {exc.message}") from None
    if not isinstance(store, ArtifactStore):
        raise BadConfiguration(
            f"{flag}: scheme '{store.scheme}' is composed of other stores; migrate copies between plain "
            "stores, so give the configuration of one of its parts"
        )
    return store


def _dry_run(items: list[Item], where: str, as_json: bool) -> int:
    to_copy = [item for item in items if item.planned == "copy"]
    to_compare = [item for item in items if item.planned == "compare"]
    cannot = [item for item in items if item.planned == "cannot"]
    if as_json:
        json.dump({"copy": [i.key for i in to_copy], "compare": [i.key for i in to_compare],
                   "cannot": [{"key": i.key, "reason": i.problem} for i in cannot]}, sys.stdout)
        print()
        return 0
    for item in items:
        if item.problem:
            print(f"{item.planned:7} {item.key} ({item.problem})")
            continue
        state = "absent at destination" if item.dest_size is None else (
            "same size at destination; copied only if the checksums differ" if item.planned == "compare"
            else f"destination has {item.dest_size} bytes")
        print(f"{item.planned:7} {item.key} ({item.size} bytes; {state})")
    print(f"dry run, {where}: {len(items)} objects; would copy {len(to_copy)} "
          f"({_size(sum(i.size for i in to_copy))}); {len(to_compare)} present with the same size "
          "would be compared by SHA-256 and copied only if different"
          + (f"; {len(cannot)} cannot be copied (see above)" if cannot else ""))
    return 0


def _print_summary(summary: Summary, where: str, seconds: float, as_json: bool) -> None:
    if as_json:
        json.dump({**summary.as_dict(), "seconds": round(seconds, 3)}, sys.stdout)
        print()
        return
    rate = summary.copied_bytes / seconds / MiB if seconds > 0 else 0.0
    print(f"migrated {where} in {seconds:.1f} s: {summary.listed} objects ({_size(summary.listed_bytes)}); "
          f"copied and verified {summary.copied} ({_size(summary.copied_bytes)}, {rate:.1f} MiB/s); "
          f"skipped {summary.skipped} already identical ({_size(summary.skipped_bytes)}); failed {len(summary.failed)}")
    for key, reason in summary.failed:
        print(f"  failed {key}: {reason}")


def _size(n: int) -> str:
    return f"{n / MiB:.1f} MiB" if n >= MiB else f"{n} bytes"


class Progress:
    """A bar redrawn in place on a terminal; elsewhere a plain line every ``interval`` s.
    Failures are printed as they happen either way."""

    def __init__(self, total: int, total_bytes: int, out: TextIO, interval: float = 5.0) -> None:
        self.total = total
        self.total_bytes = total_bytes
        self.out = out
        self.tty = out.isatty()
        self.interval = 0.1 if self.tty else interval
        self.summary = Summary()
        self.started = self.last = time.monotonic()

    def update(self, outcome: Outcome) -> None:
        self.summary.add(outcome)
        if outcome.action == FAILED:
            self._clear()
            print(f"failed {outcome.item.key}: {outcome.reason}", file=self.out, flush=True)
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self._draw()

    def finish(self) -> None:
        self._draw()
        if self.tty:
            print(file=self.out, flush=True)

    def _draw(self) -> None:
        s = self.summary
        moved = s.copied_bytes + s.skipped_bytes
        fraction = moved / self.total_bytes if self.total_bytes else (s.done / self.total if self.total else 1.0)
        rate = s.copied_bytes / max(time.monotonic() - self.started, 1e-6) / MiB
        text = (f"{s.done}/{self.total} objects, {_size(moved)}/{_size(self.total_bytes)}, "
                f"copied {s.copied}, skipped {s.skipped}, failed {len(s.failed)}, {rate:.1f} MiB/s")
        if self.tty:
            filled = int(fraction * 30)
            self.out.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {fraction:6.1%} {text}\x1b[K")
            self.out.flush()
        else:
            print(f"progress: {text}", file=self.out, flush=True)

    def _clear(self) -> None:
        if self.tty:
            self.out.write("\r\x1b[K")
