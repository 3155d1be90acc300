"""Storage errors become messages a person can act on; anything else is a bug and stays one."""

from __future__ import annotations

import pytest

from argo_artifact_driver.core.errors import (
    BadConfiguration,
    Conflict,
    NotFound,
    PermissionDenied,
    StorageUnavailable,
    is_transient,
    translate,
)
from support.memory import MemoryBackend, make_store

WHAT = "key 'k' in memory://x"


@pytest.mark.parametrize(
    "exc, kind, text",
    [
        (FileNotFoundError(2, "No such file"), NotFound, "key 'k' in memory://x was not found (No such file)"),
        (PermissionError("AccessDenied"), PermissionDenied, "permission denied for key 'k' in memory://x: AccessDenied"),
        (IsADirectoryError("is a dir"), Conflict, "key 'k' in memory://x: is a dir"),
        (ConnectionResetError("reset by peer"), StorageUnavailable, "storage unreachable for key 'k'"),
        (TimeoutError("read timed out"), StorageUnavailable, "storage unreachable for key 'k'"),
        (OSError(28, "No space left on device"), StorageUnavailable, "no space left writing key 'k'"),
        (OSError("InternalError"), StorageUnavailable, "storage error for key 'k' in memory://x: InternalError"),
    ],
)
def test_storage_errors_are_worded_with_what_failed(exc, kind, text):
    error = translate(exc, WHAT)
    assert type(error) is kind and text in error.message


@pytest.mark.parametrize("bug", [AttributeError("'NoneType' object has no attribute 'read'"), KeyError("x"), TypeError()])
def test_anything_else_is_not_translated(bug):
    assert translate(bug, WHAT) is None


def test_a_bug_in_a_backend_hook_reaches_the_caller_as_itself(tmp_path):
    class Buggy(MemoryBackend):
        def download_file(self, fs, rpath, lpath, callback=None):
            raise AttributeError("'NoneType' object has no attribute 'read'")

    store = make_store(Buggy)
    store.save_stream("k", [b"x"])
    with pytest.raises(AttributeError):  # not "storage unavailable": the edge logs its traceback
        store.load("k", str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()


def test_a_bug_in_one_file_of_a_directory_is_not_hidden_behind_a_summary(tmp_path):
    class Buggy(MemoryBackend):
        def upload_file(self, fs, lpath, rpath, callback=None):
            raise KeyError("oops")

    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"x")
    with pytest.raises(KeyError):
        make_store(Buggy).save(str(tmp_path / "d"), "k")


def test_builtin_error_lets_a_backend_word_its_sdk(tmp_path):
    class SdkError(Exception):
        pass

    class Mapped(MemoryBackend):
        def download_file(self, fs, rpath, lpath, callback=None):
            raise SdkError("401 Unauthorized")

        def builtin_error(self, exc):
            return PermissionError(str(exc)) if isinstance(exc, SdkError) else exc

    store = make_store(Mapped)
    store.save_stream("k", [b"x"])
    with pytest.raises(PermissionDenied, match="401 Unauthorized"):
        store.load("k", str(tmp_path / "x"))


def test_builtin_error_may_answer_with_an_artifact_error(tmp_path):
    class Mapped(MemoryBackend):
        def download_file(self, fs, rpath, lpath, callback=None):
            raise ValueError("bad region")

        def builtin_error(self, exc):
            return BadConfiguration("set 'region'")

    store = make_store(Mapped)
    store.save_stream("k", [b"x"])
    with pytest.raises(BadConfiguration, match="set 'region'"):
        store.load("k", str(tmp_path / "x"))


@pytest.mark.parametrize(
    "exc, transient",
    [
        (ConnectionResetError(), True), (TimeoutError(), True), (FileNotFoundError(), False),
        (PermissionError(), False), (ValueError(), False), (NotFound("x"), False), (RuntimeError(), False),
    ],
)
def test_only_transport_failures_are_worth_another_attempt(exc, transient):
    assert is_transient(exc) is transient
