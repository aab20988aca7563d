"""Structured logs: one JSON object per line, with the attempt id on every line about one.

The attempt id travels in a context variable set by the request, so that any module
logging during that request names the attempt without being told. Tokens are never
logged: the access log writes the path without its query string.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from typing import Any

import orjson

attempt_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "attempt_id", default=None
)


class JSONFormatter(logging.Formatter):
    """A log record as a JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        attempt = getattr(record, "attempt_id", None) or attempt_id_var.get()
        if attempt:
            doc["attempt_id"] = attempt
        for key in ("exam_id", "method", "path", "status", "ms", "kind", "count"):
            value = getattr(record, key, None)
            if value is not None:
                doc[key] = value
        if record.exc_info:
            doc["error"] = self.formatException(record.exc_info)
        try:
            return orjson.dumps(doc).decode()
        except TypeError:  # orjson.JSONEncodeError: a lone surrogate, or a value it cannot write
            # A log line must never fail: the standard encoder escapes what is not text
            # (`\ud800`) and writes anything else as its str().
            return json.dumps(doc, ensure_ascii=True, default=str)


def setup(level: str = "INFO") -> None:
    """Send every examvault log line to stderr as JSON."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger("examvault")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
