"""Listings in key order: the range of keys a listing covers, the generic walk that lists a
file system in that order, and the merge of two such listings.

Key order is the order of Python strings, which is the order of their UTF-8 bytes: the
order in which S3, GCS and Azure list objects. A listing in that order can be merged with
another one entry by entry, so comparing two stores of any size holds a few pages, never
a whole listing, in memory.

A file system lists one directory at a time. Sorting each directory by name is not key
order: ``a-c`` sorts after the directory ``a`` by name, but before every key ``a/...``
('-' is below '/'). Sorting a directory's entries by name *plus a trailing '/' for a
directory* is key order: every key below ``a/`` starts with ``a/``, so it sorts exactly
where ``a/`` does among its siblings. :func:`walk_sorted` walks that way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from .errors import StorageUnavailable

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem


@dataclass(frozen=True)
class KeyRange:
    """The keys ``k`` with ``after < k <= until``; None leaves that side open.

    Exclusive below and inclusive above because that is what stores can start a listing
    from: S3's ``StartAfter`` is exclusive, and a shard ends where the next one starts.
    """

    after: str | None = None
    until: str | None = None

    def __contains__(self, key: str) -> bool:
        return (self.after is None or key > self.after) and (self.until is None or key <= self.until)

    def beyond(self, key: str) -> bool:
        """Whether ``key``, and so every key after it, is past the end of the range."""
        return self.until is not None and key > self.until

    def misses_tree(self, directory: str) -> bool:
        """Whether no key below ``directory`` (which ends with '/') can be in the range."""
        if self.until is not None and directory > self.until:
            return True  # every key below sorts after the directory itself
        # every key below is <= after: after sorts later and does not start inside it
        return self.after is not None and self.after > directory and not self.after.startswith(directory)

    def within(self, root: str) -> "KeyRange":
        """The same range over store paths: each bound joined under ``root``."""
        def join(key: str | None) -> str | None:
            return None if key is None else (f"{root}/{key}" if root else key)

        return KeyRange(join(self.after), join(self.until))

    def __str__(self) -> str:
        low = "the start" if self.after is None else repr(self.after)
        high = "the end" if self.until is None else repr(self.until)
        return f"keys after {low} up to {high}"


EVERYTHING = KeyRange()


@dataclass(frozen=True)
class Listed:
    """One object of a listing."""

    key: str
    size: int
    #: What the store keeps of its content, by algorithm (see :mod:`.checksums`).
    checksums: dict[str, str] = field(default_factory=dict)
    #: Why no artifact key can address it (reported, never copied); "" when it can.
    problem: str = ""


def walk_sorted(fs: "AbstractFileSystem", path: str, keys: KeyRange = EVERYTHING) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(path, info)`` of every file below the directory ``path``, in key order, one
    directory listing (``fs.ls``) in memory at a time per level; directories that cannot
    hold a key of ``keys`` (store paths) are not listed at all.

    A symbolic link to a directory is not followed (it could lead out of the store, or
    back into it forever); it is yielded with ``type: "link"`` so the caller can report it.
    """
    yield from _walk(fs, path.rstrip("/"), keys, [False])


def _walk(fs: "AbstractFileSystem", path: str, keys: KeyRange, done: list[bool]) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        entries = fs.ls(path, detail=True)
    except (FileNotFoundError, NotADirectoryError):
        return
    ordered = []
    for info in entries:
        name = info["name"].rstrip("/")
        if name == path or not name.startswith(path + "/" if path else ""):
            continue  # the directory itself (some stores list it), or a stray entry
        directory = info.get("type") == "directory"
        ordered.append((name + "/" if directory else name, name, directory, info))
    ordered.sort(key=lambda entry: entry[0])
    for sort_key, name, directory, info in ordered:
        if keys.beyond(sort_key):
            done[0] = True
            return
        if directory:
            if info.get("islink"):
                if sort_key[:-1] in keys:
                    yield name, {**info, "type": "link"}
                continue
            if not keys.misses_tree(sort_key):
                yield from _walk(fs, name, keys, done)
                if done[0]:
                    return
        elif sort_key in keys:
            yield name, info


def merge_sorted(source: Iterable[Listed], dest: Iterable[Listed]) -> Iterator[tuple[Listed, Listed | None]]:
    """Each source entry with the destination's entry of the same key (or None), both
    listings read once, in step. Entries only at the destination are passed over."""
    theirs = iter(ordered(dest, "destination"))
    other = next(theirs, None)
    for mine in ordered(source, "source"):
        while other is not None and other.key < mine.key:
            other = next(theirs, None)
        if other is not None and other.key == mine.key:
            yield mine, other
            other = next(theirs, None)
        else:
            yield mine, None


def ordered(entries: Iterable[Listed], side: str) -> Iterator[Listed]:
    """``entries``, checked to be in strictly increasing key order: a merge of listings
    that are not would call present objects missing."""
    last: str | None = None
    for entry in entries:
        if last is not None and entry.key <= last:
            raise StorageUnavailable(
                f"the {side} store listed {entry.key!r} after {last!r}: its listing is not in key order "
                "(UTF-8 byte order), which migrate needs to compare the two stores; list it one directory "
                "at a time, each sorted by migrate, with --walk"
            )
        last = entry.key
        yield entry
