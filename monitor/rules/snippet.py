"""The context shown around a hit: about 200 characters, whitespace collapsed.

The window is centred on the hit, widened or narrowed to whole words where a word
boundary is near, and marked with "…" where it cuts the text. ``Snippet.mark_start`` and
``mark_end`` locate the hit inside ``text`` so renderers can highlight it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WIDTH = 200
_SPACE = re.compile(r"\s+")
_ELLIPSIS = "…"
_SLACK = 20  # how far to look for a word boundary before cutting inside a word


@dataclass(frozen=True, slots=True)
class Snippet:
    text: str
    mark_start: int
    mark_end: int


def make_snippet(text: str, start: int, end: int, width: int = WIDTH) -> Snippet:
    """The snippet of ``text`` around ``text[start:end]``."""
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    if len(text) <= width and _collapsed(text):
        # the window below is the whole text then, and collapsing changes none of it: a
        # title's snippet is the title (most hits of a feed's items are in a short title)
        return Snippet(text, start, end)
    return _window(text, start, end, width)


def snippet_text(text: str, start: int, end: int, width: int = WIDTH) -> str:
    """``make_snippet(text, start, end, width).text``, without the ``Snippet`` where the
    snippet is the whole text (two hits an item of a 50,000-item feed: issue 22.2)."""
    if len(text) <= width and _collapsed(text):
        return text
    return make_snippet(text, start, end, width).text


def _window(text: str, start: int, end: int, width: int) -> Snippet:
    """``make_snippet`` of a hit within the text (``start <= end``, both in it)."""
    room = max(0, width - (end - start))
    left = max(0, start - room // 2)
    right = min(len(text), end + (room - (start - left)))
    left = max(0, left - max(0, room - (start - left) - (right - end)))
    left = _word_boundary(text, left, limit=start, forward=True)
    right = _word_boundary(text, right, limit=end, forward=False)
    before = collapse(text[left:start]).lstrip()
    middle = collapse(text[start:end])
    after = collapse(text[end:right]).rstrip()
    head = _ELLIPSIS if left > 0 else ""
    tail = _ELLIPSIS if right < len(text) else ""
    mark_start = len(head) + len(before)
    return Snippet(head + before + middle + after + tail, mark_start, mark_start + len(middle))


def _collapsed(text: str) -> bool:
    """Whether ``text`` has no whitespace but single spaces between words."""
    return " ".join(text.split()) == text


def collapse(text: str) -> str:
    """Every run of whitespace as one space (``_SPACE.sub(" ", text)``, at C speed)."""
    inner = " ".join(text.split())  # str.split and regex \s agree on what is whitespace
    if inner == text:
        return text
    if not inner:
        return " " if text else ""
    head = " " if text[0].isspace() else ""
    return head + inner + (" " if text[-1].isspace() else "")


def _word_boundary(text: str, at: int, *, limit: int, forward: bool) -> int:
    """Move a cut at ``at`` to a nearby space so it does not split a word."""
    if at <= 0 or at >= len(text) or text[at - 1].isspace() or text[at].isspace():
        return at
    if forward:
        space = text.find(" ", at, min(limit, at + _SLACK))
        return at if space < 0 else space + 1
    space = text.rfind(" ", max(limit, at - _SLACK), at)
    return at if space < 0 else space
