"""Plain texts: every character folds alone, and the fast paths give what tokenize gives."""

from __future__ import annotations

import re
import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.rules.fields import FoldedField
from monitor.rules.normalize import (
    WORD_RE,
    _plain,
    normalize,
    plain_fold,
    plain_word_spans,
    split_folded,
    tokenize,
    word_spans,
    words,
)

_PLAIN = _plain()
LETTERS = [chr(c) for c in _PLAIN.letters]
BOUNDARIES = [chr(c) for c in _PLAIN.boundaries]
DELETED = [chr(c) for c in _PLAIN.deleted]
ANY_PLAIN = LETTERS + BOUNDARIES + DELETED
# What news text is made of, and the awkward cases: letters that fold into two (ß ŉ ﬁ ™)
# or lose a dot (İ), boundaries that fold into several (… ″ ゛ ¯), removed characters
# inside and around words (harakat, tatweel, ZWNJ, soft hyphen), odd spaces, emoji with
# variation selectors and skin tones.
NEWS = (
    "aZé0_ ßİŉﬁ™ —–…″゛¯€£×•→↩©®°’‘“”«»„·"
    "😉🎉❤\ufe0f\ufe0e🏻 \t\n\r\u00a0\u2028\u3000"
    "الناتوأإة٢۳،؟ \u064e\u0651\u0652\u0670\u0640\u200b\u200c\u200d\u00ad\ufeff"
)


def _composing_seconds() -> set[str]:
    """Every character that NFC can compose with a character before it."""
    seconds = {chr(c) for c in [*range(0x1161, 0x1176), *range(0x11A8, 0x11C3)]}  # jamo V, T
    for code in range(sys.maxunicode + 1):
        decomposition = unicodedata.decomposition(chr(code))
        if decomposition and not decomposition.startswith("<"):
            seconds.update(chr(int(part, 16)) for part in decomposition.split()[1:])
    return seconds


def test_no_plain_character_composes_with_what_precedes_it() -> None:
    seconds = _composing_seconds()
    assert "\u0301" in seconds and "\u0654" in seconds  # the table was read
    for char in LETTERS + BOUNDARIES:
        first = unicodedata.normalize("NFKD", char)[0]
        assert first not in seconds, hex(ord(char))
        assert not unicodedata.combining(first), hex(ord(char))
    for char in DELETED:
        assert char not in seconds, hex(ord(char))


def test_each_class_is_what_its_characters_fold_into() -> None:
    for char in LETTERS:
        assert WORD_RE.fullmatch(normalize(char)), hex(ord(char))
    for char in BOUNDARIES:
        assert normalize(char) and not WORD_RE.search(normalize(char)), hex(ord(char))
    for char in DELETED:
        assert normalize(char) == "", hex(ord(char))
    assert len(set(ANY_PLAIN)) == len(ANY_PLAIN)
    assert {chr(c) for c in _PLAIN.letters1} == {c for c in LETTERS if len(normalize(c)) == 1}


@pytest.mark.parametrize("char", list(NEWS))
def test_news_characters_are_plain(char: str) -> None:
    assert char in ANY_PLAIN


@pytest.mark.parametrize("char", ["\u0301", "\u0654", "½", "℃", "世", "\U0001d45b", "\ud800"])
def test_other_characters_are_not(char: str) -> None:
    # a combining accent or hamza composes with its letter; ½ and ℃ fold into a word and a
    # boundary; the rest lie outside the scanned blocks
    assert plain_fold(f"a {char} b") is None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(ANY_PLAIN), max_size=30))
def test_a_plain_text_folds_character_by_character(text: str) -> None:
    assert normalize(text) == "".join(map(normalize, text))


def _check_spans(text: str) -> None:
    plain = plain_fold(text)
    assert plain is not None
    folded, aligned = plain
    assert not aligned or len(folded) == len(text)
    tokens = tokenize(text)
    assert words(text) == split_folded(normalize(text)) == [t.norm for t in tokens]
    spans = word_spans(text)
    assert plain_word_spans(text) == spans
    assert plain_word_spans(text, 2) == spans[:2]
    field = FoldedField(text)
    assert field.spaced == (" " + " ".join(t.norm for t in tokens) + " " if tokens else " ")
    starts = [m.start() for m in re.finditer(" (?=[^ ])", field.spaced)]
    for position, offset in enumerate(starts):
        for n_words in (1, 2, 3):
            if position + n_words <= len(starts):
                expected = (spans[position][0], spans[position + n_words - 1][1])
                assert FoldedField(text).span(offset, n_words) == expected  # first use
                assert field.span(offset, n_words) == expected  # cached state
    for offset in reversed(starts):  # the far end first: spans computed in part, then all
        fresh = FoldedField(text)
        assert fresh.span(offset, 1) == spans[fresh.position(offset)]


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=NEWS, max_size=80))
def test_fast_spans_are_tokenize_spans(text: str) -> None:
    _check_spans(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(ANY_PLAIN) | st.sampled_from(NEWS), max_size=40))
def test_fast_spans_are_tokenize_spans_for_any_plain_character(chars: list[str]) -> None:
    _check_spans("".join(chars))


@pytest.mark.parametrize(
    ("text", "aligned"),
    [
        ("NATO — the alliance… “cyber” €5 → 😉️", True),
        ("Straße ﬁnal ™", False),  # letters that fold into two
        ("الأَمْنُ السيبرانـــي", False),  # harakat and tatweel are removed
        ("ال\u200cناتو، «قطر»…", False),
        ("Qatar – قطر ٢٠١٩", True),
    ],
)
def test_typical_texts_take_the_fast_path(text: str, aligned: bool) -> None:
    plain = plain_fold(text)
    assert plain is not None and plain[1] is aligned
    _check_spans(text)
