"""Moving data: bounded concurrency with per-item failures, read-ahead and write-behind
threads that stop when they must, and the one retry loop core has."""

from __future__ import annotations

import threading
import time

import pytest

from argo_artifact_driver.core.deadline import Deadline
from argo_artifact_driver.core.errors import DeadlineExceeded
from argo_artifact_driver.core.transfer import RetryPolicy, read_ahead, run_bounded, with_retries, write_behind


def test_run_bounded_runs_everything_and_reports_each_failure():
    running, peak = [0], [0]
    lock = threading.Lock()

    def action(n: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1
        if n % 5 == 0:
            raise OSError(f"item {n}")
        return n

    total, failures = run_bounded(list(range(1, 21)), action, workers=4)
    assert total == sum(n for n in range(1, 21) if n % 5)
    assert sorted(item for item, _ in failures) == [5, 10, 15, 20]
    assert peak[0] <= 4


def test_read_ahead_keeps_order_and_raises_in_place():
    def source():
        yield from (b"a", b"b")
        raise OSError("broken")

    got = []
    with pytest.raises(OSError, match="broken"):
        for chunk in read_ahead(source(), depth=2):
            got.append(chunk)
    assert got == [b"a", b"b"]


def test_read_ahead_stops_reading_and_closes_the_source_when_the_consumer_leaves():
    produced, closed = [], threading.Event()

    def source():
        try:
            for i in range(1000):
                produced.append(i)
                yield bytes([i % 256])
        finally:
            closed.set()

    stream = read_ahead(source(), depth=2)
    next(stream)
    stream.close()
    assert closed.wait(5)
    assert len(produced) <= 5  # at most depth ahead, not the whole source


def test_write_behind_writes_everything_in_order():
    written = []
    assert write_behind(written.append, (bytes([i]) for i in range(50)), depth=4) == 50
    assert written == [bytes([i]) for i in range(50)]


def test_write_behind_stops_at_the_first_failed_write():
    def write(chunk: bytes) -> None:
        if chunk == b"3":
            raise OSError("disk full")

    consumed = []

    def chunks():
        for i in range(1000):
            consumed.append(i)
            yield str(i).encode()

    with pytest.raises(OSError, match="disk full"):
        write_behind(write, chunks(), depth=2)
    assert len(consumed) < 1000


def test_with_retries_retries_transient_failures_only():
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionResetError()
        return "ok"

    policy = RetryPolicy(attempts=3, base_seconds=0.001, cap_seconds=0.001)
    transient = lambda exc: isinstance(exc, ConnectionError)  # noqa: E731
    assert with_retries(flaky, policy=policy, transient=transient, deadline=Deadline(), what="x") == "ok"
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(ConnectionResetError):
        with_retries(lambda: flaky() if len(calls) < 99 else "", policy=RetryPolicy(attempts=2, base_seconds=0.001),
                     transient=transient, deadline=Deadline(), what="x")
    with pytest.raises(PermissionError):
        with_retries(lambda: (_ for _ in ()).throw(PermissionError()), policy=policy, transient=transient,
                     deadline=Deadline(), what="x")


def test_with_retries_never_passes_the_deadline():
    with pytest.raises(DeadlineExceeded):
        with_retries(lambda: None, policy=RetryPolicy(), transient=lambda e: True, deadline=Deadline(0), what="x")
