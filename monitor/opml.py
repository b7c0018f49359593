"""OPML subscription lists in and out: how a watch desk moves its feeds between tools.

``read_opml`` turns an OPML file into source-shaped dicts (``id``, ``name``, ``url``,
``type: feed``, and ``language`` when the outline gives a valid one) — what a config
file's ``sources:`` holds and what the console's sources are made from, so adding them
anywhere is one call. Folders (nested outlines) are flattened; a feed listed twice (by
URL, scheme and host compared without case) is kept once; ids are made from the titles as
unique slugs (``[a-z0-9-]``; an Arabic title gives one from the URL's host and path) that
avoid the ``taken`` ones. An outline that cannot become a source (no http(s) ``xmlUrl``)
is skipped with a note naming its line; a file that is not OPML at all raises
``ParseError`` with ONE line: ``FILE: line L: what``.

The file is untrusted: it is parsed by lxml with no DTD loaded, no entity expanded and no
network, and one that declares entities is refused (no XXE, no "billion laughs").

``write_opml`` is the other way: OPML 2.0, one ``<outline type="rss" text title xmlUrl
htmlUrl>`` per feed source. A listing page (``type: html``) is not a feed another reader
can follow, so it is left out and named in the notes. Credentials in a source URL never
leave in the file: the userinfo is dropped (with a note).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from monitor.errors import ParseError

MAX_SLUG = 48  # characters of an id made from a title
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class SourceLike(Protocol):
    """What ``write_opml`` reads of a source: a config file's, or one made in the console."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def url(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def language(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Imported:
    sources: list[dict[str, Any]]  # source-shaped: id, name, url, type, language?
    notes: list[str] = field(default_factory=list)  # one line each: what was skipped and why


def read_opml(
    data: bytes,
    name: str,
    taken: Collection[str] = (),
    known_urls: Collection[str] = (),
) -> Imported:
    """The feeds of an OPML file (see module doc). ``name`` is how errors and notes call
    the file; ``taken``: ids already in use; ``known_urls``: feeds already subscribed."""
    root = _parse(data, name)
    body = next((child for child in root if _tag(child) == "body"), None)
    if body is None:
        raise ParseError(f"{name}: line {root.sourceline}: <opml> has no <body>")
    ids = set(taken)
    known = {_url_key(url) for url in known_urls}
    seen: set[str] = set()
    sources: list[dict[str, Any]] = []
    notes: list[str] = []
    for outline in body.iter():
        if _tag(outline) != "outline":
            continue
        attrs = {k.lower(): v.strip() for k, v in outline.attrib.items() if isinstance(k, str)}
        url = attrs.get("xmlurl", "")
        if not url:
            continue  # a folder, or a plain link: its children (if any) are read on their own
        title = " ".join((attrs.get("title") or attrs.get("text") or "").split())
        where = f"{name}: line {outline.sourceline}"
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            notes.append(f"{where}: {_shown(title, url)}: xmlUrl is not an http(s) URL; skipped")
            continue
        if any(c.isspace() for c in url):
            notes.append(f"{where}: {_shown(title, url)}: xmlUrl holds spaces; skipped")
            continue
        key = _url_key(url)
        if key in known:
            notes.append(f"{where}: {_shown(title, url)}: already a source; skipped")
            continue
        if key in seen:
            notes.append(f"{where}: {_shown(title, url)}: listed twice; kept once")
            continue
        seen.add(key)
        source: dict[str, Any] = {"id": _unique(slug(title) or url_slug(url), ids)}
        source["name"] = title or parts.hostname
        source["url"] = url
        source["type"] = "feed"
        language = attrs.get("language", "")
        if _LANGUAGE.match(language):
            source["language"] = language
        sources.append(source)
    return Imported(sources, notes)


def write_opml(
    sources: Iterable[SourceLike], title: str = "monitor sources", now: datetime | None = None
) -> tuple[str, list[str]]:
    """(OPML 2.0 text, notes): every feed source as an outline; notes name what was left
    out (listing pages) or changed (credentials dropped from a URL)."""
    from lxml import etree

    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = _xml_text(title)
    etree.SubElement(head, "dateCreated").text = format_datetime(now or datetime.now(UTC))
    body = etree.SubElement(root, "body")
    notes: list[str] = []
    pages: list[str] = []
    for source in sources:
        if source.type != "feed":
            pages.append(source.id)
            continue
        url, had_credentials = _without_credentials(source.url)
        if had_credentials:
            notes.append(f"{source.id}: the credentials in its URL are left out of the OPML")
        label = _xml_text(source.name or source.id)
        outline = etree.SubElement(body, "outline", type="rss", text=label, title=label)
        outline.set("xmlUrl", _xml_text(url))
        parts = urlsplit(url)
        outline.set("htmlUrl", _xml_text(urlunsplit((parts.scheme, parts.netloc, "/", "", ""))))
        if source.language:
            outline.set("language", source.language)
    if pages:
        notes.append(
            f"{len(pages)} html source(s) left out: a listing page is not a feed that another "
            f"reader can follow ({', '.join(pages)})"
        )
    text = etree.tostring(root, encoding="unicode", pretty_print=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text, notes


def slug(text: str) -> str:
    """A ``[a-z0-9-]`` id from a title (accents folded; other scripts give nothing)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = _NOT_SLUG.sub("-", folded.lower()).strip("-")
    if len(words) > MAX_SLUG:
        words = words[:MAX_SLUG].rsplit("-", 1)[0] if "-" in words[:MAX_SLUG] else words[:MAX_SLUG]
    return words.strip("-")


def url_slug(url: str) -> str:
    """An id from a feed's host and path (``https://www.mofa.gov.qa/ar/rss`` gives
    ``mofa-gov-qa-ar-rss``): for a title in another script."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    return slug(f"{host} {parts.path}") or "source"


def _unique(base: str, ids: set[str]) -> str:
    candidate, n = base, 1
    while candidate in ids:
        n += 1
        suffix = f"-{n}"
        candidate = base[: MAX_SLUG - len(suffix)].rstrip("-") + suffix
    ids.add(candidate)
    return candidate


def _parse(data: bytes, name: str) -> Any:
    from lxml import etree

    declared = data.find(b"<!ENTITY")
    if declared >= 0:
        line = data.count(b"\n", 0, declared) + 1
        raise ParseError(f"{name}: line {line}: entity declarations are not allowed in OPML")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or 1
        message = " ".join(str(exc.msg or exc).split())
        message = re.sub(r",? line \d+, column \d+$", "", message)
        raise ParseError(f"{name}: line {line}: not well-formed XML: {message}") from None
    if root is None:
        raise ParseError(f"{name}: line 1: empty file: not an OPML file")
    if root.getroottree().docinfo.internalDTD is not None and _has_entities(root):
        raise ParseError(f"{name}: line 1: entity declarations are not allowed in OPML")
    if _tag(root) != "opml":
        raise ParseError(
            f"{name}: line {root.sourceline}: the document is <{_tag(root)}>, not <opml>: "
            "not an OPML file"
        )
    return root


def _has_entities(root: Any) -> bool:
    dtd = root.getroottree().docinfo.internalDTD
    return bool(list(dtd.iterentities())) if dtd is not None else False


def _tag(element: Any) -> str:
    tag = element.tag
    return tag.rpartition("}")[2].lower() if isinstance(tag, str) else ""


def _url_key(url: str) -> str:
    parts = urlsplit(url.strip())
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, "")
    )


def _without_credentials(url: str) -> tuple[str, bool]:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, False
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), True


def _shown(title: str, url: str) -> str:
    from monitor.redact import redact_url

    label = title or redact_url(url)
    return repr(label if len(label) <= 80 else label[:79] + "…")


def _xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (control characters)."""
    return "".join(
        c
        for c in text
        if c in "\t\n\r" or (c >= " " and c not in "\ufffe\uffff" and not "\ud800" <= c <= "\udfff")
    )
