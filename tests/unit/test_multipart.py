"""Objects written in parts (core/multipart.py): the part sizes a store is sent, the order
of its calls, memory bounded in bytes across every writer, and nothing published when a
write fails or is called off. Stores on fsspec's memory filesystem (support/memory.py)."""

from __future__ import annotations

import asyncio
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fsspec.asyn import get_loop

from argo_artifact_driver.core.deadline import Deadline
from argo_artifact_driver.core.errors import Cancelled
from argo_artifact_driver.core.multipart import ByteBudget, PartWriter
from argo_artifact_driver.core.settings import Settings
from support.memory import MemoryUpload, PartsMemoryBackend, make_store

PART = 1024


def parts_store(**settings: int):
    values = {"write_block_size": PART, "upload_concurrency": 3, "transfer_memory": 8 * PART, **settings}
    return make_store(PartsMemoryBackend, Settings(**values))


def content(store, key: str) -> bytes:
    return store.fs.cat_file(f"{store.backend.root()}/{key}")


@pytest.mark.parametrize("size", [0, 1, PART - 1, PART, PART + 1, 3 * PART + 5])
def test_a_saved_file_is_sent_in_full_parts_and_one_shorter_last(tmp_path: Path, size: int):
    store = parts_store()
    data = bytes(range(256)) * (size // 256 + 1)
    (tmp_path / "f").write_bytes(data[:size])
    assert store.save(str(tmp_path / "f"), "k") == size
    assert content(store, "k") == data[:size]
    [log] = store.backend.uploads
    if size < PART:  # smaller than a part: one request, and nothing started before it
        assert log == [("put", size)]
    else:
        sizes = [n for op, n in log if op == "part"]
        assert log[0] == ("begin", None) and log[-1] == ("complete", len(sizes))
        assert sizes[:-1] == [PART] * (len(sizes) - 1) and 0 < sizes[-1] <= PART and sum(sizes) == size
    assert store.budget.held == 0


def test_a_stream_is_gathered_into_parts_whatever_its_chunks():
    store = parts_store()
    chunks = [b"a" * 700, b"b" * 700, b"", b"c" * 2000, b"d"]
    assert store.save_stream("k", chunks) == 3401
    assert content(store, "k") == b"".join(chunks)
    assert [n for op, n in store.backend.uploads[0] if op == "part"] == [PART, PART, PART, 329]


def test_parts_of_every_writer_stay_within_the_budget(tmp_path: Path):
    """Twelve files of five parts saved at once (a directory), two parts of budget: the
    parts held at any moment never exceed it, and everything arrives."""
    store = parts_store(transfer_memory=2 * PART, upload_concurrency=4, transfer_concurrency=12)
    tree = {f"d/f{i}": bytes([i]) * (5 * PART) for i in range(12)}
    for rel, data in tree.items():
        (tmp_path / "src" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / rel).write_bytes(data)
    store.save(str(tmp_path / "src"), "tree")
    assert {rel: content(store, f"tree/{rel}") for rel in tree} == tree
    assert store.budget.peak <= 2 * PART
    assert store.budget.held == 0


def test_a_failed_part_aborts_the_upload_and_publishes_nothing(tmp_path: Path):
    store = parts_store()

    class Failing(MemoryUpload):
        async def upload_part(self, number: int, data: bytes) -> int:
            if number == 2:
                raise ConnectionError("the store went away")
            return await super().upload_part(number, data)

    log: list = []
    store.backend.multipart_upload = lambda fs, rpath: Failing(fs, rpath, log)
    (tmp_path / "f").write_bytes(b"x" * (4 * PART))
    with pytest.raises(Exception, match="went away"):
        store.save(str(tmp_path / "f"), "k")
    assert not store.fs.exists(f"{store.backend.root()}/k")
    assert log[-1] == ("abort", None) and ("complete", 4) not in log
    assert store.budget.held == 0


def test_a_stream_called_off_between_parts_aborts_and_publishes_nothing():
    store = parts_store()
    called_off = []

    def chunks():
        yield b"a" * (2 * PART)
        called_off.append(True)
        yield b"b" * PART

    with pytest.raises(Cancelled):
        store.save_stream("k", chunks(), Deadline(cancelled=lambda: bool(called_off)))
    assert not store.fs.exists(f"{store.backend.root()}/k")
    assert store.backend.uploads[0][-1] == ("abort", None)
    assert store.budget.held == 0


def test_a_stream_refused_before_publishing_aborts_after_every_part_arrived():
    store = parts_store()

    def refuse() -> None:
        raise Cancelled("the client did not finish")

    with pytest.raises(Cancelled):
        store.save_stream("k", [b"z" * (3 * PART)], before_publish=refuse)
    log = store.backend.uploads[0]
    assert [op for op, _ in log] == ["begin", "part", "part", "part", "abort"]
    assert not store.fs.exists(f"{store.backend.root()}/k")


def test_an_object_larger_than_the_part_count_allows_gets_larger_parts():
    log: list = []
    upload = MemoryUpload(make_store().fs, "/unit-large/k", log)
    upload.max_parts = 4
    writer = PartWriter(upload, get_loop(), part_size=PART, concurrency=2, budget=ByteBudget(64 * PART), size=10 * PART)
    writer.write_from(io.BytesIO(b"q" * (10 * PART)))
    writer.commit()
    sizes = [n for op, n in log if op == "part"]
    assert len(sizes) <= 4 and sum(sizes) == 10 * PART


def test_a_file_longer_than_its_size_said_is_sent_whole():
    """A file that grew between the size check and the read: every byte goes out."""
    log: list = []
    upload = MemoryUpload(make_store().fs, "/unit-grew/k", log)
    writer = PartWriter(upload, get_loop(), part_size=PART, concurrency=2, budget=ByteBudget(8 * PART), size=PART + 10)
    data = bytes(range(256)) * 12  # 3072 bytes, more than the 1034 said
    assert writer.write_from(io.BytesIO(data)) == len(data)
    writer.commit()
    assert upload.fs.cat_file("/unit-grew/k") == data
    assert all(n >= PART for op, n in log if op == "part")  # only the last part may be short


def test_a_waiting_writer_gives_up_when_its_call_is_called_off():
    """The budget is spent by another writer; this one waits, and stops when called off."""
    budget = ByteBudget(PART)
    held = budget.acquire(PART)
    called_off = threading.Event()
    upload = MemoryUpload(make_store().fs, "/unit-wait/k", [])

    def check() -> None:
        if called_off.is_set():
            raise Cancelled("called off")

    writer = PartWriter(upload, get_loop(), part_size=PART, concurrency=1, budget=budget, check=check)
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(writer.write, b"w" * PART)
        called_off.set()
        with pytest.raises(Cancelled):
            waiting.result(timeout=5)
    writer.abort()
    budget.release(held)
    assert budget.held == 0


def test_parts_run_on_the_loop_given():
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()
    seen = set()

    class Watching(MemoryUpload):
        async def upload_part(self, number: int, data: bytes) -> int:
            seen.add(asyncio.get_running_loop())
            return await super().upload_part(number, data)

    upload = Watching(make_store().fs, "/unit-loop/k", [])
    writer = PartWriter(upload, loop, part_size=PART, concurrency=2, budget=ByteBudget(4 * PART))
    writer.write(b"l" * (3 * PART))
    writer.commit()
    loop.call_soon_threadsafe(loop.stop)
    assert seen == {loop}
