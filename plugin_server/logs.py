"""Structured logs: one JSON object per line on stderr.

Every RPC ends with one ``call`` line (method, scheme, key, bytes, duration, outcome).
Configuration text is never logged: it is where a user might paste a credential.
"""

from __future__ import annotations

import json
import logging
import sys
import time

LOGGER = "argo_artifact_driver"


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON object; fields passed as ``extra={"fields": {...}}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> logging.Logger:
    """Send this plugin's logs to stderr as JSON, from ``level`` (a ``logging`` level name) up."""
    logger = logging.getLogger(LOGGER)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
    return logger
