"""Keyset paging: a listing's next page starts strictly after the last row shown.

A cursor is the (time, id) of that last row, base64-encoded so clients treat it as opaque.
Pages are read with ``(t, id) < (:t, :id)`` on an index in the same order, never OFFSET, so
the thousandth page costs what the first does.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, tuple_

MAX_PAGE = 200  # a client asks for at most this many rows at once
DEFAULT_PAGE = 50


class BadCursor(ValueError):
    """A cursor that no listing gave out."""


def encode(at: datetime, key: int | str) -> str:
    raw = json.dumps([at.isoformat(), key], separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(cursor: str) -> tuple[datetime, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, key = json.loads(raw)
        moment = datetime.fromisoformat(at)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise BadCursor("invalid cursor: use the 'next' value of the previous page") from None
    if moment.tzinfo is None or not isinstance(key, int | str):
        raise BadCursor("invalid cursor: use the 'next' value of the previous page")
    return moment, key


def older_than(time_column: Any, key_column: Any, cursor: str | None) -> ColumnElement[bool] | None:
    """Rows strictly after ``cursor`` in newest-first order; None without a cursor."""
    if cursor is None:
        return None
    at, key = decode(cursor)
    # a row value, which PostgreSQL and SQLite both take as one range of the (time, id)
    # index; the equivalent OR of two comparisons would make PostgreSQL filter from the top
    return tuple_(time_column, key_column) < tuple_(at, key)


def clamp(limit: int | None) -> int:
    return DEFAULT_PAGE if limit is None else max(1, min(limit, MAX_PAGE))
