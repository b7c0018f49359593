"""Logging to stderr, readable text or JSON lines, with stable keys.

Call sites pass context as ``extra={"source": ..., "rule": ..., "channel": ..., "action": ...}``;
both formats print those keys. Secrets never reach a log line: messages carry error text
from our own exceptions, which are built without credentials, and every line goes through
``redact_text`` as it is written, so a URL with a user name and password in it (a source
URL, or a link resolved against one) is shown as ``http://***@host/…`` whoever logged it.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from monitor.redact import redact_text

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
            "message": redact_text(record.getMessage()),
        }
        for key in KEYS:
            if hasattr(record, key):
                value = getattr(record, key)
                out[key] = redact_text(value) if isinstance(value, str) else value
        if record.exc_info:
            out["exception"] = redact_text(self.formatException(record.exc_info))
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
        return redact_text(line)


def setup_logging(fmt: str = "text", verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger("monitor")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
    # APScheduler only fires the ticks. A tick still running when the next is due is
    # skipped by design (max_instances=1, coalesce), and the poll tick runs for most of its
    # second when many sources are due: its "maximum number of running instances reached"
    # warning would come every second, raw (the logger had no handler). Its errors keep
    # our format.
    scheduler = logging.getLogger("apscheduler")
    scheduler.handlers[:] = [handler]
    scheduler.setLevel(logging.ERROR)
    scheduler.propagate = False
    logging.getLogger("httpx").setLevel(logging.WARNING)
