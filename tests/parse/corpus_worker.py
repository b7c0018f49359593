"""Runs in worker processes for the corpus test: parse one corpus file both ways.

Module-level functions only, so a spawned or forkserver worker can import them by name.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import ParseError
from monitor.parse.feed import parse_feed
from monitor.parse.identity import derive_all

FEED_URL = "https://corpus.example/feed"


@dataclass(frozen=True)
class Examined:
    path: str
    error: str | None  # the ParseError message, if any
    entries: int  # what parse_feed returned
    reference: int  # feedparser's own count, or a JSON Feed's items
    distinct_entries: int  # entries that differ in any field
    distinct_identities: int  # identity mode auto
    distinct_by_content: int  # identity mode content, asked for when auto clashes
    warnings: tuple[str, ...]  # the parser's and derive_all's


def reference_count(body: bytes, is_json: bool) -> int:
    """The count to match: a JSON Feed's items, or what plain feedparser finds."""
    if is_json:
        return len(json.loads(body)["items"])
    import feedparser

    parsed = feedparser.parse(io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False)
    return len(parsed.entries)


def examine(path: str, is_json: bool) -> Examined:
    body = Path(path).read_bytes()
    reference = reference_count(body, is_json)
    try:
        feed = parse_feed(body, {}, FEED_URL)
    except ParseError as exc:
        return Examined(path, str(exc), 0, reference, 0, 0, 0, ())
    releases, clashes = derive_all(feed, feed_url=FEED_URL)
    by_content = derive_all(feed, mode="content", feed_url=FEED_URL)[0] if clashes else releases
    return Examined(
        path=path,
        error=None,
        entries=len(feed.entries),
        reference=reference,
        distinct_entries=len(set(feed.entries)),
        distinct_identities=len({r.identity for r in releases}),
        distinct_by_content=len({r.identity for r in by_content}),
        warnings=feed.warnings + clashes,
    )
