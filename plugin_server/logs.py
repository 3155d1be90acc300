"""Structured logs: one line per event on stderr, a JSON object (default) or logfmt text.

Every RPC ends with one ``call`` line (method, scheme, key, bytes, duration, outcome).
Configuration text is never logged: it is where a user might paste a credential. The two
formats are the two of Argo's ``--log-format`` (json, text), so a plugin container logs
like the executor containers beside it.
"""

from __future__ import annotations

import json
import logging
import sys
import time

LOGGER = "argo_artifact_driver"


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON object; fields passed as ``extra={"fields": {...}}``."""

    def entry(self, record: logging.LogRecord) -> dict:
        """The record as ordered fields: time, level, msg, the record's own fields, traceback."""
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return entry

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(self.entry(record), default=str, ensure_ascii=False)


class TextFormatter(JsonFormatter):
    """Render a record as logfmt, ``time=... level=info msg=call method=Load ...``, the shape
    of Argo's text logs; values with spaces, quotes or line breaks are quoted, so a record
    stays one line (a traceback too)."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{key}={_logfmt_value(value)}" for key, value in self.entry(record).items())


def _logfmt_value(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    if text and not any(c in text for c in ' "=\\\n\t'):
        return text
    return json.dumps(text, ensure_ascii=False)


FORMATTERS = {"json": JsonFormatter, "text": TextFormatter}


def configure_logging(level: str = "INFO", fmt: str = "json") -> logging.Logger:
    """Send this plugin's logs to stderr, from ``level`` (a ``logging`` level name) up, as
    ``fmt`` (``json`` or ``text``)."""
    logger = logging.getLogger(LOGGER)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(FORMATTERS[fmt]())
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
    return logger
