"""A title is text (issue 17.3): decoded once, by its format's rule, never re-read as HTML.

Both examples of the issue, through every format: RSS (the lxml fast path and feedparser
alone), Atom (``type="text"`` and ``type="html"``), JSON Feed and a listing page. In RSS a
title is text unless feedparser's conservative sniff finds it made of HTML (known entities
and common tags, as real feeds send: ``Lover&rsquo;s Eye``); an Atom ``type="html"`` title
is HTML, converted to text once; a JSON Feed title is text; a listing page's title is the
element's visible text.
"""

from __future__ import annotations

from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import pytest

from monitor.parse.feed import parse_feed
from monitor.parse.identity import derive_all
from monitor.parse.listing import ListingSelectors, parse_listing
from tests.parse.test_fast import feedparser_only

URL = "https://www.mofa.gov.qa/ar/rss"
SCRIPT = "<script>alert(1)</script> بيان حول الناتو"
LESS = "A<B and C>D"


def _rss(title_xml: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>{title_xml}</title><link>https://m.example/1</link>"
        "<description>body</description></item></channel></rss>"
    ).encode()


def _atom(title_xml: str, kind: str | None) -> bytes:
    typed = f' type="{kind}"' if kind else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>t</title><id>urn:t</id><updated>2019-03-13T10:00:00Z</updated>"
        f"<entry><title{typed}>{title_xml}</title><id>urn:1</id>"
        '<link href="https://m.example/1"/><updated>2019-03-13T10:00:00Z</updated>'
        "</entry></feed>"
    ).encode()


def _titles(body: bytes) -> tuple[str, str]:
    """The derived title with the fast path (as shipped) and with feedparser alone."""
    headers = {"Content-Type": "application/xml; charset=utf-8"}
    fast = derive_all(parse_feed(body, headers, URL), feed_url=URL)[0][0].title
    with feedparser_only():
        slow = derive_all(parse_feed(body, headers, URL), feed_url=URL)[0][0].title
    return fast, slow


FEEDS = [
    # RSS: text, as the XML decoded it once
    (_rss(escape(LESS)), LESS),
    (_rss(escape(SCRIPT)), SCRIPT),
    (_rss("#include &lt;/etc/shadow&gt;"), "#include </etc/shadow>"),
    # RSS titles that are HTML in practice (feedparser's sniff: only known tags, entities)
    (_rss("Lover&amp;rsquo;s Eye"), "Lover\u2019s Eye"),
    (_rss("How &lt;i&gt;The Pitt&lt;/i&gt; works"), "How The Pitt works"),
    (
        _rss("&lt;b&gt;NATO&lt;/b&gt; &lt;script&gt;x&lt;/script&gt;"),
        "<b>NATO</b> <script>x</script>",
    ),
    # Atom: text by default and with type="text"; HTML with type="html"
    (_atom(escape(LESS), None), LESS),
    (_atom(escape(SCRIPT), "text"), SCRIPT),
    (_atom(escape(escape(LESS)), "html"), LESS),  # HTML for the text A<B and C>D
    (_atom(escape(escape(SCRIPT)), "html"), SCRIPT),
    (_atom(escape("<b>NATO</b> summit"), "html"), "NATO summit"),
    (_atom(escape(LESS), "html"), "AD"),  # as HTML, <B and C> is a tag: the format's rule
]


@pytest.mark.parametrize(("body", "title"), FEEDS)
def test_feed_titles_by_their_formats_rule(body: bytes, title: str) -> None:
    assert _titles(body) == (title, title)


@pytest.mark.parametrize("title", [LESS, SCRIPT, "Here&#8217;s &amp; there"])
def test_a_json_feed_title_is_text(title: str) -> None:
    body = (
        '{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [{"id": "1",'
        f' "url": "https://m.example/1", "title": {_json(title)},'
        f' "summary": {_json(LESS)}, "content_text": {_json(SCRIPT)}}}]}}'
    ).encode()
    [release] = derive_all(parse_feed(body, {}, URL), feed_url=URL)[0]
    assert (release.title, release.summary, release.content) == (title, LESS, SCRIPT)


def test_json_feed_content_html_is_html() -> None:
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [{"id": "1",'
        b' "title": "t", "content_html": "<p>A&lt;B and C&gt;D</p><script>x()</script>"}]}'
    )
    [release] = derive_all(parse_feed(body, {}, URL), feed_url=URL)[0]
    assert release.content == LESS


def _json(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)


@pytest.mark.parametrize("title", [LESS, SCRIPT])
def test_a_listing_title_is_its_visible_text(title: str) -> None:
    page = (
        "<html><body><div class='news'><h3><a href='/ar/news/1'>"
        f"{escape(title)}</a></h3><p>{escape(LESS)} &amp;amp;</p></div></body></html>"
    ).encode()
    selectors = ListingSelectors(item="div.news", title="h3", link="h3 a@href", summary="p")
    feed = parse_listing(page, {}, URL, selectors, ZoneInfo("Asia/Qatar")).feed
    [release] = derive_all(feed, feed_url=URL)[0]
    assert release.title == title
    assert release.summary == f"{LESS} &amp;"  # what the page shows, decoded once
