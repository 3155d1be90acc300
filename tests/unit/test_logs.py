"""Log lines as Argo v4 writes its own (Go's log/slog, JSON or text), and the level of a
call's line by who must act on its outcome."""

from __future__ import annotations

import io
import json
import logging

import pytest

from argo_artifact_driver.core.errors import (
    BackendUnavailable,
    BadConfiguration,
    BadRequest,
    Cancelled,
    Conflict,
    DeadlineExceeded,
    NotFound,
    PermissionDenied,
    SecretUnavailable,
    StorageUnavailable,
    UnknownScheme,
)
from argo_artifact_driver.plugin_server import logs


@pytest.fixture
def logged():
    """Configure logging as the server does, into a buffer; returns (configure, buffer)."""
    buffer = io.StringIO()

    def configure(level: str = "info", log_format: str = "json") -> logging.Logger:
        logger = logs.configure_logging(level, log_format)
        logger.handlers[0].setStream(buffer)  # instead of stderr
        return logger

    yield configure, buffer
    logging.getLogger(logs.LOGGER).handlers[:] = []


@pytest.mark.parametrize("error, level", [
    (None, logging.INFO),
    (Cancelled("client gone"), logging.INFO),
    (NotFound("k"), logging.WARNING),
    (BadConfiguration("x"), logging.WARNING),
    (UnknownScheme("x"), logging.WARNING),
    (SecretUnavailable("x"), logging.WARNING),
    (BadRequest("x"), logging.WARNING),
    (PermissionDenied("x"), logging.WARNING),
    (Conflict("x"), logging.WARNING),
    (StorageUnavailable("x"), logging.ERROR),
    (DeadlineExceeded("x"), logging.ERROR),
    (BackendUnavailable("x"), logging.ERROR),
    (AttributeError("a bug"), logging.ERROR),
])
def test_the_level_says_who_must_act(error, level):
    assert logs.level_for(error) == level


def test_json_lines_are_slogs(logged):
    configure, buffer = logged
    configure("info", "json").warning("call", extra={"fields": {"method": "Load", "bytes": 0, "ok": False}})
    line = buffer.getvalue()
    assert line.count("\n") == 1 and ": " not in line  # compact, one object per line
    record = json.loads(line)
    assert list(record)[:3] == ["time", "level", "msg"]
    assert record["level"] == "WARN" and record["msg"] == "call" and record["method"] == "Load" and record["ok"] is False
    assert record["time"].endswith("Z") and len(record["time"]) == len("2026-01-02T03:04:05.123456Z")


def test_text_lines_are_one_line_of_key_value_pairs_quoted_where_needed(logged):
    configure, buffer = logged
    logger = configure("debug", "TEXT")
    logger.debug("plan", extra={"fields": {"objects": 3, "store": "s3://b at host:9000", "empty": "", "on": True}})
    try:
        raise ValueError("boom\nsecond line")
    except ValueError as exc:
        logger.error("call", exc_info=exc, extra={"fields": {"outcome": "internal"}})
    first, second = buffer.getvalue().splitlines()
    assert first.startswith("time=") and " level=DEBUG msg=plan objects=3 " in first
    assert 'store="s3://b at host:9000" empty="" on=true' in first
    assert " level=ERROR msg=call outcome=internal traceback=\"Traceback" in second
    assert "\\nValueError: boom\\nsecond line\"" in second


def test_levels_below_the_configured_one_are_not_written(logged):
    configure, buffer = logged
    logger = configure("warn")
    logger.info("call")
    logger.warning("call")
    assert [json.loads(line)["level"] for line in buffer.getvalue().splitlines()] == ["WARN"]


@pytest.mark.parametrize("name", ["debug", "trace", "INFO", "print", "warn", "warning", "error", "fatal", "panic"])
def test_argos_level_names_and_pythons_are_accepted(logged, name):
    configure, _ = logged
    configure(name)


def test_an_unknown_level_or_format_is_one_line_naming_what_is_accepted(logged):
    configure, _ = logged
    with pytest.raises(ValueError, match=r"^log level must be one of trace, debug, info, .*; got 'loud'$"):
        configure("loud")
    with pytest.raises(ValueError, match=r"^log format must be one of json, text; got 'xml'$"):
        configure("info", "xml")
