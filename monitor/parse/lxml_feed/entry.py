"""One RSS item or Atom entry as feedparser reads it, for the lxml fast path (``document``).

feedparser handles an item's elements one after another, and some handlers depend on what
came before. ``EntryReader`` replays, in document order, the part of that state that decides
the fields an ``Entry`` takes:

- title: a title is dropped when a non-empty title ended at the same or a shallower depth
  since the item (or a ``source``) began; otherwise it is stored unless one was stored from
  a shallower depth. ``media:title`` follows the same rules but never blocks a later title.
  ``title_detail`` (whence the entry language, and whether the title is HTML: its type,
  or in RSS feedparser's sniff of a text/plain value) is written by every title not dropped.
- summary: description, summary, ``itunes:summary`` and ``media:description`` store it by
  the same depth rule (``summary_detail`` always written). One that comes when a summary
  exists and no content yet becomes content (type text/plain unless given); content that is
  text or HTML is copied to the summary when there is none. "No content yet" carries over
  from the feed level into the first item after it (``fast`` works it out).
- content: every content element is kept; ``parse_feed`` takes the first HTML one, else the
  first. In RSS a text/plain value that looks like HTML is typed HTML (feedparser's sniff).
- author: RSS author elements (author, dc:creator, itunes:author...) overwrite each other;
  an Atom author (name, email) must be the only one.
- link: the last text ``<link>`` or alternate HTML link; a permalink guid (or Atom id) is
  the link when none came before it. Links and permalinks are resolved against the base in
  scope (the feed URL and any ``xml:base``).
- guid, dates, language: one of each.

Media RSS containers (``media:content``, ``media:group``) and elements without a feedparser
handler may hold other elements; inside them only ``media:title``, ``media:description``
and elements whose handlers touch none of these fields may appear. An Atom ``source`` keeps
its parts to itself, but its title sets the title depth. Anything else declines.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from monitor.model import Entry
from monitor.parse.entry_values import (
    FEED_MARKUP,
    FEED_MARKUP_HTML_TITLE,
    DateParser,
    clean,
    published_at,
)
from monitor.parse.lxml_feed.names import (
    ATOM,
    AUTHOR_PARTS,
    BASE,
    CONTAINERS,
    CONTENT_TYPES,
    ENTRY_KEYS,
    FIELDS,
    HARMLESS,
    LANG,
    RDF,
    SOURCE_PARTS,
    Decline,
    Names,
)
from monitor.parse.lxml_feed.values import Values, content_type, detail_lang, lower_attrs

_ONCE = frozenset({"guid", "published", "updated", "language"})
# the only fields read below an item's children (inside Media RSS or unknown elements)
_NESTED = frozenset({"media_title", "media_description"})


@dataclass
class _State:
    """What feedparser has stored for one item so far, and the state it reads back."""

    guid: str | None
    values: dict[str, str] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    title_depth: int = -1  # feedparser's title_depth: titles at this depth or deeper drop
    stored_depth: dict[str, int] = field(default_factory=dict)  # property_depth_map
    detail_lang: dict[str, str | None] = field(default_factory=dict)
    title_html: bool = False  # title_detail's type is HTML
    has_content: bool = False
    contents: list[tuple[str, str]] = field(default_factory=list)
    atom_author: bool = False


class EntryReader:
    """The ``Entry`` of each item of one document."""

    def __init__(
        self,
        names: Names,
        values: Values,
        version: str,
        date_parser: DateParser | None,
    ) -> None:
        from feedparser.datetimes import _parse_date
        from feedparser.mixin import _FeedParserMixin

        self.names = names
        self.values = values
        self.atom = version.startswith("atom")
        self.date_parser = date_parser
        # one reading per distinct date string (a migrated feed dates every item alike)
        self.parse_date: Callable[[str], Any] = functools.lru_cache(maxsize=1024)(_parse_date)
        # and one datetime per distinct reading: the same value (a datetime is immutable)
        self.published_at: Callable[..., Any] = functools.lru_cache(maxsize=1024)(published_at)
        self.looks_like_html: Callable[[str], bool] = _FeedParserMixin.looks_like_html

    def read(self, item: Any, feed_language: str | None, has_content: bool) -> Entry:
        """``has_content``: feedparser's hasContent as the item starts (see ``document``)."""
        keys = item.keys()  # most items have no attributes: no set built then
        if keys and {"href", "lastmod"} & {a.lower() for a in keys}:
            raise Decline
        state = _State(guid=item.get(f"{{{RDF}}}about"), has_content=has_content)
        self._children(item, 1, state, atom=item.tag == f"{{{ATOM}}}entry")
        values = state.values
        raw_date = clean(values.get("published")) or clean(values.get("updated")) or None
        parsed = self._date(values.get("published")) or self._date(values.get("updated"))
        if "title" in state.detail_lang:
            language = state.detail_lang["title"]
        else:
            language = state.detail_lang.get("summary")
        content = ""
        if state.contents:
            html = (value for kind, value in state.contents if "html" in kind)
            content = next(html, state.contents[0][1])
        return Entry(
            guid=clean(state.guid) or None,
            link=clean(values.get("link")) or None,
            title=values.get("title") or "",
            summary=values.get("summary") or "",
            content=content,
            published=self.published_at(parsed, raw_date, self.date_parser),
            published_raw=raw_date,
            language=clean(values.get("language")) or clean(language) or feed_language,
            author=clean(values.get("author")) or None,
            markup=FEED_MARKUP_HTML_TITLE if state.title_html else FEED_MARKUP,
        )

    def _children(self, parent: Any, depth: int, state: _State, *, atom: bool) -> None:
        for child in parent:
            name = self.names.of(child)
            kind = FIELDS.get(name)
            if kind is not None and (depth == 1 or name in _NESTED):
                self._field(child, name, kind, depth, state, atom=atom)
            elif kind is not None:
                raise Decline  # e.g. a link or date inside media:content
            else:
                self._other(child, name, depth, state, atom=atom)

    def _field(
        self, element: Any, name: str, kind: str, depth: int, state: _State, *, atom: bool
    ) -> None:
        if kind in _ONCE:
            if kind in state.seen:
                raise Decline  # feedparser resolves these by depth and order: not copied
            state.seen.add(kind)
        values = state.values
        if kind == "title":
            self._title(element, depth, state, media=name == "media_title")
        elif kind == "summary":
            self._summary(element, depth, state)
        elif kind == "content":
            self._content(element, CONTENT_TYPES[name], state)
        elif kind == "link":
            self._link(element, values)
        elif kind == "guid":
            permalink = lower_attrs(element).get("ispermalink", "true") == "true"
            guid = self.values.text(element, resolve=permalink)
            state.guid = guid
            if permalink:
                values.setdefault("link", guid)
        elif kind == "author":
            self._author(element, state, atom=atom)
        else:
            values[kind] = self.values.text(element)

    def _title(self, element: Any, depth: int, state: _State, *, media: bool) -> None:
        kind = content_type(element, "text/plain")
        text = self.values.text(element)
        if -1 < state.title_depth <= depth:
            return
        self._store(state, "title", text, depth)
        state.detail_lang["title"] = detail_lang(element)
        state.title_html = kind == "text/html" or (
            # feedparser sniffs the stripped text before it repairs mojibake
            not self.atom and self.looks_like_html((element.text or "").strip())
        )
        if text and not media:  # media:title puts the title depth back as it found it
            state.title_depth = depth

    def _summary(self, element: Any, depth: int, state: _State) -> None:
        if "summary" in state.values and not state.has_content:
            self._content(element, "text/plain", state)  # feedparser's _start_content
            return
        content_type(element, "text/html")
        self._store(state, "summary", self.values.text(element), depth)
        state.detail_lang["summary"] = detail_lang(element)

    @staticmethod
    def _store(state: _State, key: str, text: str, depth: int) -> None:
        stored = state.stored_depth.get(key)
        if stored is None or depth <= stored:
            state.stored_depth[key] = depth
            state.values[key] = text

    def _content(self, element: Any, default_type: str, state: _State) -> None:
        kind = content_type(element, default_type)
        state.has_content = True
        text = self.values.text(element)
        # feedparser sniffs the stripped text before it repairs mojibake
        if (
            not self.atom
            and kind == "text/plain"
            and self.looks_like_html((element.text or "").strip())
        ):
            kind = "text/html"
        state.contents.append((kind, text))
        # the copy is a plain setdefault: it records no depth for the summary
        state.values.setdefault("summary", text)

    def _other(self, element: Any, name: str, depth: int, state: _State, *, atom: bool) -> None:
        handled = self.names.has_handler(name)
        if name == "source":
            state.title_depth = -1  # feedparser's _start_source resets it
        if handled and name not in HARMLESS:
            raise Decline
        if not handled and (name in ENTRY_KEYS or name.endswith(("_detail", "_parsed"))):
            # an unknown element lands under its own name in the entry, where it could
            # shadow a key feedparser itself sets and reads
            raise Decline
        if name == "source" and len(element):
            self._source(element, depth, state)
        elif len(element):
            if handled and name not in CONTAINERS:
                raise Decline
            self._children(element, depth + 1, state, atom=atom)

    def _source(self, source: Any, depth: int, state: _State) -> None:
        """An Atom source: its parts go to the entry's "source"; only a title leaves a
        mark, the title depth (any title at that depth or deeper is then dropped)."""
        for child in source:
            name = self.names.of(child)
            if name == "source":
                raise Decline  # its end would end the outer source too
            if name not in SOURCE_PARTS:
                self._ignore(child, name)
            elif name == "author":
                for part in child:
                    if self.names.of(part) not in AUTHOR_PARTS or len(part):
                        raise Decline
            elif len(child):
                raise Decline
            elif name == "title" and self.values.text(child):
                state.title_depth = depth + 1

    def _date(self, value: str | None) -> Any:
        return self.parse_date(value) if value is not None else None

    def _link(self, element: Any, values: dict[str, str]) -> None:
        attrs = lower_attrs(element)
        href = attrs.get("url", attrs.get("uri", attrs.get("href")))
        if href is None:
            # attributes other than xml:base and xml:lang would go to a links entry only,
            # but none is expected on a text link
            if (attrs and any(k not in (BASE, LANG) for k in element.attrib)) or len(element):
                raise Decline
            text = self.values.text(element, resolve=True)
            if "&" in text:  # most links have none: neither replace nor re.sub changes them
                text = re.sub("&([A-Za-z0-9_]+);", r"&\g<1>", text.replace("&amp;", "&"))
            values["link"] = text
            return
        if not href or len(element):
            raise Decline
        rel = attrs.get("rel", "alternate").lower()
        kind = attrs.get("type", "application/atom+xml" if rel == "self" else "text/html")
        kind = {"html": "text/html", "xhtml": "application/xhtml+xml"}.get(kind.lower(), kind)
        if rel == "alternate" and kind.lower() in ("text/html", "application/xhtml+xml"):
            values["link"] = self.values.uri(element, href)

    def _author(self, element: Any, state: _State, *, atom: bool) -> None:
        if not len(element):
            if state.atom_author:
                raise Decline
            # feedparser stores each author-like element's text over the last
            state.values["author"] = self.values.text(element)
            return
        if "author" in state.values or not atom or (element.text or "").strip():
            raise Decline  # feedparser merges several authors' parts: not copied
        state.atom_author = True
        parts: dict[str, str] = {}
        for child in element:
            if (child.tail or "").strip():
                raise Decline
            name = self.names.of(child)
            if name not in AUTHOR_PARTS:
                self._ignore(child, name)  # e.g. Blogger's gd:image
                continue
            if name in parts or len(child):
                raise Decline
            parts[name] = (child.text or "").strip()
        who, email = parts.get("name"), parts.get("email")
        state.values["author"] = f"{who} ({email})" if who and email else who or email or ""

    def _ignore(self, element: Any, name: str) -> None:
        """A leaf feedparser keeps apart from the fields read here, or a decline."""
        if len(element):
            raise Decline
        if self.names.has_handler(name):
            if name not in HARMLESS:
                raise Decline
        elif name in ENTRY_KEYS or name.endswith(("_detail", "_parsed")):
            raise Decline
