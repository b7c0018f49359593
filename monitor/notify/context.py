"""What the message templates see: pure functions from alerts to template contexts.

``story_context`` is one message about one story: the release (title, source, time, a
summary cut near 600 characters, the link, its copies) and every rule that matched it,
each with at most 3 snippets and how many more there were. ``digest_context`` is a list of
those, one per story. ``alarm_context`` is a source alarm's notice, whatever its kind.

Times are shown in the config's zone (``monitor.times.local_time``). Release text stays
data: the helpers here escape it (``highlight`` escapes a snippet, then wraps the matched
terms in ``<mark>`` by offsets, so markup never comes from release text), flatten it to
one line where a line is expected, and lay right-to-left languages out right-to-left.
Work is bounded by the limits of ``notify.bounds``, never by the length of the text or the
number of hits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from monitor.model import Hit
from monitor.notify.base import flatten, group_stories
from monitor.notify.bounds import (
    COPIES_SHOWN,
    SUMMARY_CHARS,
    TITLE_CHARS,
    cut,
    first_terms,
    shown_hits,
)
from monitor.notify.payload import AlarmNotice, AlertView
from monitor.times import local_time

URL_CHARS = 2000
UTC_ZONE = ZoneInfo("UTC")
# Primary language subtags written right to left.
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "iw", "ur", "ps", "yi", "ckb", "dv", "sd", "ug"})


def text_direction(language: str | None) -> str:
    """``rtl`` for a right-to-left language, else ``auto`` (the reader's bidi algorithm)."""
    primary = re.split(r"[-_]", (language or "").strip().lower(), maxsplit=1)[0]
    return "rtl" if primary in RTL_LANGUAGES else "auto"


def term_spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) spans of the terms in ``text``; longer terms win ties.

    Case-insensitive, and a run of spaces in a term matches any whitespace (snippets
    have their whitespace collapsed).
    """
    found: list[tuple[int, int]] = []
    for term in sorted({t.strip() for t in terms if t.strip()}, key=len, reverse=True):
        pattern = r"\s+".join(re.escape(word) for word in term.split())
        found.extend(m.span() for m in re.finditer(pattern, text, re.IGNORECASE))
    spans: list[tuple[int, int]] = []
    for start, end in sorted(found, key=lambda s: (s[0], -s[1])):
        if end > start and (not spans or start >= spans[-1][1]):
            spans.append((start, end))
    return spans


def highlight(text: str, terms: Iterable[str]) -> Markup:
    """HTML of ``text``, escaped, with each term occurrence wrapped in ``<mark>``."""
    out: list[Markup] = []
    pos = 0
    for start, end in term_spans(text, terms):
        out.append(escape(text[pos:start]))
        out.append(Markup("<mark>%s</mark>") % text[start:end])
        pos = end
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def mark_text(text: str, terms: Iterable[str], left: str = "«", right: str = "»") -> str:
    """Plain-text highlighting for the text/plain part."""
    out: list[str] = []
    pos = 0
    for start, end in term_spans(text, terms):
        out.append(f"{text[pos:start]}{left}{text[start:end]}{right}")
        pos = end
    out.append(text[pos:])
    return "".join(out)


def safe_href(url: str) -> str | None:
    """The URL if it is http(s) and so safe to link; other schemes are shown, not linked."""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None


def one_line_cut(text: str, limit: int) -> str:
    """``text`` flattened to one line and cut to ``limit`` characters (work bounded by it)."""
    return cut(flatten(text[: limit * 2 + 64]), limit)[0]


def _match(hit: Hit, terms: Sequence[str]) -> dict[str, Any]:
    snippet = flatten(hit.snippet)
    return {
        "field": hit.field,
        "term": flatten(hit.term),
        "snippet": snippet,
        "snippet_marked": mark_text(snippet, terms),
        "snippet_html": highlight(snippet, terms),
    }


def _rule(alert: AlertView) -> dict[str, Any]:
    """One rule of a story: its name and the snippets shown for it."""
    hits = shown_hits(alert.matches)
    terms = first_terms(alert.matches)
    return {
        "id": alert.rule_id,
        "name": flatten(alert.rule_name),
        "alert": alert,
        "matches": [_match(hit, terms) for hit in hits],
        "count": alert.match_count,
        "more": alert.match_count - len(hits),
    }


def _when(value: datetime | None, zone: ZoneInfo) -> str | None:
    return local_time(value, zone) if value is not None else None


def story_context(alerts: Sequence[AlertView], zone: ZoneInfo = UTC_ZONE) -> dict[str, Any]:
    """The context of one message about one story (its alerts: one per rule, in order)."""
    if not alerts:
        raise ValueError("a story message needs at least one alert")
    first = alerts[0]
    rules = [_rule(alert) for alert in alerts]
    summary, summary_cut = cut(first.summary[: SUMMARY_CHARS * 2].strip(), SUMMARY_CHARS)
    url = one_line_cut(first.url, URL_CHARS)
    context: dict[str, Any] = {
        "alert": first,
        "alerts": list(alerts),
        "rules": rules,
        "rule_names": [r["name"] for r in rules],
        "title": one_line_cut(first.title, TITLE_CHARS),
        "source_id": first.source_id,
        "source_name": one_line_cut(first.source_name, 200),
        "dir": text_direction(first.language),
        "published": _when(first.published_at, zone),
        "summary": summary,
        "summary_cut": summary_cut,
        "url": url,
        "href": safe_href(url),
        "matches": [m for r in rules for m in r["matches"]],
        "copies": [
            {
                "source": one_line_cut(s, 200),
                "url": one_line_cut(u, URL_CHARS),
                "href": safe_href(u),
            }
            for s, u in first.copies[:COPIES_SHOWN]
        ],
        "copies_more": max(len(first.copies) - COPIES_SHOWN, 0),
    }
    context["item"] = context  # the templates' macros take the story as ``item``
    return context


def digest_context(alerts: Sequence[AlertView], zone: ZoneInfo = UTC_ZONE) -> dict[str, Any]:
    """The context of a digest: ``stories`` (one message's context each, in order), the
    number of alerts (``count``) and the rules' names in order of first appearance."""
    stories = [story_context(group, zone) for group in group_stories(alerts, _story_key)]
    names = dict.fromkeys(flatten(a.rule_name) for a in alerts)
    return {"count": len(alerts), "rule_names": list(names), "stories": stories}


def _story_key(alert: AlertView) -> str:
    return alert.story_key


def alarm_context(
    alert: AlertView, notice: AlarmNotice, zone: ZoneInfo = UTC_ZONE
) -> dict[str, Any]:
    """A source alarm's notice: its kind and state, the source, the message and the time."""
    url = one_line_cut(alert.url, URL_CHARS)
    return {
        "alert": alert,
        "notice": {"kind": notice.kind, "state": notice.state, "raised": notice.state == "raised"},
        "title": one_line_cut(alert.title, TITLE_CHARS),
        "message": one_line_cut(alert.summary, TITLE_CHARS),
        "source_id": alert.source_id,
        "source_name": one_line_cut(alert.source_name, 200),
        "url": url,
        "href": safe_href(url),
        "at": _when(alert.published_at, zone),
    }
