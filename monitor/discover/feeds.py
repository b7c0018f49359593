"""Where a site's feeds may be: the ones its page advertises, then the usual paths. Pure.

A page advertises a feed with ``<link rel="alternate" type="application/rss+xml" href=…>``
(or Atom's ``application/atom+xml``, JSON Feed's ``application/feed+json`` or
``application/json``), in its head or, on some ministry sites, its body. Sites that
advertise nothing often still serve one at a conventional path (WordPress's ``/feed``,
Hugo's ``/index.xml``, …): ``usual_urls`` lists those under the site's root and, for a page
in a section (``/ar/news``), under that section too, the advertised ones first and no URL
twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/json",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
    }
)
USUAL_PATHS = (
    "feed",
    "rss",
    "rss.xml",
    "atom.xml",
    "feed.xml",
    "index.xml",
    "feed.json",
    "rss/",
    "feed/",
)
MAX_ADVERTISED = 10  # a page listing more (one per tag) has its first ten tried


@dataclass(frozen=True, slots=True)
class FeedLink:
    url: str
    title: str | None  # the link's title attribute, if any
    advertised: bool  # by the page (True) or a usual path (False)


def advertised_feeds(doc: Any, base: str) -> list[FeedLink]:
    """The feeds ``doc`` (an lxml HTML document) links to, resolved against ``base``."""
    found: list[FeedLink] = []
    for link in doc.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        href = (link.get("href") or "").strip()
        if "alternate" not in rel or kind not in FEED_TYPES or not href:
            continue
        url = _http(urljoin(base, href))
        if url and all(f.url != url for f in found):
            title = " ".join((link.get("title") or "").split()) or None
            found.append(FeedLink(url, title, advertised=True))
        if len(found) == MAX_ADVERTISED:
            break
    return found


def usual_urls(page_url: str, known: list[FeedLink]) -> list[FeedLink]:
    """The conventional feed paths of the page's site (and section), less ``known``."""
    parts = urlsplit(page_url)
    roots = [urlunsplit((parts.scheme, parts.netloc, "/", "", ""))]
    section = parts.path.rstrip("/").rpartition("/")[0]
    if parts.path.count("/") > 1 and section:
        roots.append(urlunsplit((parts.scheme, parts.netloc, section + "/", "", "")))
    taken = {f.url for f in known}
    found = []
    for root in roots:
        for path in USUAL_PATHS:
            url = urljoin(root, path)
            if url not in taken:
                taken.add(url)
                found.append(FeedLink(url, None, advertised=False))
    return found


def _http(url: str) -> str | None:
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None
