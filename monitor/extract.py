"""The main text of a release's own page, for sources with ``full_text: true``.

With a ``content`` selector the text of every element it matches, in page order (a
selector that matches nothing is a ParseError: the page layout changed and the operator
must know). Without one, trafilatura (a maintained main-content extractor, imported only
here and only when needed) and, if it is missing or finds nothing, a small heuristic: drop
navigation, headers, footers, asides, forms and scripts, then take the element whose
paragraphs hold the most text.

The body is decoded by monitor itself (HTTP charset, then <meta>, then UTF-8), so Arabic
pages do not depend on any library's guess. The text returned is storable
(``parse.clean``): full text enters the store here, beside the feed's fields.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from monitor.errors import ParseError

log = logging.getLogger(__name__)

_NOISE_TAGS = [
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "button",
    "select",
    "svg",
    "figure",
    "menu",
    "dialog",
]
_NOISE_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu"}
_NOISE_WORDS = [
    "nav",
    "menu",
    "footer",
    "header",
    "sidebar",
    "breadcrumb",
    "share",
    "social",
    "cookie",
    "related",
    "comment",
    "widget",
    "banner",
    "promo",
    "subscribe",
    "newsletter",
    "pagination",
]
_CANDIDATE_TAGS = {"article", "main", "section", "div", "td", "body"}
_MIN_TRAFILATURA_CHARS = 80  # shorter than this: trafilatura probably picked a fragment


def extract_main_text(
    body: bytes, headers: Mapping[str, str], url: str, content_selector: str | None = None
) -> str:
    """Plain main text of an article page, paragraphs separated by blank lines."""
    from monitor.storable import storable

    return storable(_main_text(body, headers, url, content_selector))


def _main_text(
    body: bytes, headers: Mapping[str, str], url: str, content_selector: str | None
) -> str:
    from monitor.parse.listing import html_charset, parse_html, select_values, validate_selector

    if content_selector:
        if problem := validate_selector(content_selector):
            raise ParseError(f"content selector {content_selector!r}: {problem}")
        doc = parse_html(body, headers)
        texts = select_values(doc, content_selector)
        if not texts:
            raise ParseError(f"content selector {content_selector!r} matched nothing")
        return "\n\n".join(texts)

    text = body.decode(html_charset(body, headers), errors="replace")
    found = _trafilatura(text, url)
    if found is not None and len(found) >= _MIN_TRAFILATURA_CHARS:
        return found
    return _densest_text(parse_html(body, headers)) or (found or "")


def _trafilatura(html: str, url: str) -> str | None:
    try:
        import trafilatura
    except ImportError:
        return None
    try:
        text: str | None = trafilatura.extract(
            html,
            url=url,
            include_comments=False,
            include_tables=True,
            include_images=False,
            with_metadata=False,
            deduplicate=False,
        )
    except Exception as exc:  # a third-party parser must not take the poll down
        log.warning("trafilatura failed", extra={"url": url, "error": repr(exc)[:200]})
        return None
    if not text:
        return None
    paragraphs = (" ".join(p.split()) for p in text.split("\n"))
    return "\n\n".join(p for p in paragraphs if p)


def _densest_text(doc: Any) -> str:
    """Text of the element holding the most paragraph text, after dropping page furniture."""
    from monitor.parse.listing import element_text

    for el in list(doc.iter(*_NOISE_TAGS)):
        _drop(el)
    for el in list(doc.iter()):
        if isinstance(el.tag, str) and el.getparent() is not None and _looks_like_furniture(el):
            _drop(el)

    scores: dict[Any, float] = {}
    for p in doc.iter("p", "pre", "blockquote", "li", "h2", "h3"):
        length = len(" ".join((p.text_content() or "").split()))
        if length < 25:
            continue
        parent = p.getparent()
        depth_weight = 1.0
        while parent is not None and depth_weight > 0.2:
            if parent.tag in _CANDIDATE_TAGS:
                scores[parent] = scores.get(parent, 0.0) + length * depth_weight
            depth_weight /= 2  # credit the direct container most, its ancestors less
            parent = parent.getparent()
    if not scores:
        body = doc.find("body")
        return _paragraphs(element_text(body if body is not None else doc))
    best = max(scores, key=lambda el: scores[el] * (1.0 - _link_density(el)))
    return _paragraphs(element_text(best))


def _looks_like_furniture(el: Any) -> bool:
    if (el.get("role") or "").lower() in _NOISE_ROLES:
        return True
    if el.tag in {"body", "html", "article", "main"}:
        return False
    names = re.split(r"[^a-z0-9]+", f"{el.get('class') or ''} {el.get('id') or ''}".lower())
    # Whole class/id tokens, by prefix: "main-nav" and "navbar" are furniture, "canvas" not.
    return any(token.startswith(word) for token in names if token for word in _NOISE_WORDS)


def _link_density(el: Any) -> float:
    total = len(el.text_content() or "") or 1
    linked = sum(len(a.text_content() or "") for a in el.iter("a"))
    return min(linked / total, 1.0)


def _drop(el: Any) -> None:
    if el.getparent() is not None:
        el.drop_tree()  # keeps the tail text, which belongs to the parent


def _paragraphs(text: str) -> str:
    return "\n\n".join(line for line in text.split("\n") if line.strip())
