"""Selector suggestion on listing-page shapes written for these tests (cards, a table, lists
with Arabic, Hijri, French and English dates, menus, pagers, related links and footers to
ignore), checked through the real listing extractor: the items it picks are the news."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.discover.suggest import MAX_ELEMENTS, TooLarge, suggest_selectors
from monitor.parse.listing import parse_html, parse_listing

PAGES = Path(__file__).parent / "pages"
MINISTRY = Path(__file__).parents[1] / "listing" / "pages" / "ministry-news.html"
ZONE = ZoneInfo("Asia/Qatar")
HTML = {"content-type": "text/html; charset=utf-8"}


def _best(body: bytes, url: str) -> tuple[dict[str, str | None], list[tuple[str, str, bool]]]:
    found = suggest_selectors(parse_html(body, HTML), ZONE)
    assert found, "no suggestion"
    select = found[0].select
    entries = parse_listing(body, HTML, url, select, ZONE).feed.entries
    fields = {"item": select.item, "title": select.title, "link": select.link, "date": select.date}
    return fields, [(e.title, e.link or "", e.published is not None) for e in entries]


@pytest.mark.parametrize(
    ("page", "url", "select", "first_title", "count"),
    [
        (
            MINISTRY,
            "https://www.mofa.gov.qa/ar/latest-news",
            {"item": "div.news-item", "title": "h3", "link": "a@href", "date": "span.date"},
            "وزير الدولة للشؤون الخارجية يلتقي المنسق المقيم للأمم المتحدة",
            4,  # the fifth block has no link: skipped, as polling would
        ),
        (
            PAGES / "cards.html",
            "https://mofa.example/en/newsroom",
            {
                "item": "article.card",
                "title": "h2.card-title",
                "link": "a.card-link@href",
                "date": "time@datetime",
            },
            "Minister of State for Foreign Affairs meets UN Resident Coordinator",
            6,  # two rows of three: every row
        ),
        (
            PAGES / "table-ar.html",
            "https://mofa.example/ar/press",
            {"item": "tbody > tr", "title": "a", "link": "a@href", "date": "td.date"},
            "وزير الخارجية يستقبل سفير جمهورية فرنسا لدى الدولة",
            4,
        ),
        (
            PAGES / "list-ar.html",
            "https://mofa.example/news",
            {"item": "ul.news-list > li", "title": "a", "link": "a@href", "date": "span.news-date"},
            "وزير الخارجية يبحث مع نظيره العماني العلاقات الثنائية",
            4,
        ),
        (
            PAGES / "views-en.html",
            "https://mofa.example/en/press",
            {
                "item": "div.views-row",
                "title": "a",
                "link": "a@href",
                "date": "span.date-display-single",
            },
            "Statement by the Minister on the NATO summit in Brussels",
            4,
        ),
        (
            PAGES / "dl-mixed.html",
            "https://mofa.example/fr/communiques",
            {"item": "div.entry", "title": "h3.entry-title", "link": "a@href", "date": "p.meta"},
            "Entretien du ministre avec son homologue marocain à Rabat",
            4,
        ),
    ],
    ids=["ministry-ar", "cards", "table-ar", "list-hijri", "views-en", "entries-fr"],
)
def test_suggestion_picks_the_news_not_the_menus(
    page: Path, url: str, select: dict[str, str], first_title: str, count: int
) -> None:
    fields, items = _best(page.read_bytes(), url)
    assert fields == select
    assert len(items) == count
    assert items[0][0] == first_title
    # every date read (Hijri, Arabic-Indic digits too) but the ministry's "قريباً" ("soon")
    assert sum(dated for _, _, dated in items) == count - (page == MINISTRY)
    links = [link for _, link, _ in items]
    assert not any(word in link for link in links for word in ("privacy", "page=", "contact"))


def test_views_page_ranks_its_related_links_below_the_releases() -> None:
    found = suggest_selectors(parse_html((PAGES / "views-en.html").read_bytes(), HTML), ZONE)
    assert [s.select.item for s in found] == ["div.views-row", "div.block-related > ul > li"]


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body><p>Nothing listed here.</p></body></html>",
        # only menus: one-word links, in nav and outside it
        b"<html><body><nav><a href='/a'>Home</a><a href='/b'>News</a><a href='/c'>About</a></nav>"
        b"<ul><li><a href='/x'>Arabic</a></li><li><a href='/y'>English</a></li>"
        b"<li><a href='/z'>French</a></li></ul></body></html>",
        # nested a thousand deep: libxml2 stops at 256 levels; nothing here is a list
        b"<html><body>" + b"<div>" * 1000 + b"<a href='/x'>A title of words</a>" + b"</div>" * 1000,
    ],
    ids=["no-list", "menus-only", "deep"],
)
def test_pages_without_a_list_get_no_suggestion(body: bytes) -> None:
    assert suggest_selectors(parse_html(body, HTML), ZONE) == []


def test_a_page_of_too_many_elements_is_refused_in_one_line() -> None:
    row = b"<li><a href='/n'>A title of several words</a></li>"
    body = b"<html><body><ul>" + row * (MAX_ELEMENTS // 2 + 1) + b"</ul></body></html>"
    with pytest.raises(TooLarge, match="more than 200,000 elements"):
        suggest_selectors(parse_html(body, HTML), ZONE)
