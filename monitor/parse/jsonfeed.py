"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org), which feedparser does not read.

``parse_json_feed`` takes the body bytes and returns a ``ParsedFeed`` of ``Entry`` values, or
raises ``ParseError`` when the body is not JSON or not a JSON Feed. Items that are not
objects are skipped with a warning; every value is treated as untrusted (wrong types are
ignored, not trusted). Dates are RFC 3339 strings; ``date_parser`` is used when
``datetime.fromisoformat`` cannot read one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from monitor.errors import ParseError
from monitor.model import Entry, ParsedFeed

DateParser = Callable[[str], datetime | None]


def looks_like_json(body: bytes, content_type: str) -> bool:
    """Whether to read the body as JSON: the media type says so, or it opens with ``{``."""
    if "json" in content_type.lower():
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def parse_json_feed(body: bytes, date_parser: DateParser | None = None) -> ParsedFeed:
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ParseError("not a feed: JSON body is not UTF-8") from None
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"not a feed: invalid JSON ({str(exc)[:120]})") from None
    if not isinstance(document, dict):
        raise ParseError("not a feed: JSON that is not an object")
    version = _text(document.get("version"))
    if "jsonfeed.org/version/" not in version:
        raise ParseError("not a feed: JSON without a JSON Feed version")
    kind = "json11" if version.rstrip("/").endswith("1.1") else "json1"
    items = document.get("items")
    if not isinstance(items, list):
        raise ParseError("not a feed: JSON Feed without an items list")
    language = _text(document.get("language")) or None
    warnings: list[str] = []
    entries: list[Entry] = []
    skipped = 0
    for item in items:
        if not isinstance(item, dict):
            skipped += 1
            continue
        entries.append(_entry(item, language, date_parser))
    if skipped:
        warnings.append(f"{skipped} JSON Feed item(s) were not objects and were skipped")
    if not entries:
        warnings.append("the feed has no entries")
    return ParsedFeed(
        kind=kind,
        entries=tuple(entries),
        title=_text(document.get("title")) or None,
        language=language,
        warnings=tuple(warnings),
    )


def _entry(item: dict[str, Any], feed_language: str | None, parse: DateParser | None) -> Entry:
    raw_date = _text(item.get("date_published")) or _text(item.get("date_modified")) or None
    # id is required by the spec, but some publishers send numbers; "" means absent
    guid = item.get("id")
    guid_text = str(guid) if isinstance(guid, (str, int)) and not isinstance(guid, bool) else ""
    html = _text(item.get("content_html"))
    content = html or _text(item.get("content_text"))
    return Entry(
        guid=guid_text.strip() or None,
        link=_text(item.get("url")) or _text(item.get("external_url")) or None,
        title=_text(item.get("title")),
        summary=_text(item.get("summary")),
        content=content,
        published=_date(raw_date, parse),
        published_raw=raw_date,
        language=_text(item.get("language")) or feed_language,
        author=_author(item),
        # title, summary and content_text are plain text (the spec); content_html is HTML
        markup=_HTML_CONTENT if html else _NO_MARKUP,
    )


_HTML_CONTENT = frozenset({"content"})
_NO_MARKUP: frozenset[str] = frozenset()


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _author(item: dict[str, Any]) -> str | None:
    authors = item.get("authors")
    candidates = authors if isinstance(authors, list) else [item.get("author")]
    names = [_text(a.get("name")) for a in candidates if isinstance(a, dict)]
    joined = ", ".join(n for n in names if n)
    return joined or None


def _date(raw: str | None, parse: DateParser | None) -> datetime | None:
    if not raw:
        return None
    try:
        value: datetime | None = datetime.fromisoformat(raw)
    except ValueError:
        value = None
    if (value is None or value.tzinfo is None) and parse is not None:
        # the configured parser knows the timezone to assume for dates that carry none
        value = parse(raw) or value
    if value is None:
        return None
    if value.tzinfo is None:
        # RFC 3339 requires an offset; without a parser that knows better, assume UTC
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
