"""``scheme: fallback`` over two memory stores: reads fall back only when the primary lacks
the key, every other failure is reported naming its side, writes go to the primary."""

from __future__ import annotations

import pytest

from argo_artifact_driver.core.errors import BadConfiguration, NotFound, PermissionDenied
from argo_artifact_driver.core.fallback import FallbackStore
from support.memory import MemoryBackend, make_store, sizes


@pytest.fixture
def sides():
    return make_store(), make_store()


def test_reads_come_from_the_primary_first(sides, tmp_path):
    primary, old = sides
    primary.save_stream("k", [b"new"])
    old.save_stream("k", [b"old"])
    store = FallbackStore(primary, old)
    assert b"".join(store.open_stream("k")) == b"new"
    store.load("k", str(tmp_path / "x"))
    assert (tmp_path / "x").read_bytes() == b"new"


def test_a_key_only_the_old_store_has_is_read_from_it(sides, tmp_path):
    primary, old = sides
    primary.fs.mkdir(primary.backend.root())  # the primary's bucket exists, the key does not
    old.save_stream("d/k", [b"old"])
    store = FallbackStore(primary, old)
    assert b"".join(store.open_stream("d/k")) == b"old"
    assert store.list_objects("d") == ["d/k"] and store.is_directory("d")
    store.load("d", str(tmp_path / "x"))
    assert (tmp_path / "x" / "k").read_bytes() == b"old"


def test_a_key_in_neither_store_names_both(sides):
    primary, old = sides
    primary.fs.mkdir(primary.backend.root())
    with pytest.raises(NotFound, match=r"not found in the primary store .* nor in the fallback store"):
        list(FallbackStore(primary, old).open_stream("nope"))


def test_other_failures_of_the_primary_are_reported_not_hidden(sides):
    class Refusing(MemoryBackend):
        def open_reader(self, fs, rpath):
            raise PermissionError("forbidden")

    _, old = sides
    old.save_stream("k", [b"old"])
    with pytest.raises(PermissionDenied, match="^primary store: permission denied"):
        list(FallbackStore(make_store(Refusing), old).open_stream("k"))


def test_a_primary_without_its_bucket_is_a_configuration_error(sides):
    primary, old = sides  # the primary's root was never created: a bucket that does not exist
    old.save_stream("k", [b"old"])
    with pytest.raises(BadConfiguration, match="^primary store: .* does not exist"):
        list(FallbackStore(primary, old).open_stream("k"))


def test_writes_go_to_the_primary_and_with_write_both_to_both(sides, tmp_path):
    primary, old = sides
    FallbackStore(primary, old).save_stream("a", [b"1"])
    assert sizes(primary) == {"a": 1} and sizes(old) == {}
    (tmp_path / "f").write_bytes(b"22")
    both = FallbackStore(primary, old, write_both=True)
    both.save(str(tmp_path / "f"), "b")
    both.save_stream("c", [b"333"])
    assert sizes(old) == {"b": 2, "c": 3}


def test_delete_removes_from_both(sides):
    primary, old = sides
    primary.save_stream("k", [b"1"])
    old.save_stream("k", [b"1"])
    assert FallbackStore(primary, old).delete("k") == 2
    assert sizes(primary) == sizes(old) == {}
