"""Hypothesis strategies for hostile text: what a badly built ministry site may publish.

``hostile_text`` mixes any code point (lone surrogates and NUL included) with the
characters that break stores and parsers on purpose: C0 controls, CR, noncharacters, bidi
and zero-width marks, combining marks, Arabic, XML and HTML metacharacters, and now and
then a word of thousands of characters.
"""

from __future__ import annotations

from hypothesis import strategies as st

NASTY = [
    "\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x85", "\r", "\r\n",
    "\ud800", "\udbff", "\udc00", "\udfff", "\ufffe", "\uffff", "\ufeff", "\ufffd",
    "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202a", "\u202b", "\u202e", "\u2066",
    "\u2069", "\u061c", "\u00ad", "\u0301", "\u0654", "\u064b", "\u0640",
    "الناتو", "حلف شمال الأطلسي", "NATO", "<", ">", "&", "&amp;", "&#0;", "]]>", '"', "'",
    "<script>", "</title>", "\\", "\t", "\n", " ",
]  # fmt: skip


def hostile_text(max_size: int = 40) -> st.SearchStrategy[str]:
    """Text of pieces: any character, the nasty ones above, or rarely a 10,000-letter word."""
    any_char = st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF)
    nasty = st.sampled_from(NASTY)
    long_word = st.sampled_from(["x", "ا", "\u0301"]).map(lambda c: c * 10_000)
    # one_of draws its branches alike: the long word is one branch in nine
    piece = st.one_of(*[any_char] * 4, *[nasty] * 4, long_word)
    return st.lists(piece, max_size=max_size).map("".join)
