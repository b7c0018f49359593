"""Text made storable where it enters: a table of what is changed, and properties of any text.

The properties are what the stores and serialisers need: the result encodes as UTF-8 (no
surrogate), holds no NUL or other character XML 1.0 refuses, is NFC, and cleaning it again
changes nothing; ordinary text (tabs, newlines, Arabic, emoji, bidi marks) is kept.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.model import Entry
from monitor.parse.clean import MAX_DATE, MAX_TITLE, bounded_title, clean_entry
from monitor.parse.identity import derive
from monitor.storable import storable
from tests.support.unicode import hostile_text

CHANGED = [
    ("body \x00 two", "body  two"),  # NUL: PostgreSQL refuses it in text
    ("a\x01\x02\x03\x08b", "ab"),
    ("a\x0b\x0c\x1b\x1fb", "ab"),  # vertical tab, form feed, escape, unit separator
    ("three \ud800", "three \ufffd"),  # a lone surrogate (JSON "\ud800")
    ("\udfff lone low", "\ufffd lone low"),
    ("pair \ud83d\ude00", "pair \U0001f600"),  # a pair left in a str is its character
    ("line\r\nnext", "line\nnext"),
    ("old\rmac", "old\nmac"),  # a lone CR is a line break, never nothing
    ("x\ufffey\uffffz", "xyz"),  # noncharacters
    ("e\u0301te\u0301", "\u00e9t\u00e9"),  # NFC: decomposed accents composed
    ("ا\u0654", "أ"),  # a decomposed hamza seat composed
]

KEPT = [
    "plain ASCII, with a tab\tand a newline\n",
    "نائب رئيس مجلس الوزراء وزير الخارجية يجتمع مع الأمين العام لحلف شمال الأطلسي",
    "\u200fالناتو\u200e \u202bx\u202c \u2067y\u2069",  # bidi marks stay: the matcher drops them
    "\ufe8d\ufedf\ufee8\ufe8e\ufe97\ufeed",  # presentation forms: NFKC is the matcher's
    "emoji \U0001f600 and \ufffd and \x7f and \x85",
    "",
]


@pytest.mark.parametrize(("text", "expected"), CHANGED)
def test_what_is_changed(text: str, expected: str) -> None:
    assert storable(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_text_is_kept(text: str) -> None:
    assert storable(text) is text or storable(text) == text


def _xml_char(char: str) -> bool:
    code = ord(char)
    return (
        char in "\t\n"
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


@given(hostile_text())
def test_any_text_becomes_storable(text: str) -> None:
    clean = storable(text)
    clean.encode("utf-8")  # no surrogate left
    assert all(_xml_char(c) for c in clean)
    assert unicodedata.is_normalized("NFC", clean)
    assert storable(clean) == clean
    json.loads(json.dumps(clean, ensure_ascii=False))


@given(st.text(st.characters(blacklist_categories=("Cs", "Cc"))))
def test_text_without_controls_or_surrogates_only_normalised(text: str) -> None:
    assert storable(text) == unicodedata.normalize("NFC", text).replace("\ufffe", "").replace(
        "\uffff", ""
    )


def test_every_field_of_an_entry() -> None:
    dirty = "x\x00\ud800\r"
    entry = clean_entry(
        Entry(
            guid=dirty,
            link=dirty,
            title=dirty,
            summary=dirty,
            content=dirty,
            published=datetime(2019, 3, 13, tzinfo=UTC),
            published_raw=dirty,
            language=dirty,
            author=dirty,
        )
    )
    values = [
        getattr(entry, name)
        for name in Entry.__dataclass_fields__
        if name not in ("published", "markup")
    ]
    assert values == ["x\ufffd\n"] * len(values)


def test_a_date_too_long_to_be_one_is_dropped() -> None:
    entry = clean_entry(Entry(guid="g", link=None, title="t", published_raw="13 March " * 1000))
    assert entry.published_raw is None


def test_a_long_title_is_cut_at_a_word_and_said() -> None:
    words = "NATO " * 100_000
    assert bounded_title("short") == "short"
    cut = bounded_title(words)
    assert len(cut) <= MAX_TITLE and cut.endswith("NATO…")
    unbroken = "x" * 10_000
    assert bounded_title(unbroken) == "x" * (MAX_TITLE - 1) + "…"

    warnings: list[str] = []
    entry = Entry(guid="g", link="https://ministry.example/long", title=words)
    release = derive(entry, feed_url="https://ministry.example/rss", warnings=warnings)
    assert release.title == cut
    assert warnings == [
        "title of https://ministry.example/long cut from 499,999 to 2,000 characters"
    ]


def test_a_clean_entry_is_kept_as_it_is() -> None:
    entry = Entry(guid=None, link="https://m.example/1", title="", summary="نص", content="")
    assert clean_entry(entry) is entry
    dirty = clean_entry(Entry(guid=None, link=None, title="", summary="a\x00"))
    assert (dirty.title, dirty.summary, dirty.guid) == ("", "a", None)


_PIECE = st.sampled_from(["a", "é", "e\u0301", "\u0301", "\u0654", "ا", "\r", "\x00", "\n", " "])
_FIELD_TEXT = st.lists(_PIECE, max_size=6).map("".join) | hostile_text()


@given(
    st.lists(_FIELD_TEXT, min_size=8, max_size=8),
    st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_the_joined_scan_decides_as_one_scan_a_field(texts: list[str], none: list[bool]) -> None:
    # fields joined by newlines need nothing exactly when none of them does: a
    # combining mark at a field's start, a CR at its end, change the field alone
    optional = [None if off else t for t, off in zip(texts, none, strict=True)]
    guid, link, _, _, _, raw, language, author = optional
    entry = Entry(
        guid=guid,
        link=link,
        title=texts[2],
        summary=texts[3],
        content=texts[4],
        published_raw=raw,
        language=language,
        author=author,
    )
    fields = (guid, link, texts[2], texts[3], texts[4], raw, language, author)
    expected = tuple(storable(t) if t else t for t in fields)
    if raw is not None and len(expected[5] or "") > MAX_DATE:
        expected = (*expected[:5], None, *expected[6:])  # no date: dropped
    cleaned = clean_entry(entry)
    got = (cleaned.guid, cleaned.link, cleaned.title, cleaned.summary, cleaned.content)
    got += (cleaned.published_raw, cleaned.language, cleaned.author)
    assert got == expected
    assert (cleaned is entry) == all(a is b for a, b in zip(expected, fields, strict=True))
