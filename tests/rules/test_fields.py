"""The fast paths agree with the slow ones: spaced words, hit offsets, collapsed snippets."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.rules.fields import FoldedField
from monitor.rules.normalize import normalize, split_folded, tokenize, words
from monitor.rules.snippet import collapse

# Plain texts (letters, punctuation, ASCII spaces) with the odd character that folds to
# two (ß), is deleted (harakat, tatweel) or is not plain punctuation (–, NBSP).
PLAIN = st.text(alphabet="abcXYZ019 .,-_\t\n\r«»؟،الناتوأإة٢", max_size=60)
MIXED = st.text(alphabet="abX ؟،النأ.\u064e\u0640ßİ–\u00a0\u200c", max_size=60)


def _every_hit(text: str) -> list[tuple[int, int, int]]:
    """Every (offset, n_words) a hit could have in ``FoldedField(text).spaced``."""
    spaced = FoldedField(text).spaced
    starts = [m.start() for m in re.finditer(" (?=[^ ])", spaced)]
    return [(i, at, n) for i, at in enumerate(starts) for n in (1, 2, 3) if i + n <= len(starts)]


@settings(max_examples=300, deadline=None)
@given(st.one_of(PLAIN, MIXED, st.text(max_size=40)))
def test_spaced_words_and_spans_agree_with_tokenize(text: str) -> None:
    field = FoldedField(text)
    tokens = tokenize(text)
    assert words(text) == split_folded(normalize(text)) == [t.norm for t in tokens]
    assert field.spaced == (" " + " ".join(t.norm for t in tokens) + " " if tokens else " ")
    for position, offset, n_words in _every_hit(text):
        assert field.position(offset) == position
        expected = (tokens[position].start, tokens[position + n_words - 1].end)
        assert FoldedField(text).span(offset, n_words) == expected  # fresh: first use
        assert field.span(offset, n_words) == expected  # shared: cached state


@pytest.mark.parametrize(
    "text",
    ["  a,  b ... c  ", "\tNATO\n\nالناتو، «قطر» ", "ß x", "a\u00a0b  c", "الأَمْنُ  x"],
)
def test_spans_on_awkward_spacing(text: str) -> None:
    tokens = tokenize(text)
    field = FoldedField(text)
    for position, offset, n_words in _every_hit(text):
        start, end = field.span(offset, n_words)
        assert (start, end) == (tokens[position].start, tokens[position + n_words - 1].end)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=" \t\n\u00a0\u2028\x1c\x85ab\u0627", max_size=12))
def test_collapse_is_the_whitespace_regex(text: str) -> None:
    assert collapse(text) == re.sub(r"\s+", " ", text)


@settings(max_examples=300, deadline=None)
@given(st.one_of(PLAIN, MIXED, st.text(max_size=40)))
def test_a_long_text_folds_and_splits_a_slice_at_a_time_as_it_does_whole(text: str) -> None:
    from unittest import mock

    from monitor.rules import fields
    from monitor.rules import normalize as normalize_module

    whole = FoldedField(text)
    plain = normalize_module.plain_fold(text)
    with (
        mock.patch.object(fields, "_SLICE", 3),
        mock.patch.object(normalize_module, "_FOLD_SLICE", 2),
    ):
        sliced = FoldedField(text)
        assert normalize_module.plain_fold(text) == plain
    assert sliced.spaced == whole.spaced
    for _, offset, n_words in _every_hit(text):
        assert sliced.span(offset, n_words) == whole.span(offset, n_words)


def test_folding_a_long_text_holds_no_list_of_its_words() -> None:
    """A 5-million-character Arabic body was folded whole (case folding takes 12 bytes a
    character) and split into a list of a million words: 21 bytes a character at the
    peak, 130 MB of the parse worker's (issue 22). A slice at a time: about 6."""
    import tracemalloc

    text = "اجتمع وزراء خارجية دول حلف شمال الأطلسي (الناتو) في بروكسل، اليوم.\n" * 22_000
    FoldedField(text[:1000])  # the patterns, built once
    tracemalloc.start()
    try:
        field = FoldedField(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(text) > 1_400_000 and field.spaced.count(" ") > 200_000
    assert peak < 9 * len(text), f"{peak / len(text):.1f} bytes a character"
