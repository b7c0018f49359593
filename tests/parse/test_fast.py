"""The lxml fast path against feedparser: the same releases, or a decline.

The differential test runs every corpus feed through ``parse_feed`` twice — as shipped (fast
path first) and with the fast path switched off (feedparser only) — and requires, for each
feed the fast path took, the same ParsedFeed header and, after ``derive_all``, the same
release fields. Hand-made feeds pin the quirks (QUIRKS also names the value feedparser
gives) and the declines; generated items (hypothesis) mix the elements the fast path replays
in any order, nesting, xml:base and xml:lang, and it must decline or agree on every one.
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
from hypothesis import given, settings
from hypothesis import strategies as st

import monitor.parse.lxml_feed as fast
from monitor.errors import ParseError
from monitor.model import ParsedFeed
from monitor.parse.feed import parse_feed
from monitor.parse.identity import derive_all
from tests.conftest import require_corpus
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
    found += [  # which fields are HTML: the title's type (or RSS sniff) as feedparser has it
        f"entry {index} markup: {sorted(a.markup)} != {sorted(b.markup)}"
        for index, (a, b) in enumerate(zip(got.entries, want.entries, strict=False))
        if a.markup != b.markup
    ]
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
    require_corpus()
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(os.cpu_count() or 1, mp_context=context) as pool:
        ordered = sorted(CORPUS_FEEDS, key=lambda p: -os.path.getsize(p))
        yield {r.path: r for r in pool.map(compare_file, ordered)}


@pytest.mark.corpus
@pytest.mark.parametrize("path", CORPUS_FEEDS, ids=[os.path.basename(p) for p in CORPUS_FEEDS])
def test_fast_path_gives_feedparsers_releases(compared: dict[str, Compared], path: str) -> None:
    assert compared[path].differences == ()


@pytest.mark.corpus
def test_fast_path_takes_most_xml_feeds(compared: dict[str, Compared]) -> None:
    xml_feeds = [p for p, c in FILES if "json" not in c and "not-a-feed" not in c]
    taken = sum(compared[p].taken for p in xml_feeds)
    assert taken > len(xml_feeds) // 2


def rss(items: str, channel: str = "", root: str = '<rss version="2.0"') -> bytes:
    head = '<?xml version="1.0" encoding="utf-8"?>\n'
    ns = ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
    ns += ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
    ns += ' xmlns:atom="http://www.w3.org/2005/Atom"' + MEDIA + ITUNES
    body = f"{head}{root}{ns}><channel><title>T</title>{channel}{items}</channel></rss>"
    return body.encode()


def atom(entries: str, attrs: str = "") -> bytes:
    return (
        f'<feed xmlns="http://www.w3.org/2005/Atom"{MEDIA}'
        f"{attrs}><title>T</title><id>urn:f</id>{entries}</feed>"
    ).encode()


MEDIA = ' xmlns:media="http://search.yahoo.com/mrss/"'
ITUNES = ' xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'


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
    "title and dc:title": rss("<item><title>a</title><dc:title>b</dc:title></item>"),
    "xml:base on an atom entry": atom(
        '<entry xml:base="http://b/"><id>1</id><link href="x"/></entry>'
    ),
    "media title only": rss("<item><media:title>m</media:title></item>"),
    "media rss beside the item's own fields": rss(
        '<item><title>a</title><description>d</description><media:content url="v.mp4">'
        '<media:title type="plain">m</media:title><media:credit scheme="urn:x">c</media:credit>'
        '<media:thumbnail url="t.jpg"/></media:content><media:keywords>k</media:keywords></item>'
    ),
}

# What feedparser does, pinned: (body, Entry field, its value in each entry). Each body is
# also in TAKEN, so the fast path must agree with feedparser on everything else too.
QUIRKS: dict[str, tuple[bytes, str, list[object]]] = {
    "media:title after the title is dropped": (
        rss(
            '<item><title>a</title><media:content url="v" xml:lang="fr">'
            "<media:title>m</media:title></media:content></item>"
        ),
        "title",
        ["a"],
    ),
    "media:title before the title gives way to it": (
        rss(
            '<item xml:lang="de"><media:title xml:lang="fr">m</media:title><title>a</title></item>'
        ),
        "language",
        ["de"],
    ),
    "after an empty title, a media:title gives the language": (
        rss(
            '<item><title/><media:content url="v" xml:lang="fr">'
            "<media:title>m</media:title></media:content></item>"
        ),
        "language",
        ["fr"],
    ),
    "a source lets a later media:title win": (
        rss(
            '<item><title>a</title><source url="http://s/">s</source>'
            "<media:title>m</media:title></item>"
        ),
        "title",
        ["m"],
    ),
    "an atom source's title blocks a deeper media:title": (
        atom(
            "<entry><id>urn:1</id><title>a</title><source><id>urn:s</id><title>s</title>"
            "</source><media:group><media:title>m</media:title></media:group></entry>"
        ),
        "title",
        ["a"],
    ),
    "media:description in a group is the summary": (
        atom(
            "<entry><id>urn:1</id><title>t</title><media:group><media:description>d"
            '</media:description><media:community><media:statistics views="2"/>'
            "</media:community></media:group></entry>"
        ),
        "summary",
        ["d"],
    ),
    "a second description becomes content, typed html when it looks so": (
        rss(
            "<item><title>t</title><description>d</description><media:description>"
            "&lt;p&gt;m&lt;/p&gt;</media:description><content:encoded>c</content:encoded></item>"
        ),
        "content",
        ["<p>m</p>"],
    ),
    "a second description in plain text gives way to html content": (
        rss(
            "<item><title>t</title><description>d</description><media:description>m"
            "</media:description><content:encoded>c</content:encoded></item>"
        ),
        "content",
        ["c"],
    ),
    "after content, a deeper description gives only its language": (
        rss(
            "<item><content:encoded>c</content:encoded><description>d</description>"
            '<media:content url="v" xml:lang="fr"><media:description>m</media:description>'
            "</media:content></item>"
        ),
        "language",
        ["fr"],
    ),
    "a feed-level summary then description: the first item has content already": (
        rss(
            "<item><itunes:summary>s1</itunes:summary><description>d1</description></item>"
            "<item><itunes:summary>s2</itunes:summary><description>d2</description></item>",
            "<itunes:summary>fs</itunes:summary><description>fd</description>",
        ),
        "content",
        ["", "d2"],
    ),
    "rss authors overwrite each other": (
        rss(
            "<item><title>t</title><author>a@x (A)</author><itunes:author>B</itunes:author>"
            "<dc:creator>C</dc:creator></item>"
        ),
        "author",
        ["C"],
    ),
    "xml:base on the root and an item": (
        rss(
            '<item xml:base="news/"><title>t</title><link>a.html</link></item>'
            "<item><title>u</title><guid>/g/1</guid></item>",
            "",
            '<rss version="2.0" xml:base="http://b.example/dir/"',
        ),
        "link",
        ["http://b.example/dir/news/a.html", "http://b.example/g/1"],
    ),
    "xml:base to an unsafe scheme keeps the outer base": (
        atom(
            '<entry xml:base="javascript:x"><id>urn:1</id><link href="p"/></entry>',
            ' xml:base="http://b.example/"',
        ),
        "link",
        ["http://b.example/p"],
    ),
}
TAKEN |= {name: body for name, (body, _, _) in QUIRKS.items()}

DECLINED = {
    "doctype": b'<?xml version="1.0"?><!DOCTYPE rss><rss version="2.0"><channel/></rss>',
    "latin-1 declared": rss("").replace(b"utf-8", b"iso-8859-1"),
    "ill-formed": b'<rss version="2.0"><channel><item><title>a</item></channel></rss>',
    "two channel titles": rss("", "<dc:title>b</dc:title>"),
    "xhtml content": atom(
        '<entry><id>1</id><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
        "x</div></content></entry>"
    ),
    "markup inside description": rss("<item><description><p>x</p></description></item>"),
    "atom 0.3": b'<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>t</title></feed>',
    "base64 content": atom('<entry><id>1</id><content type="image/png">AAAA</content></entry>'),
    "an undeclared date element (feedparser's 'updated')": rss(
        "<item><title>a</title><date>2019-03-13T10:00:00Z</date></item>"
    ),
    "a link inside media:content": rss(
        '<item><title>a</title><media:content url="v"><link>/x</link></media:content></item>'
    ),
    "media:title in a channel's media:content": rss(
        "", '<media:content url="v"><media:title>m</media:title></media:content>'
    ),
    "an atom author after an rss one": atom(
        "<entry><id>1</id><dc:creator xmlns:dc='http://purl.org/dc/elements/1.1/'>a"
        "</dc:creator><author><name>b</name></author></entry>"
    ),
    "a description in the image when the feed has a summary": rss(
        "<item><title>a</title></item>",
        "<itunes:summary>s</itunes:summary><image><url>/i</url><description>d</description>"
        "</image>",
    ),
    "a doctype after the xml declaration": (
        b'<?xml version="1.0" encoding="utf-8"?><!DOCTYPE html><rss version="2.0"><channel>'
        b"<title>T</title></channel></rss>"
    ),
}


@pytest.mark.parametrize("body", TAKEN.values(), ids=TAKEN.keys())
def test_fast_path_takes_and_matches(body: bytes) -> None:
    taken, found = differences(body, {"Content-Type": "application/rss+xml; charset=utf-8"})
    assert taken
    assert found == []


@pytest.mark.parametrize(("body", "field", "expected"), QUIRKS.values(), ids=QUIRKS.keys())
def test_feedparser_quirks_reproduced(body: bytes, field: str, expected: list[object]) -> None:
    parsed = fast.parse_fast(body, "application/rss+xml", URL, None)
    assert parsed is not None
    assert [getattr(entry, field) for entry in parsed.entries] == expected


NETSCAPE = (
    b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
    b'"http://my.netscape.com/publish/formats/rss-0.91.dtd">'
)


@pytest.mark.parametrize(
    ("doctype", "kind"), [(NETSCAPE, "rss091n"), (b"<!DOCTYPE html>", "rss20")]
)
def test_a_doctype_line_feedparser_removes(doctype: bytes, kind: str) -> None:
    body = rss("<item><title>a</title></item>").replace(b"\n", b"\n" + doctype + b"\n", 1)
    assert differences(body, {}) == (True, [])
    parsed = fast.parse_fast(body, "", URL, None)
    assert parsed is not None
    assert parsed.kind == kind


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


# Generated items: the elements the fast path replays, in any order and nesting, under any
# xml:base and xml:lang. Whatever it takes must be exactly what feedparser gives.
TEXTS = st.sampled_from(
    ["", "plain", "a &lt;b&gt;b&lt;/b&gt;", "caf\u00c3\u00a9", "/rel/x", "http://a/"]
)
ITEM_LEAVES = [
    "title", "dc:title", "media:title", "description", "itunes:summary", "media:description",
    "content:encoded", "author", "itunes:author", "dc:creator", "link", "guid", "source",
    "category", "pubDate", "x:other",
]  # fmt: skip
NESTED_LEAVES = ["media:title", "media:description", "media:credit", "x:other"]


@st.composite
def scope(draw: st.DrawFn) -> str:
    base = draw(st.none() | st.sampled_from(["http://b.example/d/", "sub/", "javascript:x", ""]))
    lang = draw(st.none() | st.sampled_from(["en", "fr_CA", ""]))
    return (f' xml:base="{base}"' if base is not None else "") + (
        f' xml:lang="{lang}"' if lang is not None else ""
    )


@st.composite
def leaf(draw: st.DrawFn, tags: list[str]) -> str:
    tag = draw(st.sampled_from(tags))
    return f"<{tag}{draw(scope())}>{draw(TEXTS)}</{tag}>"


def container(children: st.SearchStrategy[list[str]]) -> st.SearchStrategy[str]:
    tags = st.sampled_from(["media:content", "media:group", "x:box"])
    return st.builds(lambda t, a, c: f'<{t}{a} url="v">{"".join(c)}</{t}>', tags, scope(), children)


NESTED = st.recursive(leaf(NESTED_LEAVES), lambda inner: container(st.lists(inner, max_size=3)))
ITEM_CHILD = leaf(ITEM_LEAVES) | NESTED | st.just('<atom:link rel="alternate" href="p/q"/>')
CHANNEL_CHILD = st.sampled_from(
    [
        "<itunes:summary>s</itunes:summary>",
        "<description>d</description>",
        "<language>en</language>",
    ]
)


@st.composite
def generated_feeds(draw: st.DrawFn) -> bytes:
    items = draw(st.lists(st.lists(ITEM_CHILD, min_size=1, max_size=6), min_size=1, max_size=3))
    body = "".join(f"<item{draw(scope())}>{''.join(children)}</item>" for children in items)
    channel = "".join(draw(st.lists(CHANNEL_CHILD, max_size=3)))
    return rss(body, channel, f'<rss version="2.0" xmlns:x="urn:x"{draw(scope())}')


@settings(max_examples=150, deadline=None)
@given(generated_feeds())
def test_generated_feeds_taken_only_when_exact(body: bytes) -> None:
    _, found = differences(body, {})
    assert found == []
