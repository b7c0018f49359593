"""Markup to plain text, for matching and display.

``html_to_text`` strips tags, decodes entities, drops what is never shown (script, style,
templates, comments), turns block elements and ``<br>`` into line breaks, and collapses the
remaining whitespace: one space between words, one newline between blocks, no blank lines.
Text without markup skips the HTML parser (entities are still decoded). lxml is imported on
first use only.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterable
from typing import Any

# elements that start a new line in the rendered text
_BLOCKS = """address article aside blockquote body caption dd details dialog div dl dt fieldset
figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary
table tbody td tfoot th thead tr ul"""
BLOCK_TAGS = frozenset(_BLOCKS.split())
DROPPED_TAGS = ("script", "style", "template", "noscript", "head", "title", "iframe", "object")

# XML 1.0 cannot hold these; lxml refuses strings that contain them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ue000\ufffe\uffff]")
# the same in UTF-8: ASCII bytes, which are never part of a longer character
_CONTROL_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_MARK_AND_NONCHARACTERS_UTF8 = tuple(c.encode() for c in "\ue000\ufffe\uffff")
_LOOKS_LIKE_MARKUP = re.compile(r"<[a-zA-Z!/?]")
_ANY_TAG = re.compile(r"<[^>]*>")
_HIDDEN = re.compile(r"<(script|style|template|noscript)\b.*?</\1\s*>", re.S | re.I)
_BREAK = "\ue000"  # private use: removed from the input with the controls
_LONG_LINE = 1 << 16  # characters
# what str.split() and the regex \s take for whitespace, but the space itself
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_PARSERS = threading.local()


def collapse_whitespace(text: str) -> str:
    """Runs of spaces become one space; lines are trimmed; blank lines go."""
    if "\n" not in text and len(text) < _LONG_LINE:
        return " ".join(text.split())  # one line (a title): no generator, 1 of 3 us
    return _collapse_lines(text.split("\n"))


def _collapse_lines(lines: Iterable[str]) -> str:
    # str.split() splits on exactly the whitespace of the regex \s, and faster than a regex
    return "\n".join(
        filter(
            None,
            (" ".join(line.split()) if len(line) < _LONG_LINE else _long(line) for line in lines),
        )
    )


def _long(line: str) -> str:
    """A long line collapsed: split() (or a regex) would make an object per word, 75 MB for
    5 MB of "NATO ". Every whitespace becomes a space, and runs are halved until none is
    left: a few copies of the line, whatever it holds."""
    for space in WHITESPACE:
        if space in line:
            line = line.replace(space, " ")
    while "  " in line:
        line = line.replace("  ", " ")
    return line.strip()


def html_to_text(raw: str) -> str:
    """Plain text of an HTML fragment or document (or of text that holds no markup)."""
    if not raw:
        return ""
    # Dropping controls never hides markup, but may reveal it ("<" NUL "p"). Markup is
    # cleaned on its way to libxml2, as bytes: cheaper.
    if not _LOOKS_LIKE_MARKUP.search(raw):
        raw = _clean(raw)
        if not _LOOKS_LIKE_MARKUP.search(raw):
            return collapse_whitespace(html.unescape(raw))
    root = _parse_fragment(raw)
    text = _collapse_lines(_lines_of(root)) if root is not None else ""
    if not text:
        # libxml2 gives up on pathological markup (nesting past its depth limit, say):
        # a crude strip still beats losing the text
        raw = _clean(raw)
        text = collapse_whitespace(html.unescape(_ANY_TAG.sub(" ", _HIDDEN.sub(" ", raw))))
    return text


def _clean(raw: str) -> str:
    """Without the characters lxml refuses, and with every line ending a newline."""
    return _CONTROL.sub("", raw).replace("\r\n", "\n").replace("\r", "\n")


def _clean_utf8(data: bytes) -> bytes:
    """``_clean`` for UTF-8."""
    data = data.translate(None, _CONTROL_BYTES)
    for dropped in _MARK_AND_NONCHARACTERS_UTF8:
        if dropped in data:
            data = data.replace(dropped, b"")
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def _parse_fragment(raw: str) -> Any:
    """The tree of ``raw`` (not yet cleaned) under a ``<div>``, without dropped elements."""
    from lxml import etree

    wrapped = f"<div>{raw}</div>"
    try:
        # libxml2 reads UTF-8 natively; a str would be handed over as UTF-16 or UCS-4 and
        # converted (a lone surrogate cannot be encoded: that text goes as a str)
        data: str | bytes = _clean_utf8(wrapped.encode("utf-8"))
    except UnicodeEncodeError:
        data = _clean(wrapped)
    try:
        root = etree.fromstring(data, _parser(utf8=isinstance(data, bytes)))
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None
    if root is None:
        return None
    etree.strip_elements(root, *DROPPED_TAGS, with_tail=False)
    return root


def _parser(*, utf8: bool) -> Any:
    """This thread's HTML parser (reusing one saves a fifth of the parse; lxml parsers
    serialise the threads that share one)."""
    key = "utf8" if utf8 else "text"
    parser = getattr(_PARSERS, key, None)
    if parser is None:
        from lxml import etree

        # plain etree, not lxml.html: its per-element class lookup doubles the cost
        parser = etree.HTMLParser(
            remove_comments=True,
            remove_pis=True,
            no_network=True,
            encoding="utf-8" if utf8 else None,
        )
        setattr(_PARSERS, key, parser)
    return parser


def _lines_of(root: Any) -> list[str]:
    """The text of ``root``, split at the breaks that blocks, ``<br>`` and ``<pre>`` make."""
    from lxml import etree

    # Mark breaks with a private-use character (stripped from the input: it cannot clash),
    # let libxml2 serialise the text, then newlines in the source are layout (spaces:
    # ``_collapse_lines`` splits on them) and the marks are the real breaks. Inside <pre>,
    # source newlines are breaks too.
    for element in root.iter("pre"):
        for node in element.iter():
            node.text = node.text and node.text.replace("\n", _BREAK)
            if node is not element:
                node.tail = node.tail and node.tail.replace("\n", _BREAK)
    for element in root.iter(*BLOCK_TAGS, "br"):
        element.tail = _BREAK + (element.tail or "")
        if element.tag != "br":
            element.text = _BREAK + (element.text or "")
    return str(etree.tostring(root, method="text", encoding="unicode")).split(_BREAK)
