"""A fast path for plain, well-formed RSS 0.9x/1.0/2.0 and Atom 1.0 feeds, read with lxml.

``parse_fast(body, content_type, url, date_parser)`` returns the ``ParsedFeed`` feedparser
would have given (as ``feed.parse_feed`` maps it), or ``None`` to decline: the caller then
uses feedparser. It is several times faster (bench/bench_parse.py), and it never guesses:
whatever it cannot reproduce exactly, it declines. It takes only UTF-8 bodies with an XML
media type, no DTD beyond a DOCTYPE line feedparser removes (a Netscape one makes the feed
``rss091n``), and items made of the elements ``entry`` replays. Unknown elements are
ignored only when feedparser would store them under a key of their own, which it does for
elements without a handler.

This module reads the document: media type and charset, the tree (lxml never reads a DTD,
entity or network resource here), version, where entries and titles may be, the feed's
title and language. ``names`` names elements as feedparser does, ``values``
gives text, language and base URI as its ``pop`` leaves them, ``entry`` reads the
items. Each quirk reproduced is checked by the corpus differential test (tests/parse).
The feed language is the root ``xml:lang`` on rss/feed, then ``<language>``; an entry's
is its own ``<language>``, else the ``xml:lang`` in scope at its title (or summary), else
the feed's.
"""

from __future__ import annotations

import re
from typing import Any

from monitor.model import ParsedFeed
from monitor.parse.entry_values import DateParser, clean
from monitor.parse.lxml_feed.entry import EntryReader
from monitor.parse.lxml_feed.names import (
    BASE,
    CONTENT_TYPES,
    DESCRIPTIONS,
    LANG,
    SUMMARIES,
    Decline,
    Names,
)
from monitor.parse.lxml_feed.values import Values, content_type, lang_of

_XML_TYPES = frozenset(
    {
        "",
        "application/xml",
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "text/xml",
    }
)
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([^"']*)["']""")
_ROOT_TAG = re.compile(rb"<[A-Za-z_][^>]*>")
_TITLES = frozenset({"title", "dc_title", "media_title"})
_LANGUAGES = frozenset({"language", "dc_language"})


def parse_fast(
    body: bytes, content_type: str, url: str, date_parser: DateParser | None
) -> ParsedFeed | None:
    """The ``ParsedFeed`` feedparser would give, or ``None`` when unsure (see module doc)."""
    try:
        return _Reader(body, content_type, url, date_parser).read()
    except Decline:
        return None


class _Reader:
    def __init__(
        self, body: bytes, content_type: str, url: str, date_parser: DateParser | None
    ) -> None:
        self.body = body
        self.content_type = content_type
        self.url = url
        self.date_parser = date_parser
        self.names = Names()
        self.doctype_version: str | None = None

    def read(self) -> ParsedFeed:
        root = self._parse()
        names = self.names
        version = names.version(root)
        if version == "atom10":
            feed, items = root, list(root)
        else:
            channels = [c for c in root if names.of(c) == "channel"]
            if len(channels) != 1:
                raise Decline
            # RSS 1.0 and 0.90 put their items beside the channel, the others inside it
            in_channel = version not in ("rss10", "rss090")
            feed, items = channels[0], list(channels[0] if in_channel else root)
        items = [i for i in items if names.of(i) in ("item", "entry")]
        values = Values(self.url, self._check_tree(root, feed, items))
        title, feed_language = self._feed_fields(root, feed, values)
        language = clean(feed_language) or None
        reader = EntryReader(names, values, version, self.date_parser)
        has_content = self._content_before(root, feed, items)
        entries = tuple(reader.read(i, language, has_content[id(i)]) for i in items)
        return ParsedFeed(
            kind=self.doctype_version or version,
            entries=entries,
            title=clean(title) or None,
            language=language,
            warnings=() if entries else ("the feed has no entries",),
        )

    def _parse(self) -> Any:
        from lxml import etree

        media, _, params = self.content_type.partition(";")
        if media.strip().lower() not in _XML_TYPES:
            raise Decline
        charset = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", params, re.I)
        if charset and charset.group(1).lower() not in ("utf-8", "utf8"):
            raise Decline
        declared = _DECLARED_ENCODING.match(self.body[:200])
        if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
            raise Decline
        try:
            self.body.decode("utf-8")
        except UnicodeDecodeError:
            raise Decline from None
        body, root_tag = self._without_doctype(self.body)
        self.names.check_declarations(body, root_tag)
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            huge_tree=False,
            load_dtd=False,
            remove_comments=True,
            remove_pis=True,
        )
        try:
            return etree.fromstring(body, parser)
        except (etree.XMLSyntaxError, ValueError):
            raise Decline from None

    def _without_doctype(self, body: bytes) -> tuple[bytes, bytes]:
        """The body as feedparser's ``replace_doctype`` leaves it, and its root tag: a
        DOCTYPE on a line of its own is dropped; any other, or an entity, declines."""
        root_tag = _ROOT_TAG.search(body)
        if root_tag is None:
            raise Decline
        if b"<!doctype" not in body[: root_tag.start()].lower():
            return body, root_tag.group(0)
        from feedparser.sanitizer import replace_doctype

        self.doctype_version, body, entities = replace_doctype(body)
        root_tag = _ROOT_TAG.search(body)
        if entities or root_tag is None:
            raise Decline
        head = body[: root_tag.start()].lower()
        if b"<!doctype" in head or b"<!entity" in head:
            raise Decline
        return body, root_tag.group(0)

    def _check_tree(self, root: Any, feed: Any, items: list[Any]) -> bool:
        """Entries only where expected, titles and languages in their places, xml:base and
        xml:lang only as such; whether any xml:base is there."""
        expected = {id(i) for i in items}
        has_base = False
        names = self.names
        for element in root.iter():
            name = names.of(element)
            if name in ("item", "entry") and id(element) not in expected:
                raise Decline
            # its attribute names as a list (iterating the element gives its children)
            for attribute in element.keys():  # noqa: SIM118
                local = attribute.rpartition("}")[2].lower()
                if attribute == BASE:
                    has_base = True
                elif local == "base" or (local == "lang" and attribute not in ("lang", LANG)):
                    raise Decline
            if name in _TITLES or name in _LANGUAGES:
                parent = element.getparent()
                if parent is not feed and id(parent) not in expected:
                    self._check_title_place(element, name, parent, expected)
        return has_base

    def _check_title_place(self, element: Any, name: str, parent: Any, expected: set[int]) -> None:
        """A title or language below the feed and its items: only where it cannot be taken
        for theirs, or where entry reads it with its item (a source's title, a
        media:title inside Media RSS containers)."""
        parent_name = self.names.of(parent)
        if name in _TITLES and parent_name in ("image", "textinput"):
            return
        if name == "title" and parent_name == "source" and id(parent.getparent()) in expected:
            return
        if name == "media_title" and any(id(a) in expected for a in element.iterancestors()):
            return
        raise Decline

    def _feed_fields(self, root: Any, feed: Any, values: Values) -> tuple[str | None, str | None]:
        names = self.names
        language = None
        if names.of(root) in ("rss", "feed"):
            language = lang_of(root)
            language = language.replace("_", "-") if language else None
        titles = []
        for child in feed:
            name = names.of(child)
            if name in _TITLES:
                titles.append(child)
            elif name in _LANGUAGES:
                language = values.text(child)
        if len(titles) > 1:
            raise Decline
        title = values.text(titles[0]) if titles else None
        return title, language

    def _content_before(self, root: Any, feed: Any, items: list[Any]) -> dict[int, bool]:
        """feedparser's hasContent as each item starts. Only the end of an item clears it,
        so feed-level elements before an item set it for that item: content, or a summary
        or description that comes when the feed has a summary (feedparser then reads it as
        content). Declines where that depends on the context (image, textinput) it is in."""
        names = self.names
        expected = {id(i) for i in items}
        flags: dict[int, bool] = {}
        has_content = has_summary = False

        def visit(parent: Any) -> None:
            nonlocal has_content, has_summary
            for child in parent:
                if id(child) in expected:
                    flags[id(child)] = has_content
                    has_content = False
                    continue
                name = names.of(child)
                direct = parent is feed
                if name in CONTENT_TYPES:
                    if not direct:
                        raise Decline
                    content_type(child, CONTENT_TYPES[name])  # declines all but text and HTML
                    has_content = has_summary = True  # text and HTML are copied to summary
                elif name in SUMMARIES or name in DESCRIPTIONS:
                    if has_summary and not has_content:
                        if not direct:
                            raise Decline
                        has_content = True
                    elif name in SUMMARIES:
                        if not direct:
                            raise Decline
                        has_summary = True
                if len(child):
                    visit(child)

        visit(root)
        return flags
