"""parse_feed on hand-made feeds: entry fields, dates, JSON Feed, the date-parser hook."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.parse.feed import parse_feed
from tests.conftest import FEEDS_DIR

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <title>Ministry news</title>
  <entry>
    <id>tag:mofa.example,2019:1</id>
    <title type="html">NATO &amp;amp; Qatar</title>
    <link rel="alternate" href="/en/news/1"/>
    <updated>2019-03-13T10:00:00+03:00</updated>
    <author><name>Press office</name></author>
    <summary>Short</summary>
    <content type="html">&lt;p&gt;Long text&lt;/p&gt;</content>
  </entry>
</feed>"""

MARCH_13 = datetime(2019, 3, 13, 10, tzinfo=UTC)
RSS_ODD_DATE = """<rss version="2.0"><channel><title>t</title><language>ar</language>
<item><title>x</title><guid>1</guid><pubDate>13 مارس 2019</pubDate></item>
</channel></rss>""".encode()


def test_atom_entry_fields() -> None:
    feed = parse_feed(ATOM, {"Content-Type": "application/atom+xml"}, "https://mofa.example/feed")
    assert (feed.kind, feed.title, feed.language, feed.warnings) == (
        "atom10",
        "Ministry news",
        "en",
        (),
    )
    (entry,) = feed.entries
    assert entry.guid == "tag:mofa.example,2019:1"
    assert entry.link == "https://mofa.example/en/news/1"  # xml:base/Content-Location
    assert entry.title == "NATO &amp; Qatar"  # type="html": still markup, as published
    assert (entry.summary, entry.content) == ("Short", "<p>Long text</p>")
    assert entry.published == datetime(2019, 3, 13, 7, tzinfo=UTC)
    assert entry.published_raw == "2019-03-13T10:00:00+03:00"
    assert (entry.author, entry.language) == ("Press office", "en")


@pytest.mark.parametrize(
    ("date_parser", "expected"),
    [
        (None, None),
        (lambda raw: datetime(2019, 3, 13, 10) if "2019" in raw else None, MARCH_13),
        (lambda raw: None, None),
    ],
)  # fmt: skip
def test_unreadable_dates_go_to_the_date_parser(
    date_parser: object, expected: datetime | None
) -> None:
    feed = parse_feed(RSS_ODD_DATE, {}, "https://x.example/", date_parser=date_parser)  # type: ignore[arg-type]
    (entry,) = feed.entries
    assert entry.published_raw == "13 مارس 2019"
    assert entry.published == expected
    assert entry.language == "ar"  # the channel's <language>


def test_json_feed_sample() -> None:
    body = (
        FEEDS_DIR / "kagisearch__fastfeedparser/tests/integration/json_feed_sample.json"
    ).read_bytes()
    feed = parse_feed(
        body, {"content-type": "application/feed+json"}, "https://example.org/feed.json"
    )
    assert (feed.kind, feed.title, feed.language) == ("json11", "Example JSON Feed", "en-US")
    first = feed.entries[0]
    assert (first.guid, first.link, first.title) == (
        "https://example.org/item1",
        "https://example.org/item1",
        "First JSON Feed Item",
    )
    assert first.published is not None and first.published.tzinfo is not None
    assert first.content.startswith("<p>This is the first item")


@pytest.mark.parametrize(
    ("item", "field", "value"),
    [
        (b'{"id": 42, "url": "https://e/1", "content_text": "x"}', "guid", "42"),
        (b'{"id": true, "content_text": "x"}', "guid", None),
        (b'{"id": "a", "date_published": "2019-03-13T13:00:00+03:00"}', "published", MARCH_13),
        (b'{"id": "a", "date_published": "yesterday"}', "published", None),
        (b'{"id": "a", "date_published": "2019-03-13T10:00:00"}', "published", MARCH_13),
        (b'{"id": "a", "authors": [{"name": "A"}, {"name": "B"}, 3]}', "author", "A, B"),
        (b'{"id": "a", "author": {"name": "Old style"}}', "author", "Old style"),
        (b'{"id": "a", "title": ["not", "text"]}', "title", ""),
        (b'{"id": "a", "external_url": "https://e/x"}', "link", "https://e/x"),
        (b'{"id": "a", "content_html": "<p>h</p>", "content_text": "t"}', "content", "<p>h</p>"),
        (b'{"id": "a", "language": "ar"}', "language", "ar"),
    ],
)  # fmt: skip
def test_json_feed_items_are_untrusted(item: bytes, field: str, value: object) -> None:
    body = b'{"version": "https://jsonfeed.org/version/1", "items": [' + item + b"]}"
    (entry,) = parse_feed(body, {}, "https://e/feed.json").entries
    assert getattr(entry, field) == value


@pytest.mark.parametrize(
    ("reference", "text"),
    [
        ("&#0;", "a  b"),  # dropped, as the character itself would be
        ("&#x1b;", "a  b"),
        ("&#xFFFE;", "a  b"),
        ("&#xD800;", "a \ufffd b"),  # feedparser's lenient parser raised on this one
        ("&#55296;", "a \ufffd b"),
        ("&#1114112;", "a \ufffd b"),  # past Unicode
        ("&#x110000;&#65535;", "a \ufffd b"),
        ("&#" + "9" * 5000 + ";", "a \ufffd b"),  # no int() of it
        (
            "&#x41;&#65;&#x1F600;&#9;&#1575;&#65533;&#x10FFFF;",
            "a AA\U0001f600\tا\ufffd\U0010ffff b",
        ),
    ],
)
def test_references_to_what_xml_cannot_hold(reference: str, text: str) -> None:
    items = "".join(
        f"<item><guid>{n}</guid><title>{title}</title></item>"
        for n, title in enumerate(["one", f"a {reference} b", "three"])
    )
    body = f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()
    feed = parse_feed(body, {"content-type": "application/xml"}, "https://m.example/rss")
    assert [e.title for e in feed.entries] == ["one", text, "three"]
    assert feed.warnings == ()  # well-formed once they are gone: no lenient reading
