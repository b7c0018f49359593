"""How much of a release a message or a webhook body carries: bounded whatever arrives.

SPEC section 4, "Limits": at most 3 snippets per rule in every message and webhook body
(the rest counted: ``+ 12 more``); about 600 characters of summary in a message, then the
link; a webhook body under 64 KB, its title and summary cut with ``"truncated": true``.
A release that says "NATO" a million times, or has a 9.5 MB summary, must not make a 246 MB
webhook body or a 12 KB email: every function here does work bounded by its limits, never
by the number of hits it is given (``SCAN`` hits are looked at, at most).

``fit_json`` makes a JSON object fit a byte budget by cutting its longest strings to one
common length (water-filling), so short fields (ids, names, a normal title) stay whole and
the long ones give way first.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from monitor.model import Hit

SNIPPETS_PER_RULE = 3
SUMMARY_CHARS = 600  # of summary in a message people read, then the link
TITLE_CHARS = 500  # of title in a message body (the subject is cut at 300)
SNIPPET_CHARS = 300
COPIES_SHOWN = 10  # a story's other copies listed in a message
WEBHOOK_BYTES = 64 * 1024  # SPEC: a webhook body stays under 64 KB
SCAN = 1000  # hits looked at when choosing the ones shown
ELLIPSIS = "…"
_SURROGATE = re.compile("[\ud800-\udfff]")


def cut(text: str, limit: int) -> tuple[str, bool]:
    """``text`` within ``limit`` characters, cut at a word boundary near the end (with "…");
    and whether it was cut."""
    if len(text) <= limit:
        return text, False
    head = text[: max(limit - 1, 0)]
    space = head.rfind(" ", int(limit * 0.8))
    if space > 0:
        head = head[:space]
    return head.rstrip() + ELLIPSIS, True


def shown_hits(hits: Sequence[Hit], limit: int = SNIPPETS_PER_RULE) -> tuple[Hit, ...]:
    """The hits a message shows for one rule: the first ``limit`` with different snippets
    (a term repeated in one sentence is shown once), snippets cut to ``SNIPPET_CHARS``."""
    shown: list[Hit] = []
    seen: set[tuple[str, str]] = set()
    for hit in itertools.islice(hits, SCAN):
        key = (hit.field, hit.snippet)
        if key in seen:
            continue
        seen.add(key)
        snippet, _ = cut(hit.snippet, SNIPPET_CHARS)
        shown.append(Hit(hit.field, hit.term, hit.start, hit.end, snippet))
        if len(shown) == limit:
            break
    return tuple(shown)


def first_terms(hits: Iterable[Hit], limit: int = 20) -> list[str]:
    """The distinct terms of the first ``SCAN`` hits, in order, at most ``limit``."""
    terms: dict[str, None] = {}
    for hit in itertools.islice(hits, SCAN):
        terms.setdefault(hit.term)
        if len(terms) == limit:
            break
    return list(terms)


# --- fitting a JSON body into a byte budget ----------------------------------------------


def json_text(value: Any) -> bytes:
    """``value`` as monitor writes JSON: UTF-8 (no ASCII escapes), compact; a lone
    surrogate (which UTF-8 cannot hold) becomes U+FFFD."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text).encode("utf-8")


def json_size(value: Any) -> int:
    return len(json_text(value))


_SHORT_ESCAPES = frozenset('"\\\b\f\n\r\t')


def _char_cost(char: str) -> int:
    """Bytes ``char`` takes inside a JSON string as ``json_text`` writes it."""
    code = ord(char)
    if char in _SHORT_ESCAPES:
        return 2
    if code < 0x20:
        return 6  # \u00XX
    if code < 0x80:
        return 1
    if code < 0x800:
        return 2
    return 4 if code >= 0x10000 else 3  # a lone surrogate: U+FFFD, 3 bytes


def cut_to_bytes(text: str, budget: int) -> str:
    """The start of ``text`` whose JSON form (without quotes) takes at most ``budget`` bytes,
    "…" included when it is cut."""
    if json_size(text) - 2 <= budget:
        return text
    room = budget - _char_cost(ELLIPSIS)
    used, end = 0, 0
    for char in itertools.islice(text, max(room, 0)):  # every character costs 1 byte at least
        used += _char_cost(char)
        if used > room:
            break
        end += 1
    return text[:end] + ELLIPSIS if room >= 0 else ""


Leaf = tuple[Any, Any]  # (container, key): where a cuttable string lives


def _leaves(value: Any, keep: Callable[[str], bool], out: list[Leaf]) -> None:
    items: Iterable[tuple[Any, Any]]
    if isinstance(value, dict):
        items = ((k, v) for k, v in value.items() if not keep(str(k)))
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, item in items:
        if isinstance(item, str):
            out.append((value, key))
        else:
            _leaves(item, keep, out)


def fit_json(payload: dict[str, Any], budget: int, keep: Callable[[str], bool]) -> bool:
    """Cut the strings of ``payload`` (in place; not those under a key ``keep`` accepts)
    until its JSON takes at most ``budget`` bytes; True if anything was cut.

    The longest strings are cut first, all to one common length, so the budget is shared
    fairly. Each string is first cut to ``budget`` characters (it could never fit whole),
    so the work is bounded by the budget whatever the input size.
    """
    leaves: list[Leaf] = []
    _leaves(payload, keep, leaves)
    changed = False
    for container, key in leaves:
        if len(container[key]) > budget:
            container[key] = container[key][:budget]
            changed = True
    for _ in range(8):  # the estimate below is exact but for the ellipses: a few rounds
        total = json_size(payload)
        if total <= budget:
            return changed
        sizes = [json_size(container[key]) - 2 for container, key in leaves]
        level = _water_level(sizes, sum(sizes) - (total - budget))
        for (container, key), size in zip(leaves, sizes, strict=True):
            if size > level:
                container[key] = cut_to_bytes(container[key], level)
                changed = True
    return changed


def _water_level(sizes: Sequence[int], allowed: int) -> int:
    """The largest ``level`` with ``sum(min(size, level)) <= allowed`` (0 if none)."""
    if allowed <= 0:
        return 0
    ordered = sorted(sizes)
    below = 0  # the sum of the sizes under the level
    for i, size in enumerate(ordered):
        above = len(ordered) - i  # strings cut to the level, this one included
        if below + size * above > allowed:
            return max((allowed - below) // above - 1, 0)  # -1: room for the "…"
        below += size
    return ordered[-1] if ordered else 0
