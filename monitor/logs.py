"""Logging to stderr, readable text or JSON lines, with stable keys.

Call sites pass context as ``extra={"source": ..., "rule": ..., "channel": ..., "action": ...}``;
both formats print those keys. Secrets never reach a log line: messages carry error text
from our own exceptions, which are built without credentials.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

KEYS = (
    "source",
    "release",
    "rule",
    "channel",
    "alert",
    "action",
    "status",
    "kind",
    "url",
    "baseline",
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in KEYS:
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        context = " ".join(f"{k}={getattr(record, k)}" for k in KEYS if hasattr(record, k))
        line = f"{stamp} {record.levelname.lower():7} {record.getMessage()}"
        if context:
            line += f"  [{context}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup_logging(fmt: str = "text", verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger("monitor")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
