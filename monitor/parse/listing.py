"""Listing pages: a ministry's press-release index read with CSS selectors, as a feed.

A ``type: html`` source names an item selector and, inside each item, selectors for its
title, link and optionally date, summary and content. A selector ending in ``@attr`` takes
that attribute of the first match (``a@href``; ``@href`` alone is the item's own
attribute); otherwise the element's visible text. Links are resolved against the page URL,
or its ``<base href>``. An item without a title or an http(s) link is skipped and counted.
Every value is text as the page shows it (an escaped ``&lt;script&gt;`` in a title is that
text), so the entries carry no markup.
Dates are read with ``parse_date`` in the source's zone; an unreadable one is kept in
``published_raw`` and warned about, so the pipeline falls back to the first-seen time.

Also the small HTML helpers ``extract`` shares: charset detection and visible text.
lxml and cssselect are imported here, so import this module only when a page is parsed.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import lxml.html
from cssselect import SelectorError
from lxml import etree
from lxml.cssselect import CSSSelector

from monitor.errors import ParseError
from monitor.model import Entry, ParsedFeed
from monitor.parse.dates import parse_date


@dataclass(frozen=True, slots=True)
class ListingSelectors:
    """CSS selectors of a listing page; each may end in ``@attr`` to take an attribute."""

    item: str  # one match per release
    title: str  # inside the item
    link: str  # inside the item, usually "a@href"
    date: str | None = None
    summary: str | None = None
    content: str | None = None


@dataclass(frozen=True, slots=True)
class ListingResult:
    feed: ParsedFeed  # kind "html"
    skipped: int  # items without a title or a link


def validate_selector(sel: str, *, item: bool = False) -> str | None:
    """An error message for a selector that cannot work, else None. Cheap: no page needed.
    ``item``: the item selector, which picks elements and so takes no ``@attribute``."""
    css, attr = _split(sel)
    if not sel.strip():
        return "empty selector"
    if item and attr is not None:
        return f"the item selector picks elements: drop '@{attr}' (use it on title, link, …)"
    if attr is not None and not re.fullmatch(r"[A-Za-z_:][-\w:.]*", attr):
        return f"invalid attribute name {attr!r} after '@'"
    if not css:
        return None  # "@href": the item's own attribute
    try:
        _compile(css)
    except SelectorError as exc:
        return f"invalid CSS selector {css!r}: {exc}"
    return None


def parse_listing(
    body: bytes,
    headers: Mapping[str, str],
    url: str,
    selectors: ListingSelectors,
    tz: ZoneInfo,
) -> ListingResult:
    """Read the releases listed on a page. Raises ParseError for a body that is not HTML."""
    if problem := validate_selector(selectors.item, item=True):
        raise ParseError(f"selector {selectors.item!r}: {problem}")
    every = (selectors.item, selectors.title, selectors.link)
    for sel in (*every, selectors.date, selectors.summary, selectors.content):
        if sel is None:
            continue
        if problem := validate_selector(sel):
            raise ParseError(f"selector {sel!r}: {problem}")
    doc = parse_html(body, headers)
    base = page_base(doc, url)

    items = _compile(selectors.item)(doc)
    entries: list[Entry] = []
    skipped = 0
    bad_dates: list[str] = []
    for item in items:
        title = first_value(item, selectors.title)
        href = first_value(item, selectors.link)
        link = _absolute(base, href) if href else None
        if not title or link is None:
            skipped += 1
            continue
        raw_date = first_value(item, selectors.date) if selectors.date else None
        published = parse_date(raw_date, tz) if raw_date else None
        if raw_date and published is None:
            bad_dates.append(raw_date)
        entries.append(
            Entry(
                guid=None,
                link=link,
                title=title,
                summary=_all(item, selectors.summary),
                content=_all(item, selectors.content),
                published=published,
                published_raw=raw_date or None,
                markup=frozenset(),  # visible text: what the page shows, never read again
            )
        )

    warnings: list[str] = []
    if not items:
        warnings.append(f"item selector {selectors.item!r} matched nothing")
    if skipped:
        warnings.append(f"{skipped} of {len(items)} items skipped: no title or no link")
    if bad_dates:
        warnings.append(
            f"{len(bad_dates)} {'date' if len(bad_dates) == 1 else 'dates'} not understood "
            f"(e.g. {bad_dates[0][:60]!r}); "
            "using the first-seen time"
        )
    title_el = doc.find(".//title")
    lang = doc.get("lang") or None
    return ListingResult(
        feed=ParsedFeed(
            kind="html",
            entries=tuple(entries),
            title=(element_text(title_el) or None) if title_el is not None else None,
            language=lang.strip() if lang else None,
            warnings=tuple(warnings),
        ),
        skipped=skipped,
    )


# --- HTML helpers shared with monitor.extract -------------------------------------------

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([-\w.:]+)""", re.IGNORECASE)
_BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    ]
)
_SPACES = re.compile(r"\s+")  # a line break in the source is a space; blocks break lines
_INVISIBLE_TAGS = frozenset({"script", "style", "noscript", "template", "head"})


def html_charset(body: bytes, headers: Mapping[str, str]) -> str:
    """The page's encoding: BOM, then Content-Type charset, then <meta>, else UTF-8."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if body.startswith(bom):
            return name
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    declared = re.search(r"charset\s*=\s*[\"']?([-\w.:]+)", content_type, re.IGNORECASE)
    found = declared.group(1) if declared else None
    if found is None and (meta := _META_CHARSET.search(body[:4096])):
        found = meta.group(1).decode("ascii", "replace")
    try:
        return codecs.lookup(found).name if found else "utf-8"
    except LookupError:
        return "utf-8"


def parse_html(body: bytes, headers: Mapping[str, str]) -> Any:
    """An lxml HTML document (the <html> element). Raises ParseError when there is none."""
    charset = html_charset(body, headers)
    if charset in {"iso8859-1", "ascii", "latin-1"}:
        charset = "cp1252"  # what browsers do, per the WHATWG encoding standard
    text = body.decode(charset, errors="replace").lstrip("\ufeff")
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True)
    try:
        doc = lxml.html.document_fromstring(text.encode("utf-8"), parser=parser)
    except (etree.ParserError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ParseError(f"not an HTML page: {reason}") from None
    if doc is None:
        raise ParseError("not an HTML page: the document is empty")
    return doc


def page_base(doc: Any, url: str) -> str:
    """The URL relative links are resolved against: <base href> if any, else the page URL."""
    base = doc.find(".//base[@href]")
    return urljoin(url, base.get("href").strip()) if base is not None else url


def element_text(el: Any) -> str:
    """Visible text of an element: scripts and styles dropped, blocks on their own lines."""
    parts: list[str] = []
    _walk(el, parts)
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def _walk(el: Any, parts: list[str]) -> None:
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag in _INVISIBLE_TAGS:
        return
    block = tag in _BLOCK_TAGS
    if block:
        parts.append("\n")
    if el.text and isinstance(el.tag, str):
        parts.append(_SPACES.sub(" ", el.text))
    for child in el:
        _walk(child, parts)
        if child.tail:
            parts.append(_SPACES.sub(" ", child.tail))
    if block:
        parts.append("\n")


@lru_cache(maxsize=256)
def _compile(css: str) -> Any:
    return CSSSelector(css, translator="html")


def _split(sel: str) -> tuple[str, str | None]:
    css, at, attr = sel.strip().rpartition("@")
    if not at or "]" in attr or "(" in attr:
        return sel.strip(), None
    return css.strip(), attr.strip()


def select_values(el: Any, sel: str) -> list[str]:
    """Every value a selector yields inside ``el``: attribute values or visible texts."""
    css, attr = _split(sel)
    found = _compile(css)(el) if css else [el]
    if attr is None:
        texts = (element_text(e) for e in found)
    else:
        texts = (" ".join(str(e.get(attr) or "").split()) for e in found)
    return [t for t in texts if t]


def select_elements(el: Any, css: str) -> list[Any]:
    """The elements a CSS selector (no ``@attr``) picks in ``el``, itself included."""
    return list(_compile(css)(el))


def first_value(el: Any, sel: str) -> str:
    """The first value, on one line (a title or date split by <br> is still one)."""
    values = select_values(el, sel)
    return " ".join(values[0].split()) if values else ""


def _all(el: Any, sel: str | None) -> str:
    return "\n".join(select_values(el, sel)) if sel else ""


def _absolute(base: str, href: str) -> str | None:
    if href.startswith("#"):
        return None  # a link to the listing itself is not the release's own page
    try:
        link = urljoin(base, href)
        scheme = urlsplit(link).scheme
    except ValueError:
        return None
    return link if scheme in {"http", "https"} else None
