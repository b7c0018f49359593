"""One text field folded for matching, and the way back from a hit to the original text.

``FoldedField.spaced`` is ``" w1 w2 … wn "``: the field's folded words joined by single
spaces, what the automaton runs over. A hit is known there by ``offset`` (the index of
the space before its first word) and its number of words; ``position`` gives its word
index and ``span`` its ``(start, end)`` in the original text.

The way back is built only for a field that has a hit, and cheaply when it can be. Most
texts are plain (``normalize.plain_fold``): made of characters that fold one by one —
Latin, Greek, Cyrillic and Arabic letters, punctuation, symbols, emoji, harakat.

- In an aligned plain text every character folds into one, so its boundary-spaced folding
  is aligned with the original. ``spaced`` only squeezes runs of spaces, so an offset maps
  back by adding the number of spaces squeezed before it: a bisect in the few places
  where a run was squeezed.
- In another plain text (with a removed character such as a haraka, or a letter that
  folds into two such as ß) one regex over the original finds the word spans
  (``plain_word_spans``).
- Any other text falls back to ``word_spans`` (per-chunk folding with offsets).

Word spans are computed as far as the first hit needs, and again, at least twice as far,
each time a later hit goes further.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from monitor.rules.normalize import (
    normalize,
    plain_fold,
    plain_word_spans,
    split_folded,
    word_spans,
)

_SQUEEZED = re.compile("  +")
_FIRST_SPANS = 64  # words past the first hit's, when spans are computed in part
_SLICE = 1 << 18  # characters of a long text split at once


class FoldedField:
    """One field's text, its spaced folded words, and hit offsets mapped back lazily."""

    __slots__ = ("_aligned", "_marks", "_plain", "_shifts", "_spans", "spaced", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        plain = plain_fold(text)
        self._plain = plain is not None
        if plain is None:
            found = split_folded(normalize(text))
            self._aligned: str | None = None
        else:
            boundaries, aligned = plain
            found = _words(boundaries)
            self._aligned = boundaries if aligned else None
        self.spaced = " ".join(["", *found, ""]) if found else " "
        self._marks: list[int] | None = None
        self._shifts: list[int] = []
        self._spans: list[tuple[int, int]] | None = None

    def position(self, offset: int) -> int:
        """The word index of the word after the space at ``offset`` in ``spaced``."""
        return self.spaced.count(" ", 0, offset)

    def span(self, offset: int, n_words: int) -> tuple[int, int]:
        """``(start, end)`` in ``text`` of the ``n_words`` words after ``offset``."""
        if self._aligned is not None:
            return self._aligned_span(offset, n_words)
        position = self.position(offset)
        spans = self._spans
        if spans is None or len(spans) < position + n_words:
            # Most documents are long and hits sparse: only as far as the hit, and each
            # time at least twice as far as before (the matcher keeps the first hits, so a
            # 10 MB text never has all its words mapped for them)
            find = plain_word_spans if self._plain else word_spans
            want = max(position + n_words + _FIRST_SPANS, 2 * len(spans or ()))
            spans = find(self.text, want)
            self._spans = spans
        if not spans:  # cannot happen: a hit implies words
            return 0, 0
        last = len(spans) - 1
        return spans[min(position, last)][0], spans[min(position + n_words - 1, last)][1]

    def _aligned_span(self, offset: int, n_words: int) -> tuple[int, int]:
        spaced = self.spaced
        last = offset
        for _ in range(n_words - 1):
            last = spaced.index(" ", last + 1)
        end = spaced.index(" ", last + 1)
        return offset + self._shift(offset), end - 1 + self._shift(last)

    def _shift(self, offset: int) -> int:
        """How many more characters precede this word in the original than in ``spaced``."""
        if self._marks is None:
            self._marks, self._shifts = _squeezes(self._aligned or "")
        return self._shifts[bisect_right(self._marks, offset) - 1]


def _words(boundaries: str) -> list[str]:
    """The words of a folded text, ``split()``: a long text's as a few runs of words, each
    joined by single spaces. A 5-million-character Arabic body is a million words: their
    list (60 MB of string objects) was most of a parse worker's peak on that item (issue
    22). A slice ends just after a space, so no word is cut."""
    if len(boundaries) <= _SLICE:
        return boundaries.split()
    runs = []
    start = 0
    while start < len(boundaries):
        end = boundaries.find(" ", start + _SLICE) + 1 or len(boundaries)
        if run := " ".join(boundaries[start:end].split()):
            runs.append(run)
        start = end
    return runs


def _squeezes(aligned: str) -> tuple[list[int], list[int]]:
    """Where, in ``spaced`` offsets, the shift to the aligned text changes, and to what.

    The word after spaced offset ``x`` starts at ``x + shift`` in ``aligned``: ``shift``
    is the leading spaces, plus ``r - 1`` for every run of ``r`` spaces before the word.
    """
    if "  " not in aligned and not aligned.startswith(" "):
        return [0], [0]  # nothing squeezed (most titles): no regex to run
    return _runs(aligned)


def _runs(aligned: str) -> tuple[list[int], list[int]]:
    """``_squeezes``, from the runs of spaces."""
    lead = len(aligned) - len(aligned.lstrip(" "))
    marks, shifts = [0], [lead]
    shift = lead
    for run in _SQUEEZED.finditer(aligned, lead):
        marks.append(run.start() + 1 - shift)
        shift += run.end() - run.start() - 1
        shifts.append(shift)
    return marks, shifts
