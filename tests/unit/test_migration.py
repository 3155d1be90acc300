"""The migration engine in-process, on fsspec's ``memory`` filesystem: key-ordered walks,
ranges, shard plans, the merge, checksums, and the engine's decisions. No server, no
subprocess: seconds. :class:`KeepsMd5` is a memory store that keeps an MD5 of every
object (as GCS does), so that the decisions made on listings alone are tested too.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
from typing import Any, Iterator, Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argo_artifact_driver.core import shards
from argo_artifact_driver.core.checksums import MD5, MD5_OF_PARTS, SHA256, ContentHasher, compare
from argo_artifact_driver.core.errors import BadConfiguration, BadRequest, StorageUnavailable
from argo_artifact_driver.core.keys import PARTIAL_MARKER
from argo_artifact_driver.core.listing import EVERYTHING, KeyRange, Listed, merge_sorted, walk_sorted
from argo_artifact_driver.core.migration import (
    ABANDONED,
    COMPARE,
    COPIED,
    COPY,
    FAILED,
    LISTING_READ_AHEAD,
    SKIP,
    SKIPPED,
    Migration,
    decide,
)
from argo_artifact_driver.core.settings import Settings
from argo_artifact_driver.core.store import ArtifactStore
from argo_artifact_driver.core.units import MiB
from support.memory import MemoryBackend, ObjectMemoryFileSystem, RenamingMemoryBackend, make_store

#: Names that make a per-directory sort differ from key order ('-' and '.' < '/' < '0').
TRICKY = ["a.txt", "a-c", "a/b", "a/b-c/d", "a0", "a/b0", "ab/c", "b", "é/x", "z/\U0001f600"]
#: Keys made of the characters around '/', without empty segments.
KEYS = st.text("ab-/0", min_size=1, max_size=7).filter(lambda k: "//" not in k and k.strip("/") == k)


def memory_store(cls: type = RenamingMemoryBackend, **settings: int) -> ArtifactStore:
    """A store on a fresh root of fsspec's memory filesystem (a file system, unless ``cls``
    says otherwise)."""
    return make_store(cls, Settings(**settings))


def fill(store: ArtifactStore, objects: Mapping[str, bytes]) -> None:
    for key, data in objects.items():
        store.fs.pipe_file(f"{store.backend.root()}/{key}", data)


def content(store: ArtifactStore) -> dict[str, bytes]:
    return {entry.key: store.read_bytes(entry.key, entry.size) for entry in store.list_sorted()}


def no_nesting(keys: set[str]) -> set[str]:
    """The keys a file system can hold together: none is also a directory of another."""
    return {k for k in keys if not any(other.startswith(k + "/") for other in keys)}


class Md5MemoryFileSystem(ObjectMemoryFileSystem):
    """An object store in memory that keeps the MD5 of every object in its metadata."""

    def info(self, path: str, **kwargs: Any) -> dict:
        return self._with_md5(super().info(path, **kwargs))

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> Any:
        found = super().ls(path, detail=detail, **kwargs)
        return [self._with_md5(info) for info in found] if detail else found

    def _with_md5(self, info: dict) -> dict:
        if info.get("type") == "file":
            info = {**info, "md5": hashlib.md5(self.cat_file(info["name"])).hexdigest()}
        return info


class KeepsMd5(MemoryBackend):
    """Reports the MD5 its store keeps: in listings, ``info``, and its answer to a write."""

    def create_filesystem(self) -> Md5MemoryFileSystem:
        return Md5MemoryFileSystem(skip_instance_cache=True)

    def checksums(self, info: Mapping[str, Any]) -> dict[str, str]:
        return {MD5: info["md5"]} if "md5" in info else {}

    def upload_bytes(self, fs: Any, rpath: str, data: bytes) -> Mapping[str, Any]:
        super().upload_bytes(fs, rpath, data)
        return fs.info(rpath)


class PartsEtagFileSystem(ObjectMemoryFileSystem):
    """An object store in memory whose objects carry an S3-style ETag of 1 MiB parts."""

    def info(self, path: str, **kwargs: Any) -> dict:
        info = super().info(path, **kwargs)
        if info.get("type") == "file":
            hasher = ContentHasher(1 * MiB)
            hasher.update(self.cat_file(info["name"]))
            info = {**info, "etag": hasher.checksums()[MD5_OF_PARTS]}
        return info

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> Any:
        found = super().ls(path, detail=detail, **kwargs)
        return [self.info(entry["name"]) for entry in found] if detail else found


class KeepsEtagOfOtherParts(MemoryBackend):
    """Keeps ETags of 1 MiB parts but says its uploads use 2 MiB parts (as an S3 object
    whose parts grew): its ETag can never settle a comparison."""

    def create_filesystem(self) -> PartsEtagFileSystem:
        return PartsEtagFileSystem(skip_instance_cache=True)

    def checksums(self, info: Mapping[str, Any]) -> dict[str, str]:
        return {MD5_OF_PARTS: info["etag"]} if "etag" in info else {}

    def upload_part_size(self) -> int | None:
        return 2 * MiB


class Corrupts(KeepsMd5):
    """Stores something other than what it was given (and its checksum says so)."""

    def upload_bytes(self, fs: Any, rpath: str, data: bytes) -> Mapping[str, Any]:
        return super().upload_bytes(fs, rpath, data[::-1] + b"!")


# -- key order ---------------------------------------------------------------------------


def test_a_file_system_walks_in_key_order_not_name_order():
    store = memory_store()
    fill(store, {key: b"x" for key in TRICKY})
    listed = [entry.key for entry in store.list_sorted()]
    assert listed == sorted(TRICKY)
    assert listed.index("a-c") < listed.index("a/b") < listed.index("a0")  # not a, a0, a-c...


@settings(max_examples=60, deadline=None)
@given(keys=st.sets(KEYS, min_size=1, max_size=25),
       bounds=st.tuples(st.none() | st.text("ab-/0", max_size=5), st.none() | st.text("ab-/0", max_size=5)))
def test_a_ranged_walk_lists_exactly_the_keys_in_range(keys, bounds):
    keys = no_nesting(keys)
    store = memory_store()
    fill(store, {key: b"" for key in keys})
    keys_range = KeyRange(*bounds)
    assert [e.key for e in store.list_sorted("", keys_range)] == [k for k in sorted(keys) if k in keys_range]


def test_a_prefix_lists_the_object_of_that_name_and_what_is_below_it_only():
    store = memory_store()
    fill(store, {"p-x": b"2", "p/a": b"3", "p/b/c": b"4", "p0": b"5", "q": b"6", "p/b.txt": b"7"})
    assert [e.key for e in store.list_sorted("p")] == ["p/a", "p/b.txt", "p/b/c"]
    assert [e.key for e in store.list_sorted("p/b")] == ["p/b/c"]
    assert [e.key for e in store.list_sorted("p/b.txt")] == ["p/b.txt"]  # an object named like the prefix


def test_walk_skips_directories_outside_the_range_without_listing_them():
    store = memory_store()
    fill(store, {f"{d}/{i}": b"" for d in "abcde" for i in range(3)})
    fs = store.fs
    listed: list[str] = []
    original = fs.ls

    def counting_ls(path: str, **kw: Any) -> Any:
        listed.append(path.rsplit("/", 1)[-1])
        return original(path, **kw)

    fs.ls = counting_ls
    try:
        root = store.backend.root()
        found = [path for path, _ in walk_sorted(fs, root, KeyRange(f"{root}/b/2", f"{root}/d/0"))]
    finally:
        del fs.ls
    assert [p.split("/", 2)[2] for p in found] == ["c/0", "c/1", "c/2", "d/0"]
    assert sorted(listed[1:]) == ["b", "c", "d"]  # a (all below the start) and e (after the end) never listed


def test_merge_pairs_keys_and_refuses_a_listing_out_of_order():
    src = [Listed("a", 1), Listed("b", 2), Listed("d", 4)]
    dst = [Listed("0", 9), Listed("b", 2), Listed("c", 3), Listed("d", 5), Listed("e", 1)]
    assert [(s.key, d and d.size) for s, d in merge_sorted(src, dst)] == [("a", None), ("b", 2), ("d", 5)]
    with pytest.raises(StorageUnavailable, match="listed 'a' after 'b': its listing is not in key order"):
        list(merge_sorted([Listed("b", 1), Listed("a", 1)], []))


# -- shard plans -------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(keys=st.sets(KEYS, max_size=40),
       count=st.integers(1, 7), prefix=st.sampled_from(["", "a", "b/"]))
def test_a_shard_plan_is_disjoint_and_complete(keys, count, prefix):
    keys = no_nesting(keys)
    store = memory_store()
    fill(store, {key: b"" for key in keys})
    migration = Migration(store, memory_store(), prefix=prefix.rstrip("/"))
    boundaries = migration.plan(count)
    assert len(boundaries) == count - 1 and boundaries == sorted(boundaries)
    ranges = shards.ranges(boundaries)
    every = [e.key for e in store.list_sorted(prefix.rstrip("/"))]
    for key in every:  # each key in exactly one range...
        assert sum(key in r for r in ranges) == 1, (key, boundaries)
    per_shard = [[e.key for e in store.list_sorted(prefix.rstrip("/"), r)] for r in ranges]
    assert list(itertools.chain(*per_shard)) == every  # ...and listed by that shard only, in order


def test_a_plan_splits_argo_shaped_keys_evenly():
    store = memory_store()
    fill(store, {f"wf-{w:03d}/pod-{p}/out.tgz": b"" for w in range(120) for p in range(3)})
    boundaries = Migration(store, memory_store()).plan(4)
    sizes = [len(list(store.list_sorted("", r))) for r in shards.ranges(boundaries)]
    assert sum(sizes) == 360 and max(sizes) - min(sizes) <= 3 * 2, sizes


def test_boundaries_from_the_command_line_are_checked():
    assert shards.parse_boundaries('["b", "m"]', shards.Shard(0, 3)) == ["b", "m"]
    for text, message in [("nope", "JSON list"), ('["b"]', "holds 1 keys, a plan of 3 shards has 2"),
                          ('["m", "b"]', "increasing order")]:
        with pytest.raises(BadRequest, match=message):
            shards.parse_boundaries(text, shards.Shard(0, 3))


# -- checksums ---------------------------------------------------------------------------


def test_the_multipart_etag_follows_from_the_bytes_and_the_part_size():
    data = bytes(range(256)) * 50_000  # 12.2 MiB: parts of 5 MiB, 5 MiB, 2.2 MiB
    hasher = ContentHasher(part_size=5 * MiB)
    for i in range(0, len(data), 777_777):  # writes of any size
        hasher.update(data[i:i + 777_777])
    parts = [hashlib.md5(data[i:i + 5 * MiB]).digest() for i in range(0, len(data), 5 * MiB)]
    got = hasher.checksums()
    assert got[MD5_OF_PARTS] == f"{hashlib.md5(b''.join(parts)).hexdigest()}-3"
    assert got[MD5] == hashlib.md5(data).hexdigest() and got[SHA256] == hashlib.sha256(data).hexdigest()


def test_a_comparison_settles_only_on_a_shared_algorithm():
    assert compare({MD5: "x"}, {MD5: "x", SHA256: "y"}) == (True, MD5)
    assert compare({MD5: "x"}, {MD5: "z"}) == (False, MD5)
    assert compare({MD5_OF_PARTS: "x-2"}, {MD5_OF_PARTS: "x-2"}) == (True, MD5_OF_PARTS)
    assert compare({MD5_OF_PARTS: "x-2"}, {MD5_OF_PARTS: "y-3"}) == (None, "")  # other parts, maybe same bytes
    assert compare({MD5: "x"}, {SHA256: "y"}) == (None, "")


def test_size_alone_never_skips():
    assert decide(Listed("k", 3), Listed("k", 3)) == (COMPARE, "same size, no checksum in common: read to compare")
    assert decide(Listed("k", 3, {MD5: "a"}), Listed("k", 3, {MD5: "a"}))[0] == SKIP
    assert decide(Listed("k", 3, {MD5: "a"}), Listed("k", 3, {MD5: "b"}))[0] == COPY
    assert decide(Listed("k", 3, {MD5: "a"}), Listed("k", 4, {MD5: "a"}))[0] == COPY


# -- the engine --------------------------------------------------------------------------


def tree() -> dict[str, bytes]:
    return {"a/1": b"one", "a-b": b"", "a0/deep/2": b"two" * 1000, "large": bytes(range(256)) * 20_000, **{k: k.encode() for k in TRICKY}}


def test_copies_verify_and_a_rerun_reads_both_sides_when_neither_keeps_a_checksum():
    src, dst = memory_store(), memory_store(write_block_size=1 * MiB)
    objects = {k: tree()[k] for k in no_nesting(set(tree()))}
    fill(src, objects)
    first = Migration(src, dst, workers=3).run()
    assert (first.copied, first.failed, first.copied_bytes) == (len(objects), [], sum(map(len, objects.values())))
    assert dict(first.verified_by) == {"read back (sha256)": len(objects)}  # the memory store keeps no checksum
    assert content(dst) == objects
    second = Migration(src, dst, workers=3).run()
    assert (second.copied, second.skipped, dict(second.skipped_by)) == (0, len(objects), {"both read: sha256": len(objects)})


def test_a_store_that_keeps_checksums_verifies_by_them_and_reruns_on_the_listing_alone():
    src, dst = memory_store(KeepsMd5), memory_store(KeepsMd5, write_block_size=1 * MiB)
    fill(src, {"x": b"small", "big": b"b" * (3 * MiB)})
    first = Migration(src, dst).run()
    assert dict(first.verified_by) == {"destination md5": 2}  # large too: streamed, then the store's info
    reads: list[str] = []
    for store in (src, dst):
        store.read_bytes = lambda key, size, _r=reads: _r.append(key)  # type: ignore[method-assign]
        store.open_stream = lambda key, deadline=None, _r=reads: _r.append(key)  # type: ignore[method-assign]
    second = Migration(src, dst).run()
    assert (second.skipped, dict(second.skipped_by), reads) == (2, {"listing: md5": 2}, [])


def test_an_etag_of_other_parts_is_no_difference_a_rerun_reads_both_sides_and_skips():
    src, dst = memory_store(), memory_store(KeepsEtagOfOtherParts)
    fill(src, {"big": b"b" * (3 * MiB) + b"tail"})
    first = Migration(src, dst).run()
    assert (first.copied, first.failed, dict(first.verified_by)) == (1, [], {"read back (sha256)": 1})
    second = Migration(src, dst).run()
    assert (second.copied, second.skipped, dict(second.skipped_by)) == (0, 1, {"both read: sha256": 1})


def test_a_changed_object_of_the_same_size_is_copied_again():
    src, dst = memory_store(KeepsMd5), memory_store(KeepsMd5)
    fill(src, {"same": b"aaaa", "other": b"bbbb"})
    fill(dst, {"same": b"zzzz", "other": b"bbbb"})
    summary = Migration(src, dst).run()
    assert (summary.copied, summary.skipped) == (1, 1) and content(dst)["same"] == b"aaaa"


def test_a_copy_the_destination_did_not_store_faithfully_fails_and_is_removed():
    src, dst = memory_store(KeepsMd5), memory_store(Corrupts)
    fill(src, {"k": b"payload"})
    summary = Migration(src, dst).run()
    [(key, reason)] = summary.failed
    assert key == "k" and reason.startswith("verification failed: the destination's md5 of the new object differs")
    assert "removed it" in reason and content(dst) == {}


def test_bytes_read_that_do_not_match_the_source_are_not_copied():
    class ReadsWrong(KeepsMd5):
        def open_reader(self, fs: Any, rpath: str) -> Any:
            return contextlib.nullcontext(io.BytesIO(b"garbage"))

    src, dst = memory_store(ReadsWrong), memory_store()
    fill(src, {"k": b"payload"})
    outcome = Migration(src, dst).migrate_one(next(src.list_sorted()))
    assert outcome.action == FAILED and "the bytes read of key 'k' do not match the source's md5" in outcome.reason
    assert content(dst) == {}


def test_a_source_changed_since_it_was_listed_is_copied_as_it_is_now():
    src, dst = memory_store(KeepsMd5), memory_store()
    fill(src, {"k": b"before"})
    [listed] = src.list_sorted()
    fill(src, {"k": b"after!"})  # same size, other bytes: the store's checksum, asked again, matches them
    outcome = Migration(src, dst).migrate_one(listed)
    assert outcome.action == COPIED and content(dst) == {"k": b"after!"}


def test_an_abandoned_copy_publishes_nothing_and_leaves_no_partial_name():
    src, dst = memory_store(), memory_store(write_block_size=1 * MiB, stream_chunk_size=64 * 1024)
    fill(src, {"large": b"x" * (4 * MiB)})
    migration = Migration(src, dst)
    [listed] = src.list_sorted()
    chunks = 0
    original = dst.save_stream

    def save_stream(key: str, data: Iterator[bytes], *args: Any, **kwargs: Any) -> int:
        def interrupted() -> Iterator[bytes]:
            nonlocal chunks
            for chunk in data:
                chunks += 1
                if chunks == 3:
                    migration.stop("test", abandon=True)  # what a second SIGTERM does
                yield chunk
        return original(key, interrupted(), *args, **kwargs)

    dst.save_stream = save_stream  # type: ignore[method-assign]
    outcome = migration.migrate_one(listed)
    assert outcome.action == ABANDONED
    fs = dst.fs
    assert fs.find(dst.backend.root()) == []  # neither the key nor a '.large.partial-...' name
    assert not any(PARTIAL_MARKER in p for p in fs.find("/"))


def test_stop_lets_objects_in_flight_finish_and_lists_no_further():
    src, dst = memory_store(), memory_store()
    fill(src, {f"k{i:03d}": b"x" for i in range(200)})
    migration = Migration(src, dst, workers=2)
    seen: list[str] = []

    def on_outcome(outcome: Any) -> None:
        seen.append(outcome.item.key)
        if len(seen) == 10:
            migration.stop("stopped by SIGTERM")

    summary = migration.run(on_outcome)
    assert summary.stopped == "stopped by SIGTERM" and summary.abandoned == [] and summary.failed == []
    assert 10 <= summary.copied < 200 and summary.listed == summary.copied  # what was listed was finished
    assert Migration(src, dst).run().copied == 200 - summary.copied  # a new run continues


def test_the_listing_is_consumed_as_a_stream():
    """The engine holds a bounded window, not the listing: when the first object is done,
    the source listing has been read at most the read-ahead and the window further."""
    pulled = itertools.count()
    src, dst = memory_store(), memory_store()
    fill(src, {"only-real-object": b"x"})

    def synthetic(prefix: str = "", keys: KeyRange = EVERYTHING, walk: bool = False) -> Iterator[Listed]:
        for i in range(1_000_000):
            next(pulled)
            yield Listed(f"k{i:07d}", 0, {MD5: "d41d8cd98f00b204e9800998ecf8427e"})

    src.list_sorted = synthetic  # type: ignore[method-assign]
    dst.list_sorted = synthetic  # type: ignore[method-assign]
    migration = Migration(src, dst, workers=2)
    first: list[int] = []

    def on_outcome(outcome: Any) -> None:
        if not first:
            first.append(next(pulled))
            migration.stop("enough")

    summary = migration.run(on_outcome)
    assert summary.skipped >= 1 and summary.skipped_by == {"listing: md5": summary.skipped}
    assert first[0] <= 2 * (LISTING_READ_AHEAD + 2 * 2) + 10


def test_refusals_name_the_problem():
    src = memory_store()
    with pytest.raises(BadConfiguration, match="--from and --to are the same store"):
        Migration(src, src).check()
    missing = make_store(root="/no-such-root")
    with pytest.raises(BadConfiguration, match="--from: memory://no-such-root does not exist"):
        Migration(missing, memory_store()).check()


def test_outcomes_report_their_actions():
    src, dst = memory_store(KeepsMd5), memory_store(KeepsMd5)
    fill(src, {"k": b"1"})
    outcomes: list[Any] = []
    Migration(src, dst).run(outcomes.append)
    Migration(src, dst).run(outcomes.append)
    assert [o.action for o in outcomes] == [COPIED, SKIPPED]


def test_a_store_listing_out_of_key_order_is_refused_and_walk_lists_it_in_order():
    """Some S3-compatible servers (s3rver) list 'a/b' before 'a-c': the merge would call
    objects missing that are not, so the run stops naming the problem, and ``walk``
    (one directory at a time, sorted here) lists the same store in key order."""

    class ListsByPath(RenamingMemoryBackend):
        def list_sorted(self, fs: Any, rpath: str, keys: KeyRange) -> Iterator[tuple[str, Mapping[str, Any]]]:
            found = fs.find(rpath, detail=True)
            for path in sorted(found, key=lambda p: p.split("/")):  # by path components, not bytes
                if path in keys:
                    yield path, found[path]

    src, dst = memory_store(ListsByPath), memory_store()
    fill(src, {"a/b": b"1", "a-c": b"2", "a0": b"3"})
    summary = Migration(src, dst).run()
    assert "listing is not in key order" in summary.error and "--walk" in summary.error
    summary = Migration(src, dst, walk=True).run()
    assert (summary.error, summary.listed) == ("", 3) and sorted(content(dst)) == ["a-c", "a/b", "a0"]
