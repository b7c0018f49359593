"""The lxml fast path against feedparser: the same releases, or a decline.

The differential test runs every corpus feed through ``parse_feed`` twice — as shipped (fast
path first) and with the fast path switched off (feedparser only) — and requires, for each
feed the fast path took, the same ParsedFeed header and, after ``derive_all``, the same
release fields. Hand-made feeds pin the quirks and the declines.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

import monitor.parse.fast as fast
from monitor.errors import ParseError
from monitor.model import ParsedFeed
from monitor.parse.feed import parse_feed
from monitor.parse.identity import derive_all
from tests.parse.test_corpus import FILES

URL = "https://corpus.example/feed"
RELEASE_FIELDS = (
    "identity", "title", "summary", "content", "url", "published", "published_raw",
    "language", "author", "content_hash",
)  # fmt: skip


@contextlib.contextmanager
def feedparser_only() -> Iterator[None]:
    original = fast.parse_fast
    fast.parse_fast = lambda *args, **kwargs: None  # parse_feed imports it at call time
    try:
        yield
    finally:
        fast.parse_fast = original


def differences(body: bytes, headers: Mapping[str, str]) -> tuple[bool, list[str]]:
    """(whether the fast path took the body, how its result differs from feedparser's)."""
    taken: list[bool] = []
    original = fast.parse_fast

    def spy(*args: object, **kwargs: object) -> ParsedFeed | None:
        result = original(*args, **kwargs)  # type: ignore[arg-type]
        taken.append(result is not None)
        return result

    fast.parse_fast = spy
    try:
        got = parse_feed(body, headers, URL)
    except ParseError:
        return False, []
    finally:
        fast.parse_fast = original
    if not any(taken):
        return False, []
    with feedparser_only():
        want = parse_feed(body, headers, URL)
    found = [
        f"feed {name}: {getattr(got, name)!r} != {getattr(want, name)!r}"
        for name in ("kind", "title", "language", "warnings")
        if getattr(got, name) != getattr(want, name)
    ]
    if len(got.entries) != len(want.entries):
        found.append(f"{len(got.entries)} entries, feedparser {len(want.entries)}")
    for mode in ("auto", "content"):
        ours, our_warnings = derive_all(got, mode=mode, feed_url=URL)
        theirs, their_warnings = derive_all(want, mode=mode, feed_url=URL)
        if our_warnings != their_warnings or len(ours) != len(theirs):
            found.append(f"{mode}: derive_all differs")
        for index, (a, b) in enumerate(zip(ours, theirs, strict=False)):
            found += [
                f"{mode} release {index} {name}: {getattr(a, name)!r:.80} != {getattr(b, name)!r:.80}"
                for name in RELEASE_FIELDS
                if getattr(a, name) != getattr(b, name)
            ]
    return True, found


@dataclass(frozen=True)
class Compared:
    path: str
    taken: bool
    differences: tuple[str, ...]


def compare_file(path: str) -> Compared:
    """Worker: one corpus file both ways (module level, so forkserver can import it)."""
    taken, found = differences(Path(path).read_bytes(), {})
    return Compared(path, taken, tuple(found[:5]))


CORPUS_FEEDS = [path for path, category in FILES if "not-a-feed" not in category]


@pytest.fixture(scope="module")
def compared() -> Iterator[dict[str, Compared]]:
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(os.cpu_count() or 1, mp_context=context) as pool:
        ordered = sorted(CORPUS_FEEDS, key=lambda p: -os.path.getsize(p))
        yield {r.path: r for r in pool.map(compare_file, ordered)}


@pytest.mark.parametrize("path", CORPUS_FEEDS, ids=[os.path.basename(p) for p in CORPUS_FEEDS])
def test_fast_path_gives_feedparsers_releases(compared: dict[str, Compared], path: str) -> None:
    assert compared[path].differences == ()


def test_fast_path_takes_most_xml_feeds(compared: dict[str, Compared]) -> None:
    xml_feeds = [p for p, c in FILES if "json" not in c and "not-a-feed" not in c]
    taken = sum(compared[p].taken for p in xml_feeds)
    assert taken > len(xml_feeds) // 2


def rss(items: str, channel: str = "", root: str = '<rss version="2.0"') -> bytes:
    head = '<?xml version="1.0" encoding="utf-8"?>\n'
    ns = ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
    ns += ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
    ns += ' xmlns:atom="http://www.w3.org/2005/Atom"'
    body = f"{head}{root}{ns}><channel><title>T</title>{channel}{items}</channel></rss>"
    return body.encode()


def atom(entries: str, attrs: str = "") -> bytes:
    return (
        '<feed xmlns="http://www.w3.org/2005/Atom"'
        f"{attrs}><title>T</title><id>urn:f</id>{entries}</feed>"
    ).encode()


TAKEN = {
    "guid permalink is the link": rss("<item><title>a</title><guid>/p/1</guid></item>"),
    "guid not a permalink": rss(
        '<item><title>a</title><guid isPermaLink="false">x-1</guid><link>/l</link></item>'
    ),
    "link before guid": rss("<item><link>/l?a=1&amp;b=2</link><guid>/g</guid></item>"),
    "atom alternate link after text link": rss(
        '<item><title>a</title><link>/one</link><atom:link rel="alternate" href="/two"/></item>'
    ),
    "atom self link ignored": rss(
        '<item><title>a</title><atom:link rel="self" href="/self"/></item>'
    ),
    "content:encoded only": rss(
        "<item><title>a</title><content:encoded><![CDATA[<p>x</p>]]></content:encoded></item>"
    ),
    "content then description": rss(
        "<item><content:encoded>&lt;b&gt;c&lt;/b&gt;</content:encoded>"
        "<description>d</description></item>"
    ),
    "entities and html title": rss("<item><title>AT&amp;T &lt;b&gt;x&lt;/b&gt;</title></item>"),
    "mojibake repaired": rss("<item><title>caf\u00c3\u00a9 \u0093q\u0094</title></item>"),
    "dc:date and pubDate": rss(
        "<item><title>a</title><dc:date>2019-03-13T10:00:00Z</dc:date>"
        "<pubDate>not a date</pubDate></item>"
    ),
    "rss author with email": rss(
        "<item><title>a</title><author>press@mofa.example (Press)</author></item>"
    ),
    "channel and item language": rss(
        "<item><title>a</title><dc:language>ar</dc:language></item>",
        "<language>en-GB</language>",
    ),
    "rss 0.91": rss(
        "<item><title>a</title><link>http://x/</link></item>", "", '<rss version="0.91"'
    ),
    "no entries": rss(""),
    "atom entry": atom(
        '<entry xml:lang="ar"><id>tag:x,2019:1</id><title type="html">&lt;b&gt;t&lt;/b&gt;'
        '</title><link href="/a"/><link rel="enclosure" href="/b.mp3"/>'
        "<published>2019-03-13T10:00:00+03:00</published><updated>2019-03-14</updated>"
        "<author><name>N</name><email>e@x</email></author><summary>s</summary>"
        '<content type="html">&lt;p&gt;c&lt;/p&gt;</content></entry>',
        ' xml:lang="en"',
    ),
    "atom text content copied to summary": atom(
        '<entry><id>urn:1</id><title>t</title><content type="text">a &lt; b</content></entry>'
    ),
}

DECLINED = {
    "doctype": b'<?xml version="1.0"?><!DOCTYPE rss><rss version="2.0"><channel/></rss>',
    "latin-1 declared": rss("").replace(b"utf-8", b"iso-8859-1"),
    "ill-formed": b'<rss version="2.0"><channel><item><title>a</item></channel></rss>',
    "two titles": rss("<item><title>a</title><dc:title>b</dc:title></item>"),
    "xml:base": atom('<entry xml:base="http://b/"><id>1</id><link href="x"/></entry>'),
    "xhtml content": atom(
        '<entry><id>1</id><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
        "x</div></content></entry>"
    ),
    "markup inside description": rss("<item><description><p>x</p></description></item>"),
    "atom 0.3": b'<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>t</title></feed>',
    "base64 content": atom('<entry><id>1</id><content type="image/png">AAAA</content></entry>'),
    "media title": rss(
        '<item xmlns:media="http://search.yahoo.com/mrss/"><media:title>m</media:title></item>'
    ),
}


@pytest.mark.parametrize("body", TAKEN.values(), ids=TAKEN.keys())
def test_fast_path_takes_and_matches(body: bytes) -> None:
    taken, found = differences(body, {"Content-Type": "application/rss+xml; charset=utf-8"})
    assert taken
    assert found == []


@pytest.mark.parametrize("body", DECLINED.values(), ids=DECLINED.keys())
def test_fast_path_declines(body: bytes) -> None:
    assert fast.parse_fast(body, "application/xml", URL, None) is None


@pytest.mark.parametrize(
    ("content_type", "taken"),
    [
        ("", True),
        ("text/xml", True),
        ("application/atom+xml; charset=UTF-8", True),
        ("text/html; charset=utf-8", False),
        ("application/xml; charset=windows-1256", False),
    ],
)
def test_headers_decide_whether_to_take(content_type: str, taken: bool) -> None:
    body = TAKEN["atom entry"]
    result = fast.parse_fast(body, content_type, URL, None)
    assert (result is not None) is taken
    assert differences(body, {"Content-Type": content_type} if content_type else {}) == (taken, [])
