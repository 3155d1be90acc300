"""``argo-artifacts migrate``: the command-line face of :mod:`...core.migration`.

Progress goes to stderr: one redrawn line on a terminal, a plain line every few seconds
otherwise (pod logs); the summary goes to stdout (``--json`` for one JSON object).
Exit status: 0 when every object is at the destination and verified, 1 when any failed
(or a listing failed part-way), 2 when the run could not start (bad configuration,
unreachable or missing store), 143 after SIGTERM and 130 after Ctrl-C (SIGINT): objects in
flight are finished (or abandoned after ``--grace`` seconds, or at a second signal,
publishing nothing), the summary is printed, and a new run continues where this one
stopped.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from typing import Any, TextIO

from ...core.errors import ArtifactError, BadConfiguration
from ...core.listing import EVERYTHING, KeyRange
from ...core.migration import CANNOT, COMPARE, COPY, FAILED, Migration, Outcome, Summary, decide
from ...core.shards import Shard, parse_boundaries, ranges
from ...core.store import ArtifactStore
from ...core.stores import StoreCache
from ...core.units import MiB
from . import USAGE, ToolError, add_json_argument, print_json
from .inputs import read_text

#: Exit status after a signal, as a shell reports a process it killed: 128 + the number.
SIGNAL_EXIT = {signal.SIGTERM: 128 + signal.SIGTERM, signal.SIGINT: 128 + signal.SIGINT}


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "migrate",
        help="copy every object under a prefix from one store to another, verified and resumable",
        description="Copy every object under --prefix from the --from store to the --to store. Each copy is "
        "verified by the checksum the destination computed from what it received (read back only where it "
        "keeps none). Objects already at the destination with the same size and checksum are skipped, so the "
        "command can be re-run after an interruption. Nothing is deleted from the source.",
    )
    parser.add_argument("--from", dest="source", required=True, metavar="CONFIG",
                        help="plugin configuration of the source store: YAML text or @FILE")
    parser.add_argument("--to", dest="dest", required=True, metavar="CONFIG",
                        help="plugin configuration of the destination store: YAML text or @FILE")
    parser.add_argument("--prefix", default="", help="copy only this key and the keys below PREFIX/ (default: all)")
    parser.add_argument("--workers", type=int, default=8, help="objects copied at once (default 8)")
    parser.add_argument("--dry-run", action="store_true", help="list what would be copied, copy nothing")
    parser.add_argument("--shard", default="0/1", metavar="I/N",
                        help="handle only shard I of N (0 <= I < N): a key range; lists only that range")
    parser.add_argument("--boundaries", metavar="JSON",
                        help="the shard plan printed by --plan N (every shard of one migration must use the same); "
                        "default: planned here from the source's prefixes")
    parser.add_argument("--plan", type=int, metavar="N", help="print a plan of N shards as JSON (for --boundaries) and exit")
    parser.add_argument("--no-server-side", dest="server_side", action="store_false",
                        help="copy through this process even when both stores are the same endpoint or account")
    parser.add_argument("--walk", action="store_true",
                        help="list both stores one directory at a time, each sorted here: for S3-compatible "
                        "servers whose listing is not in key order (one request per directory)")
    parser.add_argument("--grace", type=float, default=20.0, metavar="SECONDS",
                        help="after SIGTERM or Ctrl-C, time objects in flight get to finish before they are "
                        "abandoned (default 20; Kubernetes kills 30 s after SIGTERM)")
    add_json_argument(parser, "the summary (with --dry-run, each object, then the counts)")


def run(args: argparse.Namespace) -> int:
    """Run the parsed ``migrate`` command; return the exit status."""
    with _Signals(args.grace) as signals:
        try:
            return _run(args, signals)
        except _Interrupted as exc:
            print(f"argo-artifacts migrate: stopped by {signal.Signals(exc.signum).name} before copying started; "
                  "nothing was copied", file=sys.stderr)
            return SIGNAL_EXIT[exc.signum]


def _run(args: argparse.Namespace, signals: "_Signals") -> int:
    stores = StoreCache()
    try:
        shard = Shard.parse(args.shard)
        migration = Migration(_store(stores, read_text(args.source), "--from"),
                              _store(stores, read_text(args.dest), "--to"),
                              prefix=args.prefix, workers=args.workers, server_side=args.server_side,
                              walk=args.walk)
        migration.check()
        if args.plan is not None:
            print_json(migration.plan(args.plan))
            return 0
        migration.keys = _range(migration, shard, args.boundaries)
    except (ArtifactError, OSError) as exc:
        raise ToolError(str(exc), USAGE) from None
    where = (f"{migration.source.describe()} -> {migration.dest.describe()}, prefix '{args.prefix}'"
             + (f", shard {shard} ({migration.keys})" if shard.count > 1 else ""))
    if args.dry_run:
        return _dry_run(migration, where, args.json)
    started = time.monotonic()
    progress = Progress(sys.stderr)
    signals.migration = migration  # from now on a signal stops the run instead of the command
    summary = migration.run(progress.update)
    progress.finish()
    how = "server-side copies" if migration.server_side else "copies through this process"
    _print_summary(summary, f"{where} ({how})", time.monotonic() - started, args.json)
    if signals.received:
        return SIGNAL_EXIT[signals.received[0]]
    return 1 if summary.failed or summary.error or summary.abandoned else 0


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


def _range(migration: Migration, shard: Shard, boundaries: str | None) -> KeyRange:
    if shard.count == 1:
        if boundaries is not None:
            raise BadConfiguration("--boundaries needs --shard I/N")
        return EVERYTHING
    plan = parse_boundaries(boundaries, shard) if boundaries is not None else migration.plan(shard.count)
    return ranges(plan)[shard.index]


class _Interrupted(Exception):
    """A signal arrived before the copying started: nothing to finish."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _Signals:
    """SIGTERM and SIGINT, for the whole command. Before the copying starts, one ends the
    command (:class:`_Interrupted`). During it, the first stops the migration and lets the
    objects in flight finish within ``grace`` seconds, then abandons them; a second
    abandons them at once."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.migration: Migration | None = None
        self.received: list[int] = []
        self._previous: dict[int, Any] = {}
        self._timer: threading.Timer | None = None

    def __enter__(self) -> "_Signals":
        for signum in SIGNAL_EXIT:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        if self._timer is not None:
            self._timer.cancel()

    def _handle(self, signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        self.received.append(signum)
        if self.migration is None:
            raise _Interrupted(signum)
        if len(self.received) == 1:
            self.migration.stop(f"stopped by {name}")
            self._timer = threading.Timer(self.grace, self.migration.stop, args=(f"stopped by {name}",),
                                          kwargs={"abandon": True})
            self._timer.daemon = True
            self._timer.start()
            _say(f"{name}: no new objects; those in flight get {self.grace:g} s to finish (again to abandon them now)")
        else:
            self.migration.stop(f"stopped by {name}", abandon=True)
            _say(f"{name} again: abandoning the objects in flight (nothing of them is published)")


def _say(text: str) -> None:
    """A line on stderr from a signal handler: unbuffered, so it cannot collide with a
    print the handler interrupted."""
    os.write(sys.stderr.fileno(), f"argo-artifacts migrate: {text}\n".encode())


def _dry_run(migration: Migration, where: str, as_json: bool) -> int:
    counts = {COPY: 0, "skip": 0, COMPARE: 0, CANNOT: 0}
    copy_bytes = 0
    for src, dst in migration.pairs():
        plan, why = decide(src, dst)
        counts[plan] += 1
        copy_bytes += src.size if plan == COPY else 0
        if as_json:
            print_json({"key": src.key, "plan": plan, "size": src.size, "why": why})
        else:
            print(f"{plan:7} {src.key} ({src.size} bytes; {why})")
    if as_json:
        print_json({"dry_run": where, **counts})
    else:
        print(f"dry run, {where}: {sum(counts.values())} objects; would copy {counts[COPY]} ({_size(copy_bytes)}); "
              f"{counts['skip']} already identical by their listed checksums; {counts[COMPARE]} present with the same "
              "size but no checksum in common would be read to compare"
              + (f"; {counts[CANNOT]} cannot be copied (see above)" if counts[CANNOT] else ""))
    return 0


def _print_summary(summary: Summary, where: str, seconds: float, as_json: bool) -> None:
    if as_json:
        print_json({**summary.as_dict(), "seconds": round(seconds, 3), "where": where})
        return
    rate = summary.copied_bytes / seconds / MiB if seconds > 0 else 0.0
    print(f"migrated {where} in {seconds:.1f} s: {summary.listed} objects ({_size(summary.listed_bytes)}); "
          f"copied and verified {summary.copied} ({_size(summary.copied_bytes)}, {rate:.1f} MiB/s); "
          f"skipped {summary.skipped} already identical ({_size(summary.skipped_bytes)}); failed {len(summary.failed)}")
    for title, counter in (("copies verified by", summary.verified_by), ("found identical by", summary.skipped_by)):
        if counter:
            print(f"  {title}: " + ", ".join(f"{method} ({n})" for method, n in counter.most_common()))
    for key, reason in summary.failed:
        print(f"  failed {key}: {reason}")
    if summary.error:
        print(f"  stopped early, listing failed: {summary.error}")
    if summary.stopped:
        abandoned = f"; {len(summary.abandoned)} in flight abandoned, nothing of them published" if summary.abandoned else ""
        print(f"  {summary.stopped}{abandoned}: run the same command again to continue")


def _size(n: int) -> str:
    return f"{n / MiB:.1f} MiB" if n >= MiB else f"{n} bytes"


class Progress:
    """A line redrawn in place on a terminal; elsewhere a plain line every ``interval`` s.
    Failures are printed as they happen either way. The listing is streamed, so there is
    no total to count down from: the line counts what is done."""

    def __init__(self, out: TextIO, interval: float = 5.0) -> None:
        self.out = out
        self.tty = out.isatty()
        self.interval = 0.1 if self.tty else interval
        self.summary = Summary()
        self.started = self.last = time.monotonic()

    def update(self, outcome: Outcome) -> None:
        self.summary.add(outcome)
        if outcome.action == FAILED:
            self.note(f"failed {outcome.item.key}: {outcome.reason}")
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self._draw()

    def note(self, text: str) -> None:
        self._clear()
        print(text, file=self.out, flush=True)

    def finish(self) -> None:
        self._draw()
        if self.tty:
            print(file=self.out, flush=True)

    def _draw(self) -> None:
        s = self.summary
        rate = s.copied_bytes / max(time.monotonic() - self.started, 1e-6) / MiB
        text = (f"{s.done} objects done: copied {s.copied} ({_size(s.copied_bytes)}), skipped {s.skipped} "
                f"({_size(s.skipped_bytes)}), failed {len(s.failed)}; {rate:.1f} MiB/s")
        if self.tty:
            self.out.write(f"\r{text}\x1b[K")
            self.out.flush()
        else:
            print(f"progress: {text}", file=self.out, flush=True)

    def _clear(self) -> None:
        if self.tty:
            self.out.write("\r\x1b[K")
