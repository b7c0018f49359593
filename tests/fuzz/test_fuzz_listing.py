"""Fuzz: the listing-page extractor, on mutations of a ministry's news page.

Contract: for any bytes and any selectors that ``validate_selector`` accepts,
``parse_listing`` returns a ``ListingResult`` (entries with a title and an absolute
http(s) link, or skipped) or raises ``ParseError``; nothing else, within a deadline.

Found by this target (not yet fixed, monitor/parse is not this branch's): an ITEM selector
with an attribute (``item: "div@href"``, ``item: "@href"``) passes ``validate_selector``
and so ``monitor check``, then every poll fails with "internal error:
SelectorSyntaxError". The random selectors keep ``@`` out of the item until it is fixed;
``test_an_item_selector_with_an_attribute_is_refused`` holds the case.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from monitor.errors import ParseError
from monitor.parse.listing import ListingResult, ListingSelectors, parse_listing, validate_selector
from tests.fuzz.mutate import mutated, run, seeds

PAGES = seeds("listing")
ZONE = ZoneInfo("Asia/Qatar")
URL = "https://mofa.example/ar/news"
SELECTORS = ListingSelectors("div.news-item", "h3", "a@href", "span.date", "p")
SIMPLE = (
    st.tuples(
        st.sampled_from(["div", "h3", "a", "span", "p", "*", "main", "li", "x-y", ""]),
        st.sampled_from(
            [
                "",
                ".news-item",
                ".date",
                "#x",
                "[href]",
                ":nth-child(2)",
                ":first-child",
                "[class~=news-item]",
                ":not(p)",
                ".\\31 x",
                "[data-x='الخبر']",
            ]
        ),
    )
    .map("".join)
    .filter(bool)
)
CSS = st.lists(SIMPLE, min_size=1, max_size=3).flatmap(
    lambda parts: st.sampled_from([" ", " > ", " + ", ", "]).map(lambda glue: glue.join(parts))
)
INNER = st.one_of(
    CSS,
    st.tuples(CSS, st.sampled_from(["@href", "@title", "@data-x"])).map("".join),
    st.sampled_from(["@href", "@title"]),  # the item's own attribute
)


def _check(result: ListingResult) -> None:
    assert isinstance(result, ListingResult)
    assert result.skipped >= 0
    for entry in result.feed.entries:
        assert entry.title
        assert entry.link is not None and entry.link.startswith(("http://", "https://"))


@run(deadline=5.0)
@given(body=mutated(PAGES), charset=st.sampled_from(["utf-8", "windows-1256", "latin-1", ""]))
def test_listing_returns_items_or_a_parse_error(body: bytes, charset: str) -> None:
    headers = {"Content-Type": f"text/html; charset={charset}" if charset else "text/html"}
    try:
        _check(parse_listing(body, headers, URL, SELECTORS, ZONE))
    except ParseError as exc:
        assert str(exc) and "\n" not in str(exc)


@run(deadline=5.0)
@given(body=mutated(PAGES), item=CSS, title=INNER, link=INNER)
def test_listing_with_any_valid_selectors(body: bytes, item: str, title: str, link: str) -> None:
    # the item is plain CSS: an item with "@attr" is the known bug above
    assume(all(validate_selector(s) is None for s in (item, title, link)))
    try:
        _check(parse_listing(body, {}, URL, ListingSelectors(item, title, link), ZONE))
    except ParseError as exc:
        assert str(exc) and "\n" not in str(exc)


@pytest.mark.parametrize("item", ["@href", "div@href", "div.news-item@data-id"])
def test_an_item_selector_with_an_attribute_is_refused(item: str) -> None:
    body = seeds("listing")[0]
    selectors = ListingSelectors(item, "h3", "a@href")
    problem = validate_selector(item)
    try:
        parse_listing(body, {}, URL, selectors, ZONE)
    except ParseError:
        return  # refused as a listing problem: what `sources` can show
    assert problem is not None  # or refused when the config is checked
