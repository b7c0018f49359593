"""Text made storable, once, where it enters: every field of every item of every format.

A ministry's feed may carry what no database takes: a NUL, a lone surrogate, control
characters (``monitor.storable`` says which and what becomes of them). ``clean_entry``
applies ``storable`` to every text field of a parsed ``Entry`` (``identity.derive`` calls
it first, for every parser), so one item's text can never fail a poll; ``bounded_title``
cuts an overlong title. Both are pure and cost one regex scan and an NFC quick check on
text that needs nothing.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from monitor.model import Entry
from monitor.storable import storable

MAX_TITLE = 2_000  # characters: a title is a line, not a document
MAX_DATE = 200  # characters of a date as published: longer is no date, and costs to parse
_ELLIPSIS = "…"
_WORD_SLACK = 100  # how far back a cut looks for a space, so it does not split a word


def _optional(text: str | None) -> str | None:
    return storable(text) if text else text  # "" and None as they are


_JOINED = 1 << 16  # characters of summary and content an item's fields are joined under
_FIELDS = ("guid", "link", "title", "summary", "content", "published_raw", "language", "author")


def clean_entry(entry: Entry) -> Entry:
    """Every text field of ``entry`` storable; a date string too long to be one dropped."""
    raw_date = entry.published_raw
    if len(entry.summary) + len(entry.content) <= _JOINED and (
        raw_date is None or len(raw_date) <= MAX_DATE
    ):
        # the usual item needs nothing: one scan of its fields joined by newlines
        # (storable, and no character composes with one) instead of one a field: 7.7 to
        # 2.4-3.7 us an item; a long body is scanned alone, not copied
        joined = "\n".join(filter(None, [getattr(entry, name) for name in _FIELDS]))
        if storable(joined) is joined:
            return entry
    values: dict[str, Any] = {
        name: _optional(getattr(entry, name)) for name in _FIELDS if name != "content"
    }
    # feeds often repeat the body in both fields: one scan of it
    same = entry.content == entry.summary
    values["content"] = values["summary"] if same else storable(entry.content)
    raw_date = values["published_raw"]
    if raw_date is not None and len(raw_date) > MAX_DATE:
        values["published_raw"] = None
    if all(values[name] is getattr(entry, name) for name in _FIELDS):
        return entry  # storable already: the usual case, no copy
    return replace(entry, **values)


def bounded_title(title: str, limit: int = MAX_TITLE) -> str:
    """``title`` cut to at most ``limit`` characters (at a space near the cut, with "…")."""
    if len(title) <= limit:
        return title
    cut = limit - len(_ELLIPSIS)
    space = title.rfind(" ", cut - _WORD_SLACK, cut + 1)
    return title[: space if space > 0 else cut].rstrip() + _ELLIPSIS
