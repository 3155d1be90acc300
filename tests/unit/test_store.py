"""The seven operations of core's store on fsspec's memory filesystem, for both write
strategies: what Argo's calls do, and that nothing half-done is ever visible."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from argo_artifact_driver.core.deadline import Deadline
from argo_artifact_driver.core.errors import BadRequest, Cancelled, Conflict, NotFound
from argo_artifact_driver.core.keys import is_partial_name
from argo_artifact_driver.core.settings import Settings
from argo_artifact_driver.core.store import ArtifactStore
from support.memory import MemoryBackend, RenamingMemoryBackend, make_store, sizes

TREE = {"hello.txt": b"hello", "reports/summary.json": b"{}", "reports/deep/x.bin": b"\x00\x01", "empty": b""}


def write_tree(top: Path, tree: dict[str, bytes]) -> Path:
    for rel, data in tree.items():
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        (top / rel).write_bytes(data)
    return top


def stored(store: ArtifactStore) -> dict[str, bytes]:
    """Everything under the store's root, out of band."""
    root = store.backend.root()
    return {path[len(root) + 1:]: store.fs.cat_file(path) for path in store.fs.find(root)}


def test_save_and_load_a_file(store, tmp_path):
    (tmp_path / "f").write_bytes(b"data")
    assert store.save(str(tmp_path / "f"), "wf/a") == 4
    assert stored(store) == {"wf/a": b"data"}
    assert store.load("wf/a", str(tmp_path / "back")) == 4
    assert (tmp_path / "back").read_bytes() == b"data"


def test_save_and_load_a_directory_keeps_relative_paths(store, tmp_path):
    src = write_tree(tmp_path / "out", TREE)
    assert store.save(str(src), "wf/dir") == sum(map(len, TREE.values()))
    assert stored(store) == {f"wf/dir/{rel}": data for rel, data in TREE.items()}
    store.load("wf/dir", str(tmp_path / "in"))
    assert {str(p.relative_to(tmp_path / "in")): p.read_bytes() for p in (tmp_path / "in").rglob("*") if p.is_file()} == TREE


def test_save_never_follows_a_symlink_out_of_the_tree(store, tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(b"do not leave")
    src = write_tree(tmp_path / "out", {"a": b"a"})
    os.symlink(secret, src / "leak")
    os.symlink(src / "a", src / "inside")
    store.save(str(src), "k")
    assert stored(store) == {"k/a": b"a", "k/inside": b"a"}


def test_load_of_a_missing_key_leaves_nothing(store, tmp_path):
    with pytest.raises(NotFound, match="no object has this key and none is below it"):
        store.load("nope", str(tmp_path / "x"))
    assert os.listdir(tmp_path) == []


def test_load_replaces_what_is_at_the_path(store, tmp_path):
    store.save_stream("k", [b"new"])
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / "old").write_bytes(b"old")
    store.load("k", str(tmp_path / "dest"))
    assert (tmp_path / "dest").read_bytes() == b"new"


def test_open_stream_reads_in_chunks_of_the_setting():
    store = make_store(settings=Settings(stream_chunk_size=4096))
    data = os.urandom(10_000)
    store.save_stream("k", [data])
    chunks = list(store.open_stream("k"))
    assert [len(c) for c in chunks] == [4096, 4096, 10_000 - 8192]
    assert b"".join(chunks) == data


def test_open_stream_of_a_directory_says_so(store):
    store.save_stream("d/x", [b"x"])
    with pytest.raises(Conflict, match="is a directory artifact"):
        list(store.open_stream("d"))


def test_open_stream_of_a_missing_key(store):
    with pytest.raises(NotFound):
        list(store.open_stream("nope"))


def test_list_objects_and_is_directory(store, tmp_path):
    store.save(str(write_tree(tmp_path / "out", TREE)), "wf")
    assert store.list_objects("wf") == sorted(f"wf/{rel}" for rel in TREE)
    assert store.list_objects("wf/reports") == ["wf/reports/deep/x.bin", "wf/reports/summary.json"]
    assert store.is_directory("wf") and store.is_directory("wf/reports")
    assert not store.is_directory("wf/hello.txt") and not store.is_directory("missing")
    assert store.list_objects("missing") == []


def test_delete_removes_the_prefix_and_nothing_else(store, tmp_path):
    store.save(str(write_tree(tmp_path / "out", TREE)), "wf")
    store.save_stream("wf-neighbour", [b"stay"])
    assert store.delete("wf") == len(TREE)
    assert stored(store) == {"wf-neighbour": b"stay"}
    assert store.delete("wf") == 0  # already gone: a success


def test_a_broken_save_stream_publishes_nothing(store):
    store.save_stream("k", [b"old"])

    def chunks():
        yield b"half"
        raise Cancelled("client gone")

    with pytest.raises(Cancelled):
        store.save_stream("k", chunks())
    assert stored(store) == {"k": b"old"}


def test_a_cancelled_save_stream_publishes_nothing(store):
    cancelled = []
    deadline = Deadline(cancelled=lambda: bool(cancelled))

    def chunks():
        yield b"a"
        cancelled.append(True)
        yield b"b"

    with pytest.raises(Cancelled):
        store.save_stream("k", chunks(), deadline)
    assert stored(store) == {}


def test_save_stream_waits_for_before_publish(store):
    def refuse():
        raise Cancelled("the client did not finish")

    with pytest.raises(Cancelled):
        store.save_stream("k", [b"abc"], before_publish=refuse)
    assert stored(store) == {}
    assert store.save_stream("k", [b"abc"], before_publish=lambda: None) == 3
    assert stored(store) == {"k": b"abc"}


def test_rename_into_place_writes_beside_the_key_and_leaves_no_temporary(tmp_path):
    store = make_store(RenamingMemoryBackend)
    seen = []
    publish = store.backend.publish

    def spy(fs, tmp, rpath):
        seen.append((tmp, rpath))
        publish(fs, tmp, rpath)

    store.backend.publish = spy
    store.save_stream("a/b/c", [b"x"])
    (tmp, rpath), = seen
    assert rpath.endswith("/a/b/c") and is_partial_name(tmp) and tmp.rpartition("/")[0] == rpath.rpartition("/")[0]
    assert stored(store) == {"a/b/c": b"x"}


def test_keys_that_leave_the_root_are_refused_everywhere(store, tmp_path):
    for key in ("../x", "a/../../x", "a/./b", ""):
        with pytest.raises(BadRequest):
            store.save_stream(key, [b"x"])
        with pytest.raises(BadRequest):
            store.load(key, str(tmp_path / "x"))


def test_list_sorted_gives_sizes_by_key():
    store = make_store()
    root = store.backend.root()
    for name, data in {"a": b"1", "b/c": b"33", "b/d/e": b""}.items():
        store.fs.pipe_file(f"{root}/{name}", data)
    assert sizes(store) == {"a": 1, "b/c": 2, "b/d/e": 0}
    assert sizes(store, "b") == {"b/c": 2, "b/d/e": 0}
    # Names no key can express (an object store keeps 'x//y' and a non-empty 'dir/';
    # fsspec's memory filesystem cannot hold them) are covered by the integration suite.


def test_list_sorted_skips_writes_in_progress_only_where_writes_use_temporary_names():
    for cls, listed in ((MemoryBackend, {".k.partial-0123456789ab", "k"}), (RenamingMemoryBackend, {"k"})):
        store = make_store(cls)
        root = store.backend.root()
        store.fs.pipe_file(f"{root}/k", b"1")
        store.fs.pipe_file(f"{root}/.k.partial-0123456789ab", b"half")
        assert set(sizes(store)) == listed


def test_a_body_that_breaks_mid_download_is_retried_whole(tmp_path):
    attempts = []

    class Flaky(MemoryBackend):
        def download_file(self, fs, rpath, lpath, callback=None):
            attempts.append(rpath)
            if len(attempts) == 1:
                with open(lpath, "wb") as f:
                    f.write(b"par")
                raise ConnectionResetError("body cut")
            super().download_file(fs, rpath, lpath, callback)

    store = make_store(Flaky)
    store.save_stream("k", [b"payload"])
    assert store.load("k", str(tmp_path / "x")) == 7
    assert len(attempts) == 2 and (tmp_path / "x").read_bytes() == b"payload"


def test_a_permanent_failure_is_not_retried(tmp_path):
    attempts = []

    class Refusing(MemoryBackend):
        def download_file(self, fs, rpath, lpath, callback=None):
            attempts.append(rpath)
            raise PermissionError("forbidden")

    store = make_store(Refusing)
    store.save_stream("k", [b"x"])
    with pytest.raises(Exception, match="permission denied for key 'k'"):
        store.load("k", str(tmp_path / "x"))
    assert len(attempts) == 1 and not (tmp_path / "x").exists()


def test_a_failed_directory_save_names_the_files(tmp_path):
    class HalfBroken(MemoryBackend):
        def upload_file(self, fs, lpath, rpath, callback=None):
            if lpath.endswith(".json"):
                raise PermissionError("quota")
            super().upload_file(fs, lpath, rpath, callback)

    store = make_store(HalfBroken)
    with pytest.raises(Exception) as info:
        store.save(str(write_tree(tmp_path / "out", TREE)), "wf")
    assert "could not save 1 of 4 files" in str(info.value) and "'reports/summary.json'" in str(info.value)


def test_a_file_cannot_replace_a_directory_artifact_on_a_file_system(tmp_path):
    """A file system cannot hold a file and a directory of one name: a rename would move the
    file into the directory, so the Save is refused and nothing is left behind."""
    store = make_store(RenamingMemoryBackend)
    store.save(str(write_tree(tmp_path / "out", {"f": b"1"})), "d/x")
    (tmp_path / "file").write_bytes(b"2")
    with pytest.raises(Conflict, match="it is a directory"):
        store.save(str(tmp_path / "file"), "d/x")
    with pytest.raises(Conflict):
        store.save_stream("d/x", [b"2"])
    assert stored(store) == {"d/x/f": b"1"}
