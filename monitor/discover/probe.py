"""What one look at a URL finds: ``discover`` (feeds, else selectors) and ``preview``.

Both fetch through the project's own ``Fetcher`` with the defaults' user agent, deadline,
size cap and proxy (a URL not in the config is treated as a new source would be), and
store nothing. What they show is read by the poll's own ``prepare`` — the same parser,
identities, canonical links and dates — so a preview is what polling would store.

``discover(url)``: if the URL is a feed, that feed; else the feeds its page advertises and
those at the usual paths (``discover.feeds``), each with its title and item count; for a
page without any, suggested ``select:`` selectors (``discover.suggest``) with the items
each picks. ``preview(url, type, select)``: the items one fetch finds for a source of that
type (``auto``: a feed if the body is one, else a page), with suggested selectors for a
page given none (or whose selectors pick nothing).

Parsing a page (up to the size cap, 10 MB by default) is CPU work: it runs in a thread so
a console's event loop keeps answering. The main URL failing to fetch raises its
``FetchError``; a probe of a usual path that fails is simply not a feed.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from monitor.config.model import Config, Source
from monitor.discover.feeds import FeedLink, advertised_feeds, usual_urls
from monitor.discover.suggest import TooLarge, suggest_selectors
from monitor.egress import Egress
from monitor.errors import FetchError, ParseError
from monitor.fetch import Fetcher, FetchLimits, FetchResult
from monitor.parse.listing import ListingSelectors, page_base, parse_html, validate_selector
from monitor.parse.prepare import Recipe, prepare

_HTML_START = re.compile(
    rb"(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S
)
PROBE_DEADLINE = 10.0  # seconds for each usual path: most answer 404 at once
PROBES_DEADLINE = 30.0  # seconds for all of them
MAX_ITEMS = 50  # items shown per feed or suggestion


@dataclass(frozen=True, slots=True)
class Reach:
    """How a URL not yet in the config is fetched and read: the defaults'."""

    user_agent: str
    limits: FetchLimits
    egress: Egress
    zone: ZoneInfo

    @classmethod
    def of(cls, config: Config, url: str) -> Reach:
        """Raises ``ValueError`` (pydantic's) for a URL that is not http(s)."""
        source = Source(id="preview", url=url)
        settings = config.settings_of(source)
        limits = FetchLimits(
            deadline=settings.timeout.total_seconds(), max_bytes=settings.max_bytes
        )
        return cls(settings.user_agent, limits, config.egress_of(source), config.zone_of(source))


@dataclass(frozen=True, slots=True)
class Item:
    title: str
    url: str
    published_at: datetime | None


@dataclass(frozen=True, slots=True)
class FoundFeed:
    url: str
    title: str | None
    kind: str  # rss20, atom10, json1, …
    count: int  # items the feed lists
    advertised: bool
    items: tuple[Item, ...] = ()


@dataclass(frozen=True, slots=True)
class Suggestion:
    select: dict[str, str]  # item, title, link, date? — as in the config file
    items: tuple[Item, ...]
    count: int  # items the selectors pick
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Discovery:
    url: str  # after redirects
    feeds: tuple[FoundFeed, ...]
    suggestions: tuple[Suggestion, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Preview:
    kind: str  # feed or html: what was read (``auto`` finds out from the body)
    items: tuple[Item, ...]
    count: int
    suggested_select: dict[str, str] | None
    warnings: tuple[str, ...]
    suggestions: tuple[Suggestion, ...] = field(default=())  # the best first
    feeds: tuple[FeedLink, ...] = ()  # feeds a page advertises: better read than the page


async def discover(fetcher: Fetcher, url: str, reach: Reach) -> Discovery:
    page = await _get(fetcher, url, reach, reach.limits)
    itself = await asyncio.to_thread(_as_feed, page, reach, advertised=True)
    if itself is not None:
        return Discovery(page.url, (itself,), (), ())
    warnings: list[str] = []
    try:
        doc = await asyncio.to_thread(parse_html, page.body, page.headers)
    except ParseError as exc:
        return Discovery(page.url, (), (), (f"not a feed, and {exc}",))
    advertised = advertised_feeds(doc, page_base(doc, page.url))
    del doc
    links = [*advertised, *usual_urls(page.url, advertised)]
    probe = replace(reach.limits, deadline=min(reach.limits.deadline, PROBE_DEADLINE))
    found = await _probe_all(fetcher, links, reach, probe)
    feeds: list[FoundFeed] = []
    for link, result in zip(links, found, strict=True):
        if isinstance(result, FoundFeed):
            if all(f.url != result.url for f in feeds):
                feeds.append(result)
        elif link.advertised:
            warnings.append(f"advertised feed {link.url}: {result}")
    if feeds:
        return Discovery(page.url, tuple(feeds), (), tuple(warnings))
    suggestions, more, _ = await asyncio.to_thread(_suggest, page, reach)
    return Discovery(page.url, (), tuple(suggestions), (*warnings, *more))


async def preview(
    fetcher: Fetcher, url: str, kind: str, select: ListingSelectors | None, reach: Reach
) -> Preview:
    """Raises ``FetchError`` when the URL cannot be fetched, ``ValueError`` for a selector
    that cannot work (its message names it)."""
    if select is not None:
        for name in ("item", "title", "link", "date"):
            value = getattr(select, name)
            if value is not None and (problem := validate_selector(value, item=name == "item")):
                raise ValueError(f"select.{name}: {problem}")
    page = await _get(fetcher, url, reach, reach.limits)
    return await asyncio.to_thread(_preview, page, kind, select, reach)


def _preview(
    page: FetchResult, kind: str, select: ListingSelectors | None, reach: Reach
) -> Preview:
    if kind == "auto":
        kind = "html" if _HTML_START.match(page.body[:1024]) else "feed"
        if kind == "feed":
            try:
                items, count, read = _read(page, reach, None)
                return Preview("feed", items, count, None, read)
            except ParseError:
                kind = "html"  # not a feed: read it as a page
    if kind == "feed":
        try:
            items, count, read = _read(page, reach, None)
        except ParseError as exc:
            return Preview("feed", (), 0, None, (f"{exc}: try type html, or sources discover",))
        return Preview("feed", items, count, None, read)
    warnings: tuple[str, ...] = ()
    if select is not None:
        try:
            items, count, warnings = _read(page, reach, select)
        except ParseError as exc:
            return Preview("html", (), 0, None, (str(exc),))
        if count:
            return Preview("html", items, count, None, warnings)
    suggestions, more, feeds = _suggest(page, reach)
    best = suggestions[0] if suggestions else None
    if select is not None:  # the operator's picked nothing: keep them, suggest others
        suggested = best.select if best else None
        return Preview(
            "html", (), 0, suggested, (*warnings, *more), tuple(suggestions), tuple(feeds)
        )
    if best is None:
        return Preview("html", (), 0, None, tuple(more), (), tuple(feeds))
    return Preview(
        "html",
        best.items,
        best.count,
        best.select,
        (*best.warnings, *more),
        tuple(suggestions),
        tuple(feeds),
    )


async def _get(fetcher: Fetcher, url: str, reach: Reach, limits: FetchLimits) -> FetchResult:
    result = await fetcher.fetch(
        url, user_agent=reach.user_agent, limits=limits, egress=reach.egress
    )
    return result


async def _probe_all(
    fetcher: Fetcher, links: list[FeedLink], reach: Reach, limits: FetchLimits
) -> list[FoundFeed | str]:
    """Every link probed, two at a time per host (the fetcher's politeness), within
    ``PROBES_DEADLINE`` in all: a site that never answers costs that, not 18 deadlines."""
    tasks = [asyncio.ensure_future(_probe(fetcher, link, reach, limits)) for link in links]
    done, pending = await asyncio.wait(tasks, timeout=PROBES_DEADLINE)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    late = f"no answer within {PROBES_DEADLINE:g} s"
    return [task.result() if task in done else late for task in tasks]


async def _probe(
    fetcher: Fetcher, link: FeedLink, reach: Reach, limits: FetchLimits
) -> FoundFeed | str:
    try:
        fetched = await _get(fetcher, link.url, reach, limits)
    except FetchError as exc:
        return str(exc)
    found = await asyncio.to_thread(_as_feed, fetched, reach, advertised=link.advertised)
    return found if found is not None else "not a feed"


def _as_feed(fetched: FetchResult, reach: Reach, *, advertised: bool) -> FoundFeed | None:
    from monitor.parse.feed import parse_feed

    if _HTML_START.match(fetched.body[:1024]):
        # an HTML page: feedparser would take seconds on a big one to say so
        return None
    try:
        feed = parse_feed(fetched.body, fetched.headers, fetched.url)
    except ParseError:
        return None
    if feed.kind == "html":
        return None
    items, count, _ = _read(fetched, reach, None)
    return FoundFeed(fetched.url, feed.title, feed.kind, count, advertised, items)


def _read(
    fetched: FetchResult, reach: Reach, select: ListingSelectors | None
) -> tuple[tuple[Item, ...], int, tuple[str, ...]]:
    """The items polling would store from this body, with the parse's warnings."""
    selectors = tuple(_select_dict(select).items()) if select else ()
    recipe = Recipe(
        source_kind="html" if select else "feed",
        source_id="preview",
        identity="auto",
        language=None,
        zone=reach.zone.key,
        selectors=selectors,
    )
    prepared = prepare(fetched.body, fetched.headers, fetched.url, recipe, datetime.now(UTC))
    releases = prepared.releases
    items = tuple(Item(r.title, r.url, r.published) for r in releases[:MAX_ITEMS])
    warnings = (*prepared.warnings, *(f"{s.where}: {s.reason}" for s in prepared.dropped[:3]))
    return items, len(releases), warnings


def _suggest(page: FetchResult, reach: Reach) -> tuple[list[Suggestion], list[str], list[FeedLink]]:
    """Selector suggestions for the page, checked by the listing extractor; warnings; and
    the feeds the page advertises."""
    try:
        doc = parse_html(page.body, page.headers)
    except ParseError as exc:
        return [], [str(exc)], []
    feeds = advertised_feeds(doc, page_base(doc, page.url))
    try:
        found = suggest_selectors(doc, reach.zone)
    except TooLarge as exc:
        return [], [f"page too large to suggest selectors ({exc}): write select: by hand"], feeds
    finally:
        del doc
    suggestions = []
    for suggested in found:
        try:
            items, count, warnings = _read(page, reach, suggested.select)
        except ParseError:
            continue
        if count:
            suggestions.append(Suggestion(_select_dict(suggested.select), items, count, warnings))
    if not suggestions:
        return [], ["no repeated blocks of links found: no selectors to suggest"], feeds
    return suggestions, [], feeds


def _select_dict(select: ListingSelectors) -> dict[str, str]:
    fields: dict[str, Any] = {
        "item": select.item,
        "title": select.title,
        "link": select.link,
        "date": select.date,
        "summary": select.summary,
        "content": select.content,
    }
    return {k: v for k, v in fields.items() if v is not None}
