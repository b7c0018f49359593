"""Entry values as both feed readers give them: the feedparser path (``feed``) and the
lxml fast path (``lxml_feed``) share these, so a release reads the same whichever read it.

``clean`` is a field's text (stripped; anything but a string is empty); ``published_at``
is the one place a feed's date becomes a datetime; ``FEED_MARKUP`` says which fields of an
``Entry`` are HTML.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable
from datetime import UTC, datetime

DateParser = Callable[[str], datetime | None]

# Summaries and contents are read as HTML whatever their declared type: publishers label
# HTML as text far more often than they mean a literal "&nbsp;" (45 corpus summaries).
FEED_MARKUP = frozenset({"summary", "content"})
FEED_MARKUP_HTML_TITLE = FEED_MARKUP | {"title"}


def clean(value: object) -> str:
    """A feed field's text, stripped; a missing or non-string value is empty."""
    return value.strip() if isinstance(value, str) else ""


def published_at(
    parsed: time.struct_time | None, raw: str | None, date_parser: DateParser | None
) -> datetime | None:
    """The one place a feed date becomes a datetime (timezone-aware, UTC).

    feedparser's parsed tuple (already UTC) first; for strings it could not read, the
    configured ``date_parser``. Swap the order here to let a better parser win."""
    if parsed is not None:
        try:
            return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
        except (OverflowError, ValueError, OSError):
            pass
    if raw and date_parser is not None:
        value = date_parser(raw)
        if value is not None:
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return None
