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
from typing import Any

# elements that start a new line in the rendered text
_BLOCKS = """address article aside blockquote body caption dd details dialog div dl dt fieldset
figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary
table tbody td tfoot th thead tr ul"""
BLOCK_TAGS = frozenset(_BLOCKS.split())
DROPPED_TAGS = ("script", "style", "template", "noscript", "head", "title", "iframe", "object")

# XML 1.0 cannot hold these; lxml refuses strings that contain them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ue000\ufffe\uffff]")
_LOOKS_LIKE_MARKUP = re.compile(r"<[a-zA-Z!/?]")
_ANY_TAG = re.compile(r"<[^>]*>")
_HIDDEN = re.compile(r"<(script|style|template|noscript)\b.*?</\1\s*>", re.S | re.I)
_BREAK = "\ue000"  # private use: removed from the input with the controls
_SPACES = re.compile(r"[^\S\n]+")


def collapse_whitespace(text: str) -> str:
    """Runs of spaces become one space; lines are trimmed; blank lines go."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def html_to_text(raw: str) -> str:
    """Plain text of an HTML fragment or document (or of text that holds no markup)."""
    if not raw:
        return ""
    raw = _CONTROL.sub("", raw).replace("\r\n", "\n").replace("\r", "\n")
    if not _LOOKS_LIKE_MARKUP.search(raw):
        return collapse_whitespace(html.unescape(raw))
    root = _parse_fragment(raw)
    text = collapse_whitespace(_text_with_breaks(root)) if root is not None else ""
    if not text:
        # libxml2 gives up on pathological markup (nesting past its depth limit, say):
        # a crude strip still beats losing the text
        text = collapse_whitespace(html.unescape(_ANY_TAG.sub(" ", _HIDDEN.sub(" ", raw))))
    return text


def _parse_fragment(raw: str) -> Any:
    from lxml import etree

    # plain etree, not lxml.html: its per-element class lookup doubles the cost
    parser = etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True)
    try:
        root = etree.fromstring(f"<div>{raw}</div>", parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None
    if root is None:
        return None
    etree.strip_elements(root, *DROPPED_TAGS, with_tail=False)
    return root


def _text_with_breaks(root: Any) -> str:
    from lxml import etree

    # Mark breaks with a private-use character (stripped from the input: it cannot clash),
    # let libxml2 serialise the text, then newlines in the source are layout (spaces) and
    # the marks are the real breaks. Inside <pre>, source newlines are breaks too.
    for element in root.iter("pre"):
        for node in element.iter():
            node.text = node.text and node.text.replace("\n", _BREAK)
            if node is not element:
                node.tail = node.tail and node.tail.replace("\n", _BREAK)
    for element in root.iter(*BLOCK_TAGS, "br"):
        element.tail = _BREAK + (element.tail or "")
        if element.tag != "br":
            element.text = _BREAK + (element.text or "")
    text = etree.tostring(root, method="text", encoding="unicode")
    return str(text).replace("\n", " ").replace(_BREAK, "\n")
