"""What core reports to its observer (:mod:`argo_artifact_driver.core.observe`): one report
per storage operation with what it moved, the plan of each transfer, every retry, and all
of it in the context of the call that caused it, worker threads included."""

from __future__ import annotations

import contextlib
import contextvars
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from argo_artifact_driver.core.errors import StorageUnavailable
from argo_artifact_driver.core.observe import Observer, Operation
from argo_artifact_driver.core.settings import Settings
from support.memory import MemoryBackend, make_store

#: Stands for what the gRPC edge keeps per call: the observer must see it in every thread.
CALL: contextvars.ContextVar[str] = contextvars.ContextVar("call")


class Noted(Operation):
    def __init__(self) -> None:
        self.facts: dict[str, Any] = {}

    def note(self, **facts: Any) -> None:
        self.facts.update(facts)


class Recorder(Observer):
    def __init__(self) -> None:
        self.operations: list[dict[str, Any]] = []
        self.plans: list[dict[str, Any]] = []
        self.retries: list[tuple[int, str]] = []
        self.lock = threading.Lock()

    @contextlib.contextmanager
    def operation(self, name: str, **facts: Any) -> Iterator[Operation]:
        noted = Noted()
        record = {"name": name, "call": CALL.get(None), "thread": threading.current_thread().name, **facts}
        try:
            yield noted
            record["outcome"] = "ok"
        except BaseException as exc:
            record["outcome"] = type(exc).__name__
            raise
        finally:
            record.update(noted.facts)
            with self.lock:
                self.operations.append(record)

    def plan(self, transfer: str, **facts: Any) -> None:
        self.plans.append({"transfer": transfer, "call": CALL.get(None), **facts})

    def retry(self, attempt: int, error: BaseException, pause: float) -> None:
        self.retries.append((attempt, type(error).__name__))

    def named(self, name: str) -> list[dict[str, Any]]:
        return [op for op in self.operations if op["name"] == name]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@contextlib.contextmanager
def call(name: str) -> Iterator[None]:
    token = CALL.set(name)
    try:
        yield
    finally:
        CALL.reset(token)


def write_files(top: Path, count: int, size: int) -> Path:
    top.mkdir()
    for i in range(count):
        (top / f"f{i}").write_bytes(b"x" * size)
    return top


def test_a_directory_save_and_load_report_their_plan_and_each_object_in_the_calls_context(recorder, tmp_path):
    store = make_store(settings=Settings(transfer_concurrency=2), observer=recorder)
    src = write_files(tmp_path / "out", 3, 10)
    with call("save-call"):
        store.save(str(src), "k")
    assert recorder.plans == [{"transfer": "save", "call": "save-call", "objects": 3, "bytes": 30, "concurrency": 2}]
    puts = recorder.named("put")
    assert [p["bytes"] for p in puts] == [10, 10, 10]
    # the puts ran in the transfer pool's threads, and still saw the call
    assert {p["call"] for p in puts} == {"save-call"} and all(p["thread"].startswith("transfer") for p in puts)
    assert [c["endpoints"] for c in recorder.named("connect")] == [""]  # the memory store reaches no server

    recorder.operations.clear()
    with call("load-call"):
        store.load("k", str(tmp_path / "in"))
    assert recorder.plans[-1] == {"transfer": "load", "call": "load-call", "objects": 3, "bytes": 30, "concurrency": 2}
    assert [op["objects"] for op in recorder.named("list")] == [3]
    assert sorted(op["bytes"] for op in recorder.named("get")) == [10, 10, 10]
    assert {op["call"] for op in recorder.operations} == {"load-call"}


def test_a_stream_reports_one_read_with_its_bytes_in_the_context_it_was_opened_in(recorder, tmp_path):
    store = make_store(settings=Settings(stream_chunk_size=4096), observer=recorder)
    (tmp_path / "f").write_bytes(b"y" * 10_000)
    store.save(str(tmp_path / "f"), "obj")
    with call("stream-call"):
        chunks = store.open_stream("obj")
    data = b"".join(chunks)  # consumed after the call's context was left, as gRPC may do
    assert len(data) == 10_000
    (read,) = recorder.named("read")
    assert read == {"name": "read", "call": "stream-call", "thread": "read-ahead", "outcome": "ok", "bytes": 10_000}
    assert recorder.plans[-1] == {"transfer": "read", "call": "stream-call", "chunk_bytes": 4096,
                                  "read_ahead_chunks": Settings().read_ahead_chunks}


def test_a_stream_written_reports_its_bytes(recorder):
    store = make_store(observer=recorder)
    with call("put-call"):
        assert store.save_stream("obj", iter([b"a" * 100, b"b" * 50])) == 150
    (write,) = recorder.named("write")
    assert write["bytes"] == 150 and write["call"] == "put-call" and write["outcome"] == "ok"
    assert recorder.plans[-1]["transfer"] == "write" and recorder.plans[-1]["block_bytes"] == Settings().write_block_size


def test_a_failed_operation_is_reported_with_its_failure(recorder, tmp_path):
    store = make_store(observer=recorder)
    with pytest.raises(StorageUnavailable):
        store.save_stream("obj", _broken_stream())
    assert recorder.named("write")[0]["outcome"] == "OSError"


def _broken_stream() -> Iterator[bytes]:
    yield b"part"
    raise OSError("the client went away")


class FlakyBackend(MemoryBackend):
    """Each object's first download breaks mid-body: the one failure core retries."""

    failed: set[str] = set()

    def download_file(self, fs: Any, rpath: str, lpath: str, callback: Any = None) -> None:
        if rpath not in self.failed:
            self.failed.add(rpath)
            raise ConnectionResetError("connection reset mid-body")
        super().download_file(fs, rpath, lpath, callback)


def test_a_retry_is_reported_and_each_attempt_is_its_own_operation(recorder, tmp_path):
    store = make_store(FlakyBackend, observer=recorder)
    (tmp_path / "f").write_bytes(b"z" * 5)
    store.save(str(tmp_path / "f"), "obj")
    assert store.load("obj", str(tmp_path / "back")) == 5
    assert recorder.retries == [(1, "ConnectionResetError")]
    assert [op["outcome"] for op in recorder.named("get")] == ["ConnectionResetError", "ok"]


def test_delete_and_is_directory_are_reported(recorder, tmp_path):
    store = make_store(observer=recorder)
    store.save(str(write_files(tmp_path / "d", 2, 1)), "k")
    assert store.is_directory("k")
    assert store.delete("k") == 2
    assert [op["outcome"] for op in recorder.named("isdir")] == ["ok"]
    assert recorder.named("delete")[0]["objects"] == 2
