"""Log lines on stderr, in the two formats Argo's own components write.

Argo v4 logs through Go's ``log/slog``: ``--log-format json`` gives one JSON object per
line, ``{"time":"...","level":"INFO","msg":"...",...fields}``; ``text`` gives
``time=... level=INFO msg=... key=value``. Level names are slog's: ``DEBUG``, ``INFO``,
``WARN``, ``ERROR``. The plugin writes the same, so its lines sit next to the executor's
and one query finds both.

Every RPC ends with one ``call`` line at the level its outcome deserves (:func:`level_for`).
Configuration text is never logged: it is where a user might paste a credential.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
import sys
from typing import Any

from ..core.errors import ArtifactError, BackendUnavailable, Cancelled, StorageUnavailable
from ..core.settings import LOG_FORMATS, LOG_LEVELS

LOGGER = "argo_artifact_driver"

#: Python's level names as slog writes them.
_SLOG_LEVELS = {"DEBUG": "DEBUG", "INFO": "INFO", "WARNING": "WARN", "ERROR": "ERROR", "CRITICAL": "ERROR"}


def level_for(error: BaseException | None) -> int:
    """The level of the line reporting a call that ended with ``error`` (None: it succeeded).

    A person must act on warnings and errors, so the level says who: the workflow's author
    (a missing key, a bad configuration, a policy refusal, a permission the workflow's
    credentials lack: ``WARN``), the operator (a store that is down, a backend that cannot
    load: ``ERROR``), or us (anything that is not an :class:`ArtifactError` is a bug:
    ``ERROR``, with its traceback). A success, or a client that went away, is ``INFO``."""
    if error is None or isinstance(error, Cancelled):
        return logging.INFO
    if isinstance(error, (StorageUnavailable, BackendUnavailable)) or not isinstance(error, ArtifactError):
        return logging.ERROR
    return logging.WARNING


def _time(record: logging.LogRecord) -> str:
    """RFC 3339 in UTC with microseconds, as slog writes its JSON times (RFC3339Nano)."""
    return datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _entries(record: logging.LogRecord, formatter: logging.Formatter) -> dict[str, Any]:
    entry = {"time": _time(record), "level": _SLOG_LEVELS.get(record.levelname, record.levelname), "msg": record.getMessage()}
    entry.update(getattr(record, "fields", {}))
    if record.exc_info:
        entry["traceback"] = formatter.formatException(record.exc_info)
    return entry


class JsonFormatter(logging.Formatter):
    """One JSON object per line, compact like slog's; fields passed as ``extra={"fields": {...}}``."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_entries(record, self), default=str, ensure_ascii=False, separators=(",", ":"))


#: What slog's text handler writes unquoted (anything else is quoted).
_BARE = re.compile(r"[^\s=\"\\\x00-\x1f\x7f]+")


class TextFormatter(logging.Formatter):
    """``key=value`` pairs on one line, like slog's text handler; values with spaces,
    quotes or ``=`` are quoted, and a traceback's newlines are escaped, so a record is
    always one line."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{key}={_text_value(value)}" for key, value in _entries(record, self).items())


def _text_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str):
        value = value if isinstance(value, (int, float)) else json.dumps(value, default=str, ensure_ascii=False)
        value = str(value)
    return value if _BARE.fullmatch(value) else json.dumps(value, ensure_ascii=False)


_FORMATTERS = {"json": JsonFormatter, "text": TextFormatter}


def configure_logging(level: str = "info", fmt: str = "json") -> logging.Logger:
    """Send this plugin's logs to stderr from ``level`` up, in format ``fmt``.

    ``level`` is a name Argo's ``--loglevel`` takes (``debug``, ``info``, ``warn``,
    ``error``, and its legacy ``trace``, ``print``, ``fatal``, ``panic``) or a Python level
    name; ``fmt`` is ``json`` or ``text`` (Argo's ``--log-format``). Both are
    case-insensitive; anything else raises ``ValueError`` naming what is accepted."""
    python_level = LOG_LEVELS.get(level.lower(), level.upper())
    if python_level not in _SLOG_LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}; got {level!r}")
    if fmt.lower() not in _FORMATTERS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}; got {fmt!r}")
    logger = logging.getLogger(LOGGER)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_FORMATTERS[fmt.lower()]())
    logger.handlers[:] = [handler]
    logger.setLevel(python_level)
    logger.propagate = False
    return logger
