"""Documents for ``monitor rules test``: files, feed files, fetched URLs, JSON release lists.

- ``.txt``: one document; the first non-empty line is the title, the rest the content.
- ``.html``/``.htm``: one document; ``<title>`` (else the first ``<h1>``) is the title, the
  visible text the content.
- ``.json``: a JSON Feed (an object with ``version``/``items``) is a feed; a list of
  release objects (``title``, ``summary``, ``content``, ``url``, ``source``, ``language``,
  optional ``id``) gives one document per object, its text taken as plain text.
- anything else (``.xml``, ``.rss``, ``.atom``, no suffix): a feed, one document per item,
  parsed by ``monitor.parse.feed.parse_feed``; item HTML becomes plain text.
- a directory: every file in it, sorted, recursively.

A document's name is the path (``path#n`` for the n-th item, 1-based, when the item has no
link; else its link), so ``rules test --json`` can say which document matched. URLs are
fetched by the caller, who hands the bytes to ``documents_from_bytes``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monitor.errors import ParseError
from monitor.model import Document, ParsedFeed

Named = tuple[str, Document]
_HTML_SUFFIXES = (".html", ".htm", ".xhtml")


def load_documents(target: str) -> list[Named]:
    """The documents in the file or directory ``target``. Raises ``ParseError``, ``OSError``."""
    path = Path(target)
    if path.is_dir():
        found: list[Named] = []
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            found.extend(load_documents(str(child)))
        return found
    body = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return [(target, text_document(body.decode("utf-8-sig", errors="replace")))]
    if suffix in _HTML_SUFFIXES:
        return [(target, html_document(body))]
    if suffix == ".json":
        try:
            data = json.loads(body)
        except ValueError as error:
            raise ParseError(f"{target}: not JSON: {error}") from error
        if isinstance(data, list):
            return release_documents(data, target)
    return documents_from_bytes(body, {}, target)


def documents_from_bytes(body: bytes, headers: Mapping[str, str], url: str) -> list[Named]:
    """Documents in a fetched body: an HTML page is one document, a feed one per item."""
    content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    head = body[:512].lstrip().lower()
    if "html" in content_type or head.startswith((b"<!doctype html", b"<html")):
        return [(url, html_document(body))]
    from monitor.parse.feed import parse_feed

    return feed_documents(parse_feed(body, headers, url), url)


def text_document(text: str) -> Document:
    """A .txt document: the first non-empty line is the title, the rest the content."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.strip():
            return Document(title=line.strip(), content="\n".join(lines[index + 1 :]).strip())
    return Document(title="")


def html_document(body: bytes) -> Document:
    """An HTML page: ``<title>`` (else the first ``<h1>``) and the visible text."""
    import lxml.html

    from monitor.parse.text import collapse_whitespace, html_to_text

    try:
        root = lxml.html.document_fromstring(body)
    except Exception as error:  # lxml raises ParserError/ValueError on empty or odd input
        raise ParseError(f"not an HTML page: {error}") from error
    title = ""
    for path in ("//title", "//h1"):
        found = root.xpath(path)
        if found:
            title = collapse_whitespace(found[0].text_content()).replace("\n", " ")
            if title:
                break
    language = root.get("lang") or ""
    for element in root.xpath("//head | //script | //style | //noscript | //template"):
        element.drop_tree()
    content = html_to_text(lxml.html.tostring(root, encoding="unicode"))
    return Document(title=title, content=content, lang=language)


def feed_documents(feed: ParsedFeed, name: str) -> list[Named]:
    """One document per feed item, in the text the pipeline stores: ``identity.derive``
    reads a field as HTML only where its format says it is, so a title ``A<B and C>D``
    stays that text here too."""
    from monitor.parse.identity import derive

    documents: list[Named] = []
    for number, entry in enumerate(feed.entries, start=1):
        release = derive(entry, feed_url=entry.link or "", feed_language=feed.language)
        summary, content = release.summary, release.content
        doc = Document(
            title=release.title.replace("\n", " "),
            summary="" if summary == content else summary,
            content=content,
            url=entry.link or "",
            lang=release.language or "",
        )
        documents.append((entry.link or f"{name}#{number}", doc))
    return documents


def release_documents(data: list[Any], name: str) -> list[Named]:
    """A JSON list of release objects, one document each."""
    documents: list[Named] = []
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            raise ParseError(f"{name}: item {number} is not an object")
        doc = Document(
            title=_text(item.get("title")),
            summary=_text(item.get("summary")),
            content=_text(item.get("content")),
            source=_text(item.get("source")),
            url=_text(item.get("url")),
            lang=_text(item.get("language") or item.get("lang")),
        )
        documents.append((_text(item.get("id")) or f"{name}#{number}", doc))
    return documents


def _text(value: object) -> str:
    return "" if value is None else str(value)
