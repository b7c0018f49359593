"""Values as feedparser's ``pop`` leaves them, for the lxml fast path.

Text is stripped, re-decoded when it is UTF-8 read as Latin-1, and has its C1 controls
mapped as windows-1252. The language of an element is the ``xml:lang`` in scope ("" resets
it to none). The base URI of an element is folded from the feed URL down through every
``xml:base`` on the way, each step as feedparser's ``unknown_starttag`` takes it: joined
with ``make_safe_absolute_uri``, and a join to an unsafe scheme keeps the outer base.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import Any

from monitor.parse.identity import joins_to_itself
from monitor.parse.lxml_feed.names import BASE, LANG, Decline

_C1 = re.compile("[\x80-\x9f]")
# feedparser's content types for the ``type`` attributes read here; any other type would
# be decoded as base64 or read as markup
_TEXT_TYPES = {
    "text": "text/plain",
    "plain": "text/plain",
    "text/plain": "text/plain",
    "html": "text/html",
    "text/html": "text/html",
}


class Values:
    """Text and URIs of one document's elements (feed URL and xml:base presence fixed)."""

    def __init__(self, url: str, has_base: bool) -> None:
        from feedparser.html import _cp1252
        from feedparser.urls import _urljoin, make_safe_absolute_uri

        self.cp1252: dict[int, str] = _cp1252
        self.urljoin: Callable[[str, str], str] = _urljoin
        self.safe_join: Callable[[str, str], str] = make_safe_absolute_uri
        self.url = make_safe_absolute_uri("", url) or url
        # every element re-joins the base with itself; without xml:base this is the base
        self.base = make_safe_absolute_uri(self.url, self.url) or self.url
        self.has_base = has_base
        if has_base and not self.url:
            raise Decline  # feedparser joins differently from an empty base

    def text(self, element: Any, *, resolve: bool = False) -> str:
        """An element's text as feedparser's ``pop`` returns it (``resolve``: as a URI
        against the base in scope, which ``pop`` does before the re-decoding)."""
        if len(element):
            raise Decline
        text = (element.text or "").strip()
        if resolve and text:
            text = self.uri(element, text)
        if not text.isascii():
            with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
                text = text.encode("iso-8859-1").decode("utf-8")
            if _C1.search(text):  # str.translate with a dict is slow on long text
                text = text.translate(self.cp1252)
        return text

    def uri(self, element: Any, value: str) -> str:
        """``value`` resolved against the base in scope at ``element`` (feedparser's
        ``resolve_uri``): a plain absolute link is itself, unparsed (``joins_to_itself``)."""
        base = self.base_of(element)
        return value if joins_to_itself(base, value) else self.urljoin(base, value)

    def base_of(self, element: Any) -> str:
        if not self.has_base:
            return self.base
        chain = [element, *element.iterancestors()]
        base = self.url
        for node in reversed(chain):
            given = node.get(BASE) or base
            base = self.safe_join(base, given) or base
        return base


def content_type(element: Any, default: str) -> str:
    """feedparser's mapped ``type`` of a text construct; declines base64 and inline markup."""
    if not element.keys():  # the usual title or description: no dict of no attributes
        return default
    attrs = lower_attrs(element)
    if "mode" in attrs or "src" in attrs:
        raise Decline
    kind = attrs.get("type")
    if kind is None:
        return default
    mapped = _TEXT_TYPES.get(kind.lower())
    if mapped is None:
        raise Decline
    return mapped


def lang_of(element: Any) -> str | None:
    """The xml:lang in scope, as feedparser tracks it ("" resets it to none)."""
    node = element
    while node is not None:
        # most elements have no attribute: one call (an empty list) rather than two gets,
        # for a title and a summary of every item, up through the channel and the root
        if node.keys():
            value = node.get(LANG, node.get("lang"))
            if value is not None:
                return value or None
        node = node.getparent()
    return None


def detail_lang(element: Any) -> str | None:
    """The language of a ``*_detail`` (feedparser writes "-" for "_")."""
    lang = lang_of(element)
    return lang.replace("_", "-") if lang else lang


def lower_attrs(element: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in element.attrib.items()}
