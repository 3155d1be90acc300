"""The artifact semantics Argo relies on, checked on a backend against a real server.

Each test drives the plugin over its unix socket and checks the store out of band.
Import every ``Test*`` class of this module into a test module that has a ``store``
fixture (see the package docstring).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import grpc
import pytest

from ...core.units import MiB
from .. import artifact_pb2 as pb
from ..client import artifact

__all__ = ["TestFiles", "TestDirectories", "TestStreaming", "TestMissing", "TestNothingHalfDone"]

GO_DEFAULT_MAX_MESSAGE = 4 * MiB


def eventually(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def write_tree(base: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        p = base / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return base


def read_tree(base: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(base)).replace(os.sep, "/"): p.read_bytes()
        for p in sorted(base.rglob("*"))
        if p.is_file()
    }


TREE = {
    "hello.txt": b"Hello from Argo!\n",
    "empty.txt": b"",
    "reports/summary.json": b'{"steps": 3}\n',
    "reports/deep/nested/data.bin": bytes(range(256)) * 40,
    "with space/na\u00efve \u00fcnicode \u6587\u4ef6.txt": "caf\u00e9".encode(),
}


class TestFiles:
    def test_save_then_load_a_file(self, client, store, key, tmp_path):
        src = tmp_path / "out.txt"
        src.write_bytes(b"payload\n")
        r = client.save(store.config, key, src)
        assert (r.success, r.error) == (True, "")
        assert store.get(key) == b"payload\n"  # out of band
        dest = tmp_path / "in" / "loaded.txt"  # parent does not exist yet
        r = client.load(store.config, key, dest)
        assert (r.success, r.error) == (True, "")
        assert dest.read_bytes() == b"payload\n"
        assert sorted(os.listdir(dest.parent)) == ["loaded.txt"]  # no temporary left beside it

    def test_empty_file_round_trip(self, client, store, key, tmp_path):
        src = tmp_path / "empty"
        src.write_bytes(b"")
        assert client.save(store.config, key, src).success
        assert store.exists(key) and store.get(key) == b""
        dest = tmp_path / "loaded"
        assert client.load(store.config, key, dest).success
        assert dest.read_bytes() == b""

    def test_load_of_an_object_written_by_someone_else(self, client, store, key, tmp_path):
        store.put(key, b"from outside")
        dest = tmp_path / "x"
        assert client.load(store.config, key, dest).success
        assert dest.read_bytes() == b"from outside"

    def test_save_replaces_an_existing_object(self, client, store, key, tmp_path):
        store.put(key, b"old contents, longer than the new")
        src = tmp_path / "f"
        src.write_bytes(b"new")
        assert client.save(store.config, key, src).success
        assert store.get(key) == b"new"

    def test_load_replaces_an_existing_local_file(self, client, store, key, tmp_path):
        store.put(key, b"fresh")
        dest = tmp_path / "x"
        dest.write_bytes(b"stale and longer")
        assert client.load(store.config, key, dest).success
        assert dest.read_bytes() == b"fresh"

    def test_keys_with_spaces_and_unicode(self, client, store, tmp_path):
        key = "run 1/\u00fcber caf\u00e9/\u6587\u4ef6 #1.txt"
        src = tmp_path / "f"
        src.write_bytes(b"unicode")
        assert client.save(store.config, key, src).success
        assert store.get(key) == b"unicode"
        assert client.stream_bytes(store.config, key) == (b"unicode", "")
        assert client.delete(store.config, "run 1").success
        assert not store.exists(key)


class TestDirectories:
    def test_save_directory_makes_one_object_per_file(self, client, store, key, tmp_path):
        src = write_tree(tmp_path / "out", TREE)
        r = client.save(store.config, key, src)
        assert (r.success, r.error) == (True, "")
        assert store.keys(key) == sorted(f"{key}/{rel}" for rel in TREE)
        for rel, data in TREE.items():
            assert store.get(f"{key}/{rel}") == data

    def test_list_objects_gives_full_keys_recursively(self, client, store, key, tmp_path):
        client.save(store.config, key, write_tree(tmp_path / "out", TREE))
        r = client.list_objects(store.config, key)
        assert r.error == ""
        assert list(r.objects) == sorted(f"{key}/{rel}" for rel in TREE)
        sub = client.list_objects(store.config, f"{key}/reports")
        assert list(sub.objects) == [f"{key}/reports/deep/nested/data.bin", f"{key}/reports/summary.json"]

    def test_is_directory(self, client, store, key, tmp_path):
        client.save(store.config, key, write_tree(tmp_path / "out", TREE))
        assert client.is_directory(store.config, key).is_directory is True
        assert client.is_directory(store.config, f"{key}/reports").is_directory is True
        file_answer = client.is_directory(store.config, f"{key}/hello.txt")
        assert (file_answer.is_directory, file_answer.error) == (False, "")
        missing = client.is_directory(store.config, f"{key}/nope")
        assert (missing.is_directory, missing.error) == (False, "")

    def test_load_directory_keeps_relative_paths(self, client, store, key, tmp_path):
        client.save(store.config, key, write_tree(tmp_path / "out", TREE))
        dest = tmp_path / "in" / "art"
        r = client.load(store.config, key, dest)
        assert (r.success, r.error) == (True, "")
        assert read_tree(dest) == TREE
        assert sorted(os.listdir(dest.parent)) == ["art"]

    def test_load_directory_written_by_someone_else(self, client, store, key, tmp_path):
        for rel, data in TREE.items():
            store.put(f"{key}/{rel}", data)
        dest = tmp_path / "art"
        assert client.load(store.config, key, dest).success
        assert read_tree(dest) == TREE

    def test_delete_removes_the_whole_prefix_and_nothing_else(self, client, store, key, tmp_path):
        client.save(store.config, key, write_tree(tmp_path / "out", TREE))
        store.put(key + "-sibling", b"keep me")  # shares the text prefix, not the key path
        store.put(key + "x/other", b"keep me too")
        r = client.delete(store.config, key)
        assert (r.success, r.error) == (True, "")
        assert store.keys(key) == []
        assert not client.is_directory(store.config, key).is_directory
        assert store.get(key + "-sibling") == b"keep me"
        assert store.get(key + "x/other") == b"keep me too"

    def test_delete_of_a_single_object(self, client, store, key):
        store.put(key, b"x")
        store.put(key + ".log", b"keep")
        assert client.delete(store.config, key).success
        assert not store.exists(key)
        assert store.exists(key + ".log")

    def test_delete_of_a_missing_key_succeeds(self, client, store, key):
        r = client.delete(store.config, key)
        assert (r.success, r.error) == (True, "")

    def test_empty_directory(self, client, store, key, tmp_path):
        """Object stores keep objects, not directories: an empty directory saves as nothing
        there, so loading it back is "not found". Stores that keep directories say so."""
        (tmp_path / "empty").mkdir()
        assert client.save(store.config, key, tmp_path / "empty").success
        assert store.keys(key) == []
        listed = client.list_objects(store.config, key)
        assert (list(listed.objects), listed.error) == ([], "")
        r = client.load(store.config, key, tmp_path / "back")
        if store.keeps_empty_directories:
            assert r.success and list((tmp_path / "back").iterdir()) == []
        else:
            assert not r.success and "not found" in r.error


class TestStreaming:
    def test_open_stream_small_object(self, client, store, key):
        store.put(key, b"streamed")
        messages = client.open_stream(store.config, key)
        assert b"".join(m.data for m in messages) == b"streamed"
        assert messages[-1].is_end and messages[-1].data == b"" and messages[-1].error == ""
        assert all(not m.is_end for m in messages[:-1])

    def test_open_stream_empty_object(self, client, store, key):
        store.put(key, b"")
        messages = client.open_stream(store.config, key)
        assert [(m.data, m.is_end, m.error) for m in messages] == [(b"", True, "")]

    def test_save_stream_small_and_empty(self, client, store, key):
        r = client.save_stream(store.config, key, [b"abc", b"", b"def"])
        assert (r.success, r.error) == (True, "")
        assert store.get(key) == b"abcdef"
        r = client.save_stream(store.config, key + "-empty", [])
        assert r.success and store.get(key + "-empty") == b""

    def test_streams_both_ways_at_a_nested_unicode_key(self, client, store, key):
        nested = f"{key}/deep er/\u00e9t\u00e9 \u6587/data #1.bin"
        data = bytes(range(256)) * 9000  # spans several messages and write blocks
        r = client.save_stream(store.config, nested, (data[i : i + 100_000] for i in range(0, len(data), 100_000)))
        assert (r.success, r.error) == (True, "")
        assert store.get(nested) == data
        assert client.stream_bytes(store.config, nested) == (data, "")
        assert list(client.list_objects(store.config, key).objects) == [nested]
        assert client.is_directory(store.config, f"{key}/deep er").is_directory is True

    def test_open_stream_of_a_directory_says_so(self, client, store, key):
        store.put(f"{key}/a.txt", b"a")
        data, error = client.stream_bytes(store.config, key)
        assert data == b"" and "directory" in error and key in error

    @pytest.mark.slow
    def test_64_mib_streamed_both_ways(self, client, store, key, tmp_path):
        data = os.urandom(64 * MiB)
        digest = hashlib.sha256(data).hexdigest()
        chunks = (data[i : i + 2 * MiB] for i in range(0, len(data), 2 * MiB))
        r = client.save_stream(store.config, key, chunks)
        assert (r.success, r.error) == (True, "")
        assert hashlib.sha256(store.get(key)).hexdigest() == digest
        messages = client.open_stream(store.config, key)
        assert max(len(m.SerializeToString()) for m in messages) < GO_DEFAULT_MAX_MESSAGE
        assert messages[-1].is_end and not messages[-1].data
        assert hashlib.sha256(b"".join(m.data for m in messages)).hexdigest() == digest

    @pytest.mark.slow
    def test_64_mib_save_and_load(self, client, store, key, tmp_path):
        src = tmp_path / "big"
        src.write_bytes(os.urandom(64 * MiB))
        assert client.save(store.config, key, src).success
        assert store.fs.size(store.path(key)) == 64 * MiB
        dest = tmp_path / "big.loaded"
        assert client.load(store.config, key, dest).success
        assert hashlib.sha256(dest.read_bytes()).digest() == hashlib.sha256(src.read_bytes()).digest()


class TestMissing:
    def test_load_of_a_missing_key(self, client, store, key, tmp_path):
        dest = tmp_path / "never"
        r = client.load(store.config, key, dest)
        assert not r.success
        assert "not found" in r.error and key in r.error
        assert list(tmp_path.iterdir()) == []  # nothing left at or beside path

    def test_open_stream_of_a_missing_key(self, client, store, key):
        data, error = client.stream_bytes(store.config, key)
        assert data == b"" and "not found" in error and key in error

    def test_list_and_is_directory_of_a_missing_key(self, client, store, key):
        r = client.list_objects(store.config, key)
        assert (list(r.objects), r.error) == ([], "")
        assert client.is_directory(store.config, key).is_directory is False

    def test_save_of_a_missing_local_path(self, client, store, key, tmp_path):
        r = client.save(store.config, key, tmp_path / "nothing-here")
        assert not r.success and "does not exist" in r.error and "nothing-here" in r.error
        assert not store.exists(key)


class TestNothingHalfDone:
    def test_broken_save_stream_leaves_nothing_at_the_key(self, client, store, key):
        class Broken(Exception):
            pass

        def chunks():
            yield b"x" * MiB
            yield b"y" * MiB
            raise Broken()  # the client dies mid-stream

        with pytest.raises(grpc.RpcError):  # gRPC cancels the call when the request iterator raises
            client.save_stream(store.config, key, chunks())
        assert not store.exists(key)
        # The server learns of the cancellation asynchronously; give it a moment to
        # throw away what it had written under a temporary name.
        parent = key.rsplit("/", 1)[0]
        assert eventually(lambda: store.keys(parent) == [])
        assert not store.exists(key)

    def test_save_cut_short_by_its_deadline_publishes_all_or_nothing(self, client, store, key, tmp_path):
        """A Save whose client gives up mid-upload: the object is then absent or whole,
        never a part of the file, and no temporary name stays. (Whole is allowed: a store
        that takes an object in one request commits it once the last byte is sent, which
        may be after the client left.)"""
        # Large enough that no store here takes it within the deadline: the upload is cut
        # in the middle of its body (a GCS media upload then committed the part it got).
        data = os.urandom(256 * MiB)
        src = tmp_path / "big"
        src.write_bytes(data)
        request = pb.SaveArtifactRequest(output_artifact=artifact(store.config, key), path=str(src))
        try:
            client.stub.Save(request, timeout=0.2)
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED, exc
        parent = key.rsplit("/", 1)[0]
        assert eventually(lambda: store.keys(parent) in ([], [key]), timeout=30), store.keys(parent)
        time.sleep(1)  # nothing else appears later either
        assert store.keys(parent) in ([], [key])
        if store.keys(parent):
            assert hashlib.sha256(store.get(key)).digest() == hashlib.sha256(data).digest()

    def test_load_that_cannot_be_completed_leaves_nothing(self, client, store, key, tmp_path):
        # 'a' is an object and also a prefix of 'a/b': no local directory can hold both.
        store.put(f"{key}/a", b"file")
        if not store.object_and_prefix_may_share_a_name:
            with pytest.raises(OSError):
                store.put(f"{key}/a/b", b"below")
            return
        store.put(f"{key}/a/b", b"below")
        dest = tmp_path / "art"
        r = client.load(store.config, key, dest)
        assert not r.success and "'a'" in r.error
        assert list(tmp_path.iterdir()) == []
