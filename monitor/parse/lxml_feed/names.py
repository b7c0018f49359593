"""Element names and feed versions as feedparser sees them, for the lxml fast path (``document``).

feedparser names an element by the canonical prefix of its namespace (``dc``, ``media``,
``content``; none for RSS and Atom themselves), "_" and the lower-case local name, and calls
``_start_<name>`` / ``_end_<name>`` when it has such a handler. ``Names.of`` gives that name
for an lxml element. feedparser maps a document's prefixes to canonical ones for the whole
document, whatever their scope; ``Names.check_declarations`` declines the documents where
that mapping could name an element differently from lxml's scoped namespaces.

The tables below say, by those names, what feedparser's handlers do with an item's
elements, as far as the fields monitor keeps are concerned.
"""

from __future__ import annotations

import re
from typing import Any

XML_NS = "http://www.w3.org/XML/1998/namespace"
LANG = f"{{{XML_NS}}}lang"
BASE = f"{{{XML_NS}}}base"
ATOM = "http://www.w3.org/2005/Atom"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RSS10 = "http://purl.org/rss/1.0/"
_RSS090 = "http://my.netscape.com/rdf/simple/0.9/"
_USERLAND = "http://backend.userland.com/rss"
_DECLARATION = re.compile(rb"""xmlns(?::([^\s=/>]+))?\s*=\s*(["'])(.*?)\2""", re.S)
_RSS_VERSIONS = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}

# the item elements read, by the Entry field they feed
FIELDS = {
    **dict.fromkeys(("title", "dc_title", "media_title"), "title"),
    "link": "link",
    **dict.fromkeys(("guid", "id"), "guid"),
    **dict.fromkeys(("description", "dc_description", "media_description"), "summary"),
    **dict.fromkeys(("summary", "itunes_summary"), "summary"),
    **dict.fromkeys(("content", "content_encoded"), "content"),
    **dict.fromkeys(("pubdate", "published", "issued", "dcterms_issued"), "published"),
    **dict.fromkeys(
        ("updated", "modified", "lastbuilddate", "dc_date", "dcterms_modified"), "updated"
    ),
    **dict.fromkeys(
        ("author", "dc_creator", "dc_author", "itunes_author", "managingeditor"), "author"
    ),
    **dict.fromkeys(("language", "dc_language"), "language"),
}
# default content type of a content element (a summary that becomes content: text/plain)
CONTENT_TYPES = {"content_encoded": "text/html", "content": "text/plain"}
# stored as "summary" at the feed level too, where a description is stored as "subtitle"
SUMMARIES = frozenset({"summary", "itunes_summary"})
DESCRIPTIONS = frozenset({"description", "dc_description", "media_description"})
# elements with a handler that touches none of the fields an Entry takes
HARMLESS = frozenset({
    "category", "keywords", "enclosure", "source", "comments", "dc_subject", "dc_publisher",
    "dc_rights", "rights", "copyright", "subtitle", "media_content", "media_group",
    "media_thumbnail", "media_category", "media_keywords", "media_rating", "media_credit",
    "media_restriction", "media_license", "media_player", "itunes_duration", "itunes_explicit",
    "itunes_image", "itunes_block", "itunes_keywords", "itunes_category", "itunes_subtitle",
    "georss_point", "georss_line", "georss_polygon", "georss_box", "created", "dcterms_created",
    "expirationdate", "dcterms_valid",
})  # fmt: skip
# handlers that only record their attributes: what they hold is read as the item's own
CONTAINERS = frozenset({"media_content", "media_group"})
# keys feedparser sets and reads in an entry; an element without a handler is stored under
# its own name (FeedParserDict stores "date" as "updated"), where it would shadow them
ENTRY_KEYS = frozenset({
    "id", "link", "links", "title", "summary", "content", "published", "updated", "author",
    "authors", "language", "guidislink", "tags", "source", "contributors", "publisher", "date",
    "items", "channel",
})  # fmt: skip
AUTHOR_PARTS = frozenset({"name", "email", "uri", "url", "homepage"})
# what an Atom source may hold: feedparser keeps all of it in the entry's "source"
SOURCE_PARTS = frozenset({
    "title", "subtitle", "id", "link", "updated", "published", "author", "category", "rights",
    "generator",
})  # fmt: skip


class Decline(Exception):
    """The feed is not one the fast path can read exactly like feedparser."""


class Names:
    """feedparser's names for the elements of one document (cached per tag and prefix)."""

    def __init__(self) -> None:
        from feedparser.mixin import _FeedParserMixin

        self.known: dict[str, str] = {k.lower(): v for k, v in _FeedParserMixin.namespaces.items()}
        self.handlers = _FeedParserMixin
        self.root_declarations: list[tuple[bytes | None, str]] = []
        self._cache: dict[tuple[str, str | None], str] = {}
        self._handled: dict[str, bool] = {}

    def of(self, element: Any) -> str:
        """feedparser's name for an element: canonical prefix + "_" + lower-case local name."""
        tag = element.tag
        if not isinstance(tag, str):
            raise Decline
        key = (tag, element.prefix)
        name = self._cache.get(key)
        if name is None:
            namespace, _, local = tag[1:].partition("}") if tag[0] == "{" else ("", "", tag)
            low = namespace.lower()
            if "backend.userland.com/rss" in low:
                low = _USERLAND
            prefix = self.known.get(low, element.prefix)
            local = local.lower()
            name = f"{prefix.lower()}_{local}" if prefix else local
            self._cache[key] = name
        return name

    def has_handler(self, name: str) -> bool:
        handled = self._handled.get(name)
        if handled is None:
            handlers = self.handlers
            handled = hasattr(handlers, f"_start_{name}") or hasattr(handlers, f"_end_{name}")
            self._handled[name] = handled
        return handled

    def check_declarations(self, body: bytes, root_tag: bytes) -> None:
        """Decline when feedparser's document-wide prefix map could rename an element."""
        self.root_declarations = [
            (m.group(1), m.group(3).decode("utf-8")) for m in _DECLARATION.finditer(root_tag)
        ]
        canonical = set(self.known.values())
        bound: dict[str, str] = {}
        for match in _DECLARATION.finditer(body):
            prefix = (match.group(1) or b"").decode("utf-8", "replace")
            uri = match.group(3).decode("utf-8", "replace").lower()
            if "backend.userland.com/rss" in uri:
                uri = _USERLAND
            if not prefix:
                continue
            # one prefix for two namespaces (or two prefixes that differ only in case, as
            # feedparser lower-cases them) would mix elements in the map
            if bound.setdefault(prefix.lower(), uri) != uri:
                raise Decline
            mapped = self.known.get(uri)
            if mapped is not None and mapped != prefix and prefix in canonical:
                raise Decline  # e.g. xmlns:dc bound to dcterms: dc_* would become dcterms_*

    def version(self, root: Any) -> str:
        """feedparser's ``version``: from the root's namespace declarations, then its name."""
        version = ""
        for prefix, uri in self.root_declarations:
            low = uri.lower()
            if (prefix, low) == (None, _RSS090.lower()):
                version = "rss090"
            elif low == _RSS10:
                version = "rss10"
            elif low == ATOM.lower():
                version = "atom10"
            if version:
                break
        name = self.of(root)
        if name == "rss":
            if not version.startswith("rss"):
                attr = root.get("version", "")
                version = _RSS_VERSIONS.get(attr) or ("rss20" if attr.startswith("2.") else "rss")
            return version
        if name == "feed" and version == "atom10" and root.tag == f"{{{ATOM}}}feed":
            return version
        if name == "rdf_rdf" and version in ("rss10", "rss090"):
            return version
        raise Decline
