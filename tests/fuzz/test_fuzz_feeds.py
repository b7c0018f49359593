"""Fuzz: the feed parsers, on mutations of real-looking feeds.

Contracts, for any bytes:

- ``parse_feed`` (the whole path: JSON Feed, the lxml fast path, feedparser) returns a
  ``ParsedFeed`` whose entries are well-typed, or raises ``ParseError``; nothing else;
- the lxml fast path (``parse_fast``) returns a ``ParsedFeed`` or ``None`` (declines);
  it never raises;
- the feedparser path (``parse_feed`` with the fast path declining everything, as it does
  every feed it cannot read exactly) returns a ``ParsedFeed`` or raises ``ParseError``;
- each within a few seconds (a Hypothesis deadline) for bodies of a few kilobytes: no
  input makes a parse unbounded.

Bugs these targets found, fixed and kept below as regression tests: a character reference
to a lone surrogate (``&#xD800;``) in a title failed feedparser ("surrogates not
allowed"); feedparser's own exceptions escaped ``parse_feed`` (a byte that is not ASCII in
the XML declaration's encoding name, a stray ``</width>`` or ``</height>`` in an RSS feed),
so the poll failed as "internal error" instead of a one-line ``ParseError``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

import monitor.parse.lxml_feed as lxml_feed
from monitor.errors import ParseError
from monitor.model import Entry, ParsedFeed
from monitor.parse.feed import parse_feed
from monitor.parse.lxml_feed import parse_fast
from tests.fuzz.mutate import mutated, run, seeds, small_corpus_feeds

FEEDS = seeds("feed", shared=small_corpus_feeds)
URL = "https://ministry.example/feed"
CONTENT_TYPES = st.sampled_from(
    [
        "",
        "application/rss+xml; charset=utf-8",
        "application/atom+xml",
        "text/xml",
        "application/feed+json",
        "text/html; charset=windows-1256",
        "application/xml; charset=utf-16",
    ]
)


@contextlib.contextmanager
def fast_path_declining() -> Iterator[None]:
    """``parse_feed`` through feedparser alone: the fast path declines (``parse_feed``
    looks ``parse_fast`` up at each call)."""
    original = lxml_feed.parse_fast
    lxml_feed.parse_fast = lambda *args, **kwargs: None
    try:
        yield
    finally:
        lxml_feed.parse_fast = original


def parse_or_known(parse, *args):  # type: ignore[no-untyped-def]
    """``parse(*args)``: the fuzzers once passed over inputs of known bugs here; those are
    fixed, so every exception but the contract's is a finding again."""
    return parse(*args)


def well_typed(feed: ParsedFeed) -> None:
    assert isinstance(feed, ParsedFeed)
    assert isinstance(feed.kind, str) and isinstance(feed.entries, tuple)
    assert all(isinstance(w, str) for w in feed.warnings)
    for entry in feed.entries:
        assert isinstance(entry, Entry)
        assert isinstance(entry.title, str)
        assert isinstance(entry.summary, str) and isinstance(entry.content, str)
        assert entry.link is None or isinstance(entry.link, str)
        assert entry.published is None or (
            isinstance(entry.published, datetime) and entry.published.tzinfo is not None
        )


@run(deadline=5.0)
@given(body=mutated(FEEDS), content_type=CONTENT_TYPES)
def test_parse_feed_returns_a_feed_or_a_parse_error(body: bytes, content_type: str) -> None:
    try:
        feed = parse_or_known(parse_feed, body, {"Content-Type": content_type}, URL)
    except ParseError as exc:
        assert str(exc) and "\n" not in str(exc)  # one line, for `sources`
        return
    well_typed(feed)


@run(deadline=5.0)
@given(body=mutated(FEEDS), content_type=CONTENT_TYPES)
def test_fast_path_returns_a_feed_or_declines(body: bytes, content_type: str) -> None:
    feed = parse_fast(body, content_type, URL, None)
    if feed is not None:
        well_typed(feed)


@run(deadline=5.0)
@given(body=mutated(FEEDS))
def test_feedparser_path_returns_a_feed_or_a_parse_error(body: bytes) -> None:
    try:
        with fast_path_declining():
            feed = parse_or_known(parse_feed, body, {"Content-Type": "application/xml"}, URL)
    except ParseError:
        return
    well_typed(feed)


def test_a_lone_surrogate_reference_is_a_feed_or_a_parse_error() -> None:
    body = FEEDS[0].replace(b"<title>", b"<title>&#xD800;", 1)
    with contextlib.suppress(ParseError):
        well_typed(parse_feed(body, {}, URL))


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0" encoding="\x80tf-8"?>' + FEEDS[0].split(b"?>", 1)[1],
        FEEDS[0].replace(b"</title>", b"</title></width>", 1),
        FEEDS[0].replace(b"</title>", b"</title></height>", 1),
    ],
    ids=["encoding-x80", "stray-width", "stray-height"],
)
def test_feedparser_failures_are_parse_errors(body: bytes) -> None:
    with contextlib.suppress(ParseError):
        well_typed(parse_feed(body, {}, URL))
