"""Feed bodies to ``ParsedFeed``: RSS 0.9x/1.0/2.0 and Atom via feedparser, JSON Feed via json.

``parse_feed(body, headers, url)`` returns a ``ParsedFeed`` or raises ``ParseError`` (one
line) when the body holds no usable feed: an HTML page (a bot challenge, say), binary data,
an empty body, XML that is not a feed. A feed that parsed with problems (feedparser's bozo,
a charset guessed, no entries) is returned with ``warnings``.

Before feedparser sees the bytes:

- a byte-order mark, or UTF-16 without one, wins over any declared charset (the body is
  re-encoded as UTF-8), because the BOM cannot be wrong and a header often is;
- Arabic text in windows-1256 whose charset is missing or wrong (declared UTF-8 or
  Latin-1) is recognised and decoded as windows-1256, with a warning;
- a DTD internal subset is removed: feeds never need entity declarations, and this is where
  entity-expansion bombs and external entities (XXE) live. feedparser also disables
  external entities and expat caps amplification; this makes both moot;
- a character reference to what XML cannot hold (``&#0;``, ``&#xD800;``) is dropped or made
  U+FFFD, as ``parse.clean`` treats the character itself.

feedparser is always given ``io.BytesIO(body)``, never bytes or str: given a string it
would open it as a path or URL. It is imported on first use. Dates: see
``entry_values.published_at``, the one place where a feed's date becomes a datetime. A title
is text unless its format makes it HTML (``_title_is_html``); summaries and contents are
HTML (``Entry.markup``). Plain well-formed feeds go through the lxml fast path
(``lxml_feed``) first; it declines whatever it cannot read exactly as feedparser would.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Mapping
from typing import Any

from monitor.errors import ParseError
from monitor.model import Entry, ParsedFeed
from monitor.parse.entry_values import (
    FEED_MARKUP,
    FEED_MARKUP_HTML_TITLE,
    DateParser,
    clean,
    published_at,
)
from monitor.parse.jsonfeed import looks_like_json, parse_json_feed

_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
_UTF16_PROLOG = ((b"<\x00?\x00", "utf-16-le"), (b"\x00<\x00?", "utf-16-be"))
_PROLOG_ENCODING = re.compile(rb"""^(\s*<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""")
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([^"']*)["']""")
# whitespace or comments before the XML declaration (a common publisher slip) make expat
# refuse the whole document
_LEADING_JUNK = re.compile(rb"^(?:\s|<!--.*?-->)+(?=<\?xml\s)", re.S)
_ROOT_ELEMENT = re.compile(rb"<[A-Za-z]")
_INTERNAL_SUBSET = re.compile(rb"<!DOCTYPE[^\[>]*\[.*?\]\s*>", re.S | re.I)
_HTML_START = re.compile(rb"<(!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.I)
# the document's first element is <html>: a page, never a feed (prefixed or not)
_HTML_ROOT = re.compile(rb"<(?:[A-Za-z][\w.-]*:)?html[\s>/]", re.I)
_FEED_ELEMENT = re.compile(rb"<(?:[A-Za-z][\w.-]*:)?(?:rss|feed|RDF)[\s>]")
_HTML_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.I | re.S)
_NON_ASCII_RUN = re.compile(rb"[\x80-\xff]{3,}")
# declared charsets that Arabic windows-1256 bodies are often mislabelled with
_GUESSABLE_CHARSETS = frozenset(
    {"iso-8859-1", "latin-1", "latin1", "windows-1252", "cp1252", "us-ascii", "ascii"}
)
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
# a numeric character reference that may be to a character XML cannot hold: below 100
# (controls), a surrogate (D800-DFFF), FFFE, FFFF, or five digits and more; the common ones
# (&#1575;, &#8217;) are never looked at
_CHAR_REFERENCE = re.compile(
    rb"&#(?:[xX]0*([0-9a-fA-F]{1,2}|[dD][89a-fA-F][0-9a-fA-F]{2}|[fF]{3}[eEfF]|[0-9a-fA-F]{6,})"
    rb"|0*([0-9]{1,2}|[0-9]{5,}));"
)
_ARABIC = re.compile(r"[\u0600-\u06ff]")


def parse_feed(
    body: bytes,
    headers: Mapping[str, str],
    url: str,
    *,
    date_parser: DateParser | None = None,
) -> ParsedFeed:
    """Parse one fetched body. ``headers`` are the response headers (any key case)."""
    lower = {k.lower(): v for k, v in headers.items()}
    content_type = lower.get("content-type", "")
    if not body.strip():
        raise ParseError("not a feed: the body is empty")
    if looks_like_json(body, content_type):
        return parse_json_feed(body, date_parser)
    warnings: list[str] = []
    body, content_type = _normalise_charset(body, content_type, warnings)
    if _looks_binary(body):
        raise ParseError(f"not a feed: binary data ({len(body)} bytes)")
    body = _LEADING_JUNK.sub(b"", body, count=1)
    body = _without_bad_references(body)
    root = _ROOT_ELEMENT.search(body)
    if root and _HTML_ROOT.match(body, root.start()) and not _FEED_ELEMENT.search(body):
        # an HTML page at a feed's address (a moved feed, a login wall, a ministry's home
        # page): feedparser would take seconds of CPU a megabyte to find no feed in it. A
        # feed wrapped in HTML (Chromium's view of one, for `render: browser`) still has
        # its <rss> or <feed> element, and feedparser reads it
        raise ParseError(_not_a_feed(body, {}))
    prolog = body[: root.start()] if root else body
    if b"<!entity" in prolog.lower():
        body = _INTERNAL_SUBSET.sub(b"", body, count=1)
        warnings.append("DTD entity declarations were ignored")
    if not warnings:
        # lxml for plain well-formed feeds; it declines (None) whatever it cannot read
        # exactly as feedparser would, and anything with a warning so far is left to it
        from monitor.parse.lxml_feed import parse_fast

        fast = parse_fast(body, content_type, url, date_parser)
        if fast is not None:
            return fast
    return _parse_xml(body, content_type, url, warnings, date_parser)


def _parse_xml(
    body: bytes,
    content_type: str,
    url: str,
    warnings: list[str],
    date_parser: DateParser | None,
) -> ParsedFeed:
    import feedparser

    # RFC 3023 makes text/xml without a charset us-ascii, which nobody means; and with no
    # content-type at all feedparser flags every feed. The body decides what it is.
    content_type = re.sub(r"^\s*text/xml\b", "application/xml", content_type)
    headers = {"content-location": url, "content-type": content_type or "application/xml"}
    # Sanitising and URI resolution would triple the parse time (measured on the corpus);
    # the raw text is kept raw, plain text comes from html_to_text, links from identity.
    try:
        result = feedparser.parse(
            io.BytesIO(body),
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    # feedparser's own bugs on odd input (a stray </width>, a non-ASCII encoding name)
    # escape as TypeError or UnicodeDecodeError: this body is unusable, not our crash
    except Exception as exc:
        raise ParseError(f"not a usable feed: the parser failed ({type(exc).__name__})") from None
    version = result.get("version") or ""
    entries = result.get("entries") or []
    if not version and not entries:
        raise ParseError(_not_a_feed(body, result))
    if result.get("bozo"):
        warnings.append(_bozo_warning(result.get("bozo_exception")))
    if not entries:
        warnings.append("the feed has no entries")
    feed = dict.get(result, "feed") or {}
    feed_language = clean(dict.get(feed, "language")) or None
    return ParsedFeed(
        kind=version or "unknown",
        entries=tuple(_entry(e, feed_language, date_parser) for e in entries),
        title=clean(dict.get(feed, "title")) or None,
        language=feed_language,
        warnings=tuple(dict.fromkeys(warnings)),
    )


def _entry(e: Any, feed_language: str | None, date_parser: DateParser | None) -> Entry:
    # dict.get, not FeedParserDict's: its fallbacks (updated -> published) warn and blur
    # which field the publisher actually sent
    get = functools.partial(dict.get, e)
    raw_date = clean(get("published")) or clean(get("updated")) or None
    parsed = get("published_parsed") or get("updated_parsed")
    contents = get("content") or []
    content = ""
    if contents:
        # prefer markup over a plain-text alternative: it carries more structure
        best = next((c for c in contents if "html" in (c.get("type") or "")), contents[0])
        content = best.get("value") or ""
    detail = get("title_detail") or get("summary_detail") or {}
    return Entry(
        guid=clean(get("id")) or None,
        link=clean(get("link")) or None,
        title=get("title") or "",
        summary=get("summary") or "",
        content=content,
        published=published_at(parsed, raw_date, date_parser),
        published_raw=raw_date,
        language=clean(get("language")) or clean(detail.get("language")) or feed_language,
        author=clean(get("author")) or None,
        markup=FEED_MARKUP_HTML_TITLE if _title_is_html(e) else FEED_MARKUP,
    )


def _title_is_html(e: Any) -> bool:
    """Whether the title is HTML by its format: Atom's ``type="html"``; in RSS, where a
    title is text, one that feedparser's conservative sniff finds made of HTML (known
    entities and common tags only: ``Lover&rsquo;s Eye``, ``How <i>The Pitt</i>…``)."""
    detail = dict.get(e, "title_detail") or {}
    return "html" in (detail.get("type") or "")


def _normalise_charset(body: bytes, content_type: str, warnings: list[str]) -> tuple[bytes, str]:
    """Re-encode as UTF-8 when the declared charset cannot be trusted (see module doc)."""
    declared = _header_charset(content_type)
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return _as_utf8(body[len(bom) :], encoding, content_type, body)
    for prefix, encoding in _UTF16_PROLOG:
        if body.startswith(prefix):
            return _as_utf8(body, encoding, content_type, body)
    match = _DECLARED_ENCODING.match(body[:200])
    in_prolog = match.group(1).decode("ascii", "replace").lower() if match else ""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if in_prolog.startswith(("utf-16", "utf-32")):
            # a one-byte prolog cannot be UTF-16 or UTF-32 (no BOM, no NUL bytes: checked
            # above). Left to feedparser, such a body decodes as UTF-16 or not depending on
            # whether its length happens to be even: say what it is.
            warnings.append(f"document declared as {in_prolog}, but the bytes are utf-8")
            return _as_utf8(body, "utf-8", content_type, body)
        return body, content_type
    claimed = declared or in_prolog
    if claimed and claimed not in _GUESSABLE_CHARSETS and not claimed.startswith("utf"):
        return body, content_type  # a specific legacy charset: feedparser will use it
    if _is_arabic_1256(body):
        warnings.append(
            f"charset {'declared as ' + claimed if claimed else 'not declared'}, "
            "but the text is Arabic windows-1256; decoded as windows-1256"
        )
        return _as_utf8(body, "windows-1256", content_type, body)
    return body, content_type


def _as_utf8(text: bytes, encoding: str, content_type: str, original: bytes) -> tuple[bytes, str]:
    try:
        decoded = text.decode(encoding)
    except UnicodeDecodeError:
        return original, content_type
    utf8 = _PROLOG_ENCODING.sub(rb"\1\2utf-8\2", decoded.encode("utf-8"), count=1)
    media = content_type.split(";", 1)[0].strip() or "application/xml"
    return utf8, f"{media}; charset=utf-8"


def _header_charset(content_type: str) -> str:
    match = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type, re.I)
    return match.group(1).lower() if match else ""


def _is_arabic_1256(body: bytes) -> bool:
    """Non-ASCII bytes come in word-long runs (Latin accents come alone) and read as
    Arabic letters in windows-1256."""
    high = len(_HIGH_BYTE.findall(body))
    if high < 8:
        return False
    in_runs = sum(len(m) for m in _NON_ASCII_RUN.findall(body))
    if in_runs < 0.7 * high:
        return False
    text = body.decode("windows-1256", "replace")
    arabic = len(_ARABIC.findall(text))
    return arabic >= 0.8 * high


def _without_bad_references(body: bytes) -> bytes:
    """Character references to what no XML document holds (``&#0;``, ``&#xD800;``) as
    ``parse.clean`` treats the characters: a control or noncharacter dropped, a surrogate
    or an out-of-range code point U+FFFD. Left in, they make the feed not well-formed and
    feedparser's lenient parser raise on a surrogate: one item would fail the source."""
    if b"&#" not in body:
        return body
    return _CHAR_REFERENCE.sub(_good_reference, body)


def _good_reference(found: re.Match[bytes]) -> bytes:
    hexadecimal, decimal = found.group(1), found.group(2)
    digits = hexadecimal if hexadecimal is not None else decimal
    if len(digits) > 8:  # past Unicode, however long (no int() of a megabyte of digits)
        return b"&#xFFFD;"
    code = int(hexadecimal, 16) if hexadecimal is not None else int(decimal or b"0")
    if code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD:
        return found.group()
    if 0x10000 <= code <= 0x10FFFF:
        return found.group()
    if code < 0x20 or code in (0xFFFE, 0xFFFF):
        return b""
    return b"&#xFFFD;"  # a surrogate, or past Unicode


def _looks_binary(body: bytes) -> bool:
    sample = body[:2048]
    controls = sum(1 for b in sample if b < 0x09 or 0x0E <= b < 0x20)
    return b"\x00" in sample or controls > len(sample) // 20


def _not_a_feed(body: bytes, result: Any) -> str:
    head = body[:65536]
    if _HTML_START.search(head[:4096]):
        title = _HTML_TITLE.search(head)
        shown = ""
        if title:
            words = title.group(1).decode("utf-8", "replace").split()
            shown = f" titled {' '.join(words)[:80]!r}"
        return f"not a feed: an HTML page{shown}"
    problem = result.get("bozo_exception")
    if problem is not None:
        return f"not a feed: {_one_line(str(problem))}"
    return "not a feed: no RSS, Atom or JSON Feed document found"


def _bozo_warning(problem: object) -> str:
    name = type(problem).__name__
    if name == "CharacterEncodingOverride":
        return _one_line(str(problem))
    return f"feed is not well-formed ({_one_line(str(problem))}); read leniently"


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]
