"""Shard plans: ``N`` key ranges that divide what is under a prefix between ``N`` workers.

A plan is ``N - 1`` boundary keys ``b1 <= ... <= b(N-1)``; shard ``i`` (from 0) holds the
keys after ``b(i)`` up to ``b(i+1)`` (the first shard from the start, the last to the
end). The ranges are disjoint and together hold every possible key *by construction*,
whatever the boundaries and whatever the store holds; so workers that share one plan
never copy a key twice or miss one, and each lists only its own range.

Boundaries are planned from the store's prefixes, not from a full listing: the names one
level below the prefix (a directory listing), expanded level by level until there are
enough to split, then cut into ``N`` groups of about the same number of names. Balance
follows the number of prefixes, not of objects: with keys shaped like Argo's
(``workflow/pod/...``) that is even enough, at the cost of a few directory listings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Sequence

from .errors import BadRequest
from .listing import KeyRange

#: Plan from about this many names per shard (more names: better balance, more listings).
NAMES_PER_SHARD = 16
#: Levels below the prefix that planning may list.
MAX_DEPTH = 3


@dataclass(frozen=True)
class Name:
    """One entry of a directory listing, as planning sees it."""

    key: str  # the full key; a directory's ends with '/'
    directory: bool


#: ``children(key)``: the entries one level below ``key/`` (below the root for ""), in key
#: order, a directory's key ending with '/'.
Children = Callable[[str], Sequence[Name]]


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (from 0)."""

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

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def ranges(boundaries: Sequence[str]) -> list[KeyRange]:
    """The ``len(boundaries) + 1`` ranges the boundaries cut the key space into."""
    bounds: list[str | None] = [None, *boundaries, None]
    return [KeyRange(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]


def parse_boundaries(text: str, shard: Shard) -> list[str]:
    """Boundaries printed by ``migrate --plan N`` (a JSON list of strings), checked to
    belong to a plan of ``shard.count`` shards."""
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest("--boundaries must be the JSON list of keys printed by 'migrate --plan N'")
    if len(value) != shard.count - 1:
        raise BadRequest(
            f"--boundaries holds {len(value)} keys, a plan of {shard.count} shards has {shard.count - 1}: "
            f"use the plan printed by 'migrate --plan {shard.count}'"
        )
    if any(b > a for a, b in zip(value[1:], value[:-1], strict=True)):
        raise BadRequest("--boundaries must be in increasing order, as 'migrate --plan' prints them")
    return value


def plan(children: Children, prefix: str, count: int) -> list[str]:
    """``count - 1`` boundaries splitting the keys at ``prefix`` and below ``prefix/``."""
    if count < 1:
        raise BadRequest(f"a plan needs at least 1 shard, got {count}")
    if count == 1:
        return []
    names = _names(children, prefix, count * NAMES_PER_SHARD)
    boundaries = []
    for i in range(1, count):
        cut = round(i * len(names) / count)
        boundaries.append(_boundary(names, cut))
    return boundaries


def _names(children: Children, prefix: str, enough: int) -> list[Name]:
    """The names below ``prefix``, in key order, expanded a whole level at a time (each
    directory replaced by what it holds) while there are fewer than ``enough`` and at
    most ``MAX_DEPTH`` levels: names of one level weigh about the same, so cutting them
    into groups of equal count balances the shards. Expanding costs one directory
    listing per directory, fewer than ``enough`` per level."""
    names = list(children(prefix))
    for _ in range(MAX_DEPTH):
        if len(names) >= enough or not any(name.directory for name in names):
            break
        expanded: list[Name] = []
        for name in names:
            expanded.extend((children(name.key.rstrip("/")) or [name]) if name.directory else [name])
        names = expanded
    return names


def _boundary(names: Sequence[Name], cut: int) -> str:
    """A key that every key of ``names[:cut]`` is at most and every key of ``names[cut:]``
    is above: the directory ``names[cut]`` itself ("d/", below every "d/..."), or the
    object ``names[cut - 1]``. When neither works (an object follows a directory), cut
    one later, after that object."""
    if cut <= 0:
        return ""  # below every key: this group is empty
    if cut < len(names) and names[cut].directory:
        return names[cut].key
    if not names[cut - 1].directory:
        return names[cut - 1].key
    if cut < len(names):
        return names[cut].key  # an object after a directory: it is the last of this group
    return names[cut - 1].key + "\U0010ffff"  # after every key below the last directory
