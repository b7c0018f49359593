"""Listing pages of feedless ministries, read with CSS selectors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.errors import ParseError
from monitor.parse.listing import ListingSelectors, parse_listing, validate_selector
from tests.conftest import SEED_RELEASE

PAGES = Path(__file__).parent / "pages"
PAGE_URL = "https://www.mofa.gov.qa/ar/latest-news"
QATAR = ZoneInfo("Asia/Qatar")
HTML = {"Content-Type": "text/html; charset=utf-8"}
MINISTRY = ListingSelectors(
    item="div.news-item", title="h3", link="h3 a@href", date="span.date", summary="p"
)


def test_feedless_ministry_page() -> None:
    body = (PAGES / "ministry-news.html").read_bytes()
    result = parse_listing(body, {"content-type": "text/html"}, PAGE_URL, MINISTRY, QATAR)
    feed = result.feed
    seed_title = SEED_RELEASE.read_text(encoding="utf-8").splitlines()[0].strip()

    assert feed.kind == "html"
    assert feed.title == "وزارة الخارجية - الأخبار"
    assert feed.language == "ar"
    assert result.skipped == 1  # the climate item has no link
    assert [e.link for e in feed.entries] == [
        "https://www.mofa.gov.qa/ar/news/2019/03/14/qatar-un-meeting",
        "https://www.mofa.gov.qa/ar/news/2019/03/13/nato",
        "https://www.mofa.gov.qa/ar/news/2019/03/02/condolences",
        "https://www.mofa.gov.qa/ar/news/2019/02/28/visa?lang=ar&ref=list",
    ]
    seed = feed.entries[1]
    assert seed.title == seed_title
    assert seed.published == datetime(2019, 3, 12, 21, 0, tzinfo=UTC)  # 13/03 in Doha
    assert seed.published_raw == "13/03/2019"
    assert seed.summary.startswith("اجتمع سعادة الشيخ محمد بن عبدالرحمن")
    assert feed.entries[2].published == datetime(2019, 3, 1, 21, 0, tzinfo=UTC)  # 02.03
    undated = feed.entries[3]
    assert undated.published is None and undated.published_raw == "قريباً"
    assert undated.summary == ""
    assert any("1 of 5 items skipped" in w for w in feed.warnings)
    assert any("1 date not understood" in w and "قريباً" in w for w in feed.warnings)


@pytest.mark.parametrize(
    ("page_url", "base", "href", "expected"),
    [
        ("https://a.gov/en/news/", None, "2019/x.html", "https://a.gov/en/news/2019/x.html"),
        ("https://a.gov/en/news", None, "2019/x.html", "https://a.gov/en/2019/x.html"),
        ("https://a.gov/en/news", None, "/x.html", "https://a.gov/x.html"),
        ("https://a.gov/en/news", None, "//cdn.a.gov/x", "https://cdn.a.gov/x"),
        ("https://a.gov/en/news", None, "  x.html\n", "https://a.gov/en/x.html"),
        ("https://a.gov/en/news", "https://b.gov/ar/", "x.html", "https://b.gov/ar/x.html"),
        ("https://a.gov/en/news", "/ar/", "x.html", "https://a.gov/ar/x.html"),
        ("http://a.gov/", None, "x?id=1&amp;p=2", "http://a.gov/x?id=1&p=2"),
    ],
)
def test_links_are_resolved(page_url: str, base: str | None, href: str, expected: str) -> None:
    head = f'<base href="{base}">' if base else ""
    body = f'<html><head>{head}</head><body><li><a href="{href}">T</a></li></body></html>'
    sel = ListingSelectors(item="li", title="a", link="a@href")
    result = parse_listing(body.encode(), HTML, page_url, sel, QATAR)
    assert [e.link for e in result.feed.entries] == [expected]


@pytest.mark.parametrize("href", ["#", "#top", "javascript:void(0)", "mailto:x@a.gov", ""])
def test_items_without_a_usable_link_are_skipped(href: str) -> None:
    body = f'<ul><li><a href="{href}">A</a></li><li><a href="/ok">B</a></li></ul>'.encode()
    sel = ListingSelectors(item="li", title="a", link="a@href")
    result = parse_listing(body, HTML, "https://a.gov/news", sel, QATAR)
    assert [e.title for e in result.feed.entries] == ["B"]
    assert result.skipped == 1


def test_item_selector_matching_nothing_is_a_warning() -> None:
    body = (PAGES / "ministry-news.html").read_bytes()
    sel = ListingSelectors(item="div.news-item-renamed", title="h3", link="a@href")
    result = parse_listing(body, HTML, PAGE_URL, sel, QATAR)
    assert result.feed.entries == ()
    assert result.skipped == 0
    assert result.feed.warnings == ("item selector 'div.news-item-renamed' matched nothing",)


def test_attribute_of_the_item_itself() -> None:
    body = b"""<div id="list">
      <a class="release" href="/r/1" title="First" data-date="2019-03-13T10:00:00+03:00">
        <span class="t">First release</span></a>
      <a class="release" href="/r/2"><span class="t">Second release</span></a>
    </div>"""
    sel = ListingSelectors(
        item="a.release", title="span.t", link="@href", date="@data-date", summary="@title"
    )
    result = parse_listing(body, HTML, "https://a.gov/list", sel, QATAR)
    first, second = result.feed.entries
    assert (first.link, first.title, first.summary) == (
        "https://a.gov/r/1",
        "First release",
        "First",
    )
    assert first.published == datetime(2019, 3, 13, 7, 0, tzinfo=UTC)
    assert (second.link, second.published, second.published_raw) == (
        "https://a.gov/r/2",
        None,
        None,
    )
    assert result.feed.warnings == ()


def test_title_text_skips_scripts_and_collapses_whitespace() -> None:
    body = b"""<div class="i"><h3>  NATO <script>var x = 1;</script>
        meeting\n  today </h3><a href="/x">more</a></div>"""
    sel = ListingSelectors(item="div.i", title="h3", link="a@href")
    (entry,) = parse_listing(body, HTML, "https://a.gov/", sel, QATAR).feed.entries
    assert entry.title == "NATO meeting today"


@pytest.mark.parametrize(
    ("headers", "meta"),
    [
        ({"Content-Type": "text/html; charset=windows-1256"}, ""),
        ({"content-type": "text/html"}, '<meta charset="windows-1256">'),
        ({}, '<meta http-equiv="Content-Type" content="text/html; charset=windows-1256">'),
    ],
)
def test_charset_from_headers_or_meta(headers: dict[str, str], meta: str) -> None:
    html = f'<html><head>{meta}</head><body><div class="n"><a href="/1">حلف الناتو</a></div>'
    sel = ListingSelectors(item="div.n", title="a", link="a@href")
    result = parse_listing(html.encode("cp1256"), headers, "https://a.gov/", sel, QATAR)
    assert [e.title for e in result.feed.entries] == ["حلف الناتو"]


@pytest.mark.parametrize("body", [b"", b"   \n"])
def test_garbage_raises_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_listing(body, HTML, "https://a.gov/", MINISTRY, QATAR)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "body",
    [b"\x00\x00\x00", b"\xff\xfe\xfd binary \x89PNG\r\n", b"<p>unclosed", b'{"json": 1}'],
)
def test_odd_bodies_never_crash(body: bytes) -> None:
    try:
        result = parse_listing(body, HTML, "https://a.gov/", MINISTRY, QATAR)
    except ParseError:
        return
    assert result.feed.entries == ()
    assert result.feed.warnings == ("item selector 'div.news-item' matched nothing",)


@pytest.mark.parametrize(
    "sel",
    [
        ListingSelectors(item="div[", title="h3", link="a@href"),
        ListingSelectors(item="p", title="h3", link="a@href", date="span[", summary="p"),
        ListingSelectors(item="p", title="h3", link="a@href", content="::"),
    ],
)
def test_invalid_selector_is_a_parse_error(sel: ListingSelectors) -> None:
    with pytest.raises(ParseError, match=r"^selector '"):
        parse_listing(b"<p>x</p>", HTML, "https://a.gov/", sel, QATAR)


@pytest.mark.parametrize(
    ("selector", "ok"),
    [
        ("div.news-item", True),
        ("h3 a@href", True),
        ("@href", True),
        ("a[href^='/news']@href", True),
        ("li:nth-child(2n+1) > span.date", True),
        ("a[title='x@y']", True),
        ("", False),
        ("div[", False),
        ("a@", False),
        ("a@hr ef", False),
        ("::", False),
        ("a:unknown-pseudo", False),
    ],
)
def test_validate_selector(selector: str, ok: bool) -> None:
    problem = validate_selector(selector)
    assert (problem is None) == ok, problem
    if problem:
        assert "\n" not in problem
