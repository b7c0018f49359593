"""Text made storable, once, where it enters: every field of every item of every format.

A ministry's feed may carry what no database takes: a NUL (PostgreSQL refuses it in text),
a lone surrogate from a JSON ``"\\ud800"`` escape (no UTF-8 encoder takes it, so SQLite and
PostgreSQL both refuse the row), control characters that XML, HTML and JSON consumers choke
on. ``storable`` turns any ``str`` into text that every store, template and serialiser
takes, so one item's text can never fail a poll:

- line endings become ``\\n`` (CRLF and a lone CR alike, so a CR never joins two words);
- a lone surrogate becomes U+FFFD (a surrogate pair left in a ``str`` is joined into its
  character); the other characters XML 1.0 has no room for are removed: NUL and the C0
  controls but tab and newline, and the noncharacters U+FFFE and U+FFFF;
- the text is put in Unicode NFC: canonically equivalent spellings (``e`` + U+0301 and
  ``é``; ا + U+0654 and أ) are stored alike, so a publisher's re-encoding is no revision.
  NFC loses nothing a reader sees. The matcher applies NFKC itself (``rules.normalize``),
  which NFC text passes through unchanged in meaning, and more often on its fast path.

``clean_entry`` applies it to every text field of a parsed ``Entry`` (``identity.derive``
calls it first, for every parser); ``bounded_title`` cuts an overlong title. Both are pure
and cost one regex scan and an NFC quick check on text that needs nothing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from typing import Any

from monitor.model import Entry

MAX_TITLE = 2_000  # characters: a title is a line, not a document
MAX_DATE = 200  # characters of a date as published: longer is no date, and costs to parse
_ELLIPSIS = "…"
_WORD_SLACK = 100  # how far back a cut looks for a space, so it does not split a word

# what XML 1.0 calls a character (Char), less the CR that ``_repair`` turns into a newline
_UNSTORABLE = re.compile("[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_DROPPED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def storable(text: str) -> str:
    """``text`` as every store and serialiser takes it (see the module doc)."""
    if _UNSTORABLE.search(text) is not None:
        text = _repair(text)
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text


def _repair(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _SURROGATE.search(text) is not None:
        # UTF-16 joins the pairs and replaces the lone ones with U+FFFD
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return _DROPPED.sub("", text)


def _optional(text: str | None) -> str | None:
    return storable(text) if text else text  # "" and None as they are


_FIELDS = ("guid", "link", "title", "summary", "content", "published_raw", "language", "author")


def clean_entry(entry: Entry) -> Entry:
    """Every text field of ``entry`` storable; a date string too long to be one dropped."""
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
