"""Output of ``monitor rules test``: JSON lines, or highlighted text for a terminal.

A result is ``(document name, Document, matches)``; documents without matches are kept
so the closing counts can say "matched 3 of 120 documents". JSON output (SPEC section 1)
is one object per (document, rule) that matched::

    {"rule", "document", "title", "matches": [{"field", "term", "start", "end", "snippet"}]}

Terminal output shows rule, title and each hit's snippet with the hit in bold colour
(only when the stream is a terminal and NO_COLOR is unset), then one count line per rule.
Release text is untrusted: control characters are replaced before it reaches a terminal.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TextIO

from monitor.model import Document, Hit, RuleMatch
from monitor.rules.snippet import make_snippet

Result = tuple[str, Document, Sequence[RuleMatch]]

_BOLD = "\x1b[1;31m"
_DIM = "\x1b[2m"
_RESET = "\x1b[0m"
# C0/C1 controls (including ESC) could rewrite the operator's terminal
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def to_json_lines(results: Iterable[Result]) -> Iterator[str]:
    """One JSON object per (document, matching rule), SPEC's ``rules test --json`` shape."""
    for name, doc, matches in results:
        for match in matches:
            yield json.dumps(
                {
                    "rule": match.rule_id,
                    "document": name,
                    "title": doc.title,
                    "matches": [
                        {
                            "field": hit.field,
                            "term": hit.term,
                            "start": hit.start,
                            "end": hit.end,
                            "snippet": hit.snippet,
                        }
                        for hit in match.hits
                    ],
                },
                ensure_ascii=False,
            )


def use_color(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    return stream.isatty() and "NO_COLOR" not in os.environ


def render_text(
    results: Iterable[Result], rule_ids: Sequence[str], *, color: bool = False
) -> Iterator[str]:
    """Lines for a human: each match with highlighted snippets, then per-rule counts."""
    counts = dict.fromkeys(rule_ids, 0)
    documents = 0
    for name, doc, matches in results:
        documents += 1
        for match in matches:
            counts[match.rule_id] = counts.get(match.rule_id, 0) + 1
            yield f"{match.rule_id}: {_clean(doc.title) or '(untitled)'}"
            yield f"  {_dim(_clean(name), color)}"
            for hit in match.hits:
                yield f"  {hit.field} [{hit.start}:{hit.end}] {highlight(hit, doc, color)}"
            yield ""
    width = max((len(rule) for rule in counts), default=0)
    for rule, count in counts.items():
        yield f"{rule.ljust(width)}  {count} of {documents} documents"


def write_text(results: Iterable[Result], rule_ids: Sequence[str], stream: TextIO) -> None:
    """Print ``render_text`` to ``stream``, coloured when it is a terminal."""
    for line in render_text(results, rule_ids, color=use_color(stream)):
        stream.write(line + "\n")


def highlight(hit: Hit, doc: Document, color: bool) -> str:
    """The hit's snippet with the hit marked: bold colour, or »…« without colour."""
    text = getattr(doc, hit.field, "")
    if text[hit.start : hit.end] == hit.term:
        snippet = make_snippet(text, hit.start, hit.end)
        before = snippet.text[: snippet.mark_start]
        middle = snippet.text[snippet.mark_start : snippet.mark_end]
        after = snippet.text[snippet.mark_end :]
    else:  # the hit does not index the document given (e.g. a stored snippet only)
        before, middle, after = hit.snippet, "", ""
    open_mark, close_mark = (_BOLD, _RESET) if color else ("»", "«")
    if not middle:
        return _clean(before)
    return f"{_clean(before)}{open_mark}{_clean(middle)}{close_mark}{_clean(after)}"


def _dim(text: str, color: bool) -> str:
    return f"{_DIM}{text}{_RESET}" if color else text


def _clean(text: str) -> str:
    return _CONTROL.sub("\ufffd", text)
