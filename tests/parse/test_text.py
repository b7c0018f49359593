"""html_to_text: markup to plain text."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from monitor.parse.feed import parse_feed
from monitor.parse.text import (
    _ANY_TAG,
    _BREAK,
    _CONTROL,
    _HIDDEN,
    _LOOKS_LIKE_MARKUP,
    BLOCK_TAGS,
    DROPPED_TAGS,
    WHITESPACE,
    collapse_whitespace,
    html_to_text,
)
from tests.conftest import CorpusFeed


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("", ""),
        ("plain text stays", "plain text stays"),
        ("  spaces   collapse \t here ", "spaces collapse here"),
        ("line one\n\n\nline two", "line one\nline two"),
        ("Tom &amp; Jerry &#8211; &quot;cartoon&quot;", 'Tom & Jerry – "cartoon"'),
        ("a < b and c > d", "a < b and c > d"),
        ("<p>One</p><p>Two</p>", "One\nTwo"),
        ("<b>bold</b> and <i>italic</i>", "bold and italic"),
        ("first<br>second<br/>third", "first\nsecond\nthird"),
        ("<p>wrapped\nsource line</p>", "wrapped source line"),
        ("<pre>keep\n  lines</pre>", "keep\nlines"),
        ("<ul><li>one</li><li>two</li></ul>after", "one\ntwo\nafter"),
        ("x<script>alert('no')</script>y<style>p {}</style>", "xy"),
        ("<!-- hidden -->shown", "shown"),
        ("<h1>Title</h1>text<table><tr><td>a</td><td>b</td></tr></table>", "Title\ntext\na\nb"),
        ("<p>مرحبا&nbsp;<b>الناتو</b></p>", "مرحبا الناتو"),
        ("<html><head><title>T</title></head><body><p>Body</p></body></html>", "Body"),
        ("broken <p>markup <b>never closed", "broken\nmarkup never closed"),
        ("nul\x00 and \x0bcontrols<p>x</p>", "nul and controls\nx"),
        ("<div>" * 3000 + "deep" + "</div>" * 3000, "deep"),
        ("<p>&lt;script&gt; is text</p>", "<script> is text"),
    ],
)
def test_html_to_text(raw: str, text: str) -> None:
    assert html_to_text(raw) == text


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("<p>a\r\nb\rc</p><p>d\x01e\x7f</p>", "a b c\nde"),  # cleaned as UTF-8 bytes
        ("<p>\ue000x\ufffe\uffffy</p>", "xy"),
        ("<pre>one\r\ntwo</pre>", "one\ntwo"),
        ("<\x00p>revealed", "revealed"),  # dropping NUL makes it markup
        ("<p>lone \ud800 surrogate</p><p>next</p>", None),  # not UTF-8: as before, whatever
        ("<p>مرحبا&#xE000;😀 café</p>", "مرحبا\n😀 café"),  # an entity may write the mark
        ("a\u2028b\u00a0\u3000c\n\u2029\nd", "a b c\nd"),  # every Unicode space
    ],
)
def test_cleaning_and_encoding_paths(raw: str, text: str | None) -> None:
    assert html_to_text(raw) == _old_html_to_text(raw)
    if text is not None:
        assert html_to_text(raw) == text


@pytest.mark.corpus
def test_the_same_text_as_before_for_every_corpus_entry(
    corpus_feeds: tuple[CorpusFeed, ...],
) -> None:
    """Every title, summary and content of the feed corpus converts as the implementation
    before the fast paths (kept below) converted it."""
    raws = corpus_raws(corpus_feeds)
    assert len(raws) > 15_000
    differ = [raw[:200] for raw in raws if html_to_text(raw) != _old_html_to_text(raw)]
    assert differ == []


def corpus_raws(feeds: tuple[CorpusFeed, ...]) -> list[str]:
    raws: set[str] = set()
    for feed in feeds:
        if not feed.is_feed:
            continue
        body = feed.path.read_bytes()
        for entry in parse_feed(body, {}, "https://corpus.example/feed").entries:
            raws.update((entry.title, entry.summary, entry.content))
    return sorted(raws)


# --- the implementation before the fast paths, as the reference ---------------------

_OLD_SPACES = re.compile(r"[^\S\n]+")


def _old_collapse(text: str) -> str:
    lines = (_OLD_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _old_html_to_text(raw: str) -> str:
    if not raw:
        return ""
    raw = _CONTROL.sub("", raw).replace("\r\n", "\n").replace("\r", "\n")
    if not _LOOKS_LIKE_MARKUP.search(raw):
        return _old_collapse(html.unescape(raw))
    root = _old_parse_fragment(raw)
    text = _old_collapse(_old_text_with_breaks(root)) if root is not None else ""
    if not text:
        text = _old_collapse(html.unescape(_ANY_TAG.sub(" ", _HIDDEN.sub(" ", raw))))
    return text


def _old_parse_fragment(raw: str) -> Any:
    parser = etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True)
    try:
        root = etree.fromstring(f"<div>{raw}</div>", parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None
    if root is None:
        return None
    etree.strip_elements(root, *DROPPED_TAGS, with_tail=False)
    return root


def _old_text_with_breaks(root: Any) -> str:
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


def test_whitespace_is_what_str_split_takes() -> None:
    every = {chr(c) for c in range(0x110000) if chr(c).isspace()}
    assert set(WHITESPACE) == every - {" "}


@pytest.mark.parametrize("piece", [" a  b\t\u00a0c \u3000 d ", "NATO ", "x", "  ", "ا\u2028ب"])
def test_a_long_line_collapses_as_a_short_one(piece: str) -> None:
    line = piece * 20_000  # past the length where lines collapse without a word list
    assert collapse_whitespace(line) == " ".join(line.split())


@given(st.text(st.sampled_from(["a", "ب", " ", "\n", "\t", "\r", "\u2028", "\x0b", "\u00a0"])))
def test_one_line_collapses_as_lines_do(text: str) -> None:
    # the one-line shortcut against the general path over lines
    from monitor.parse.text import _collapse_lines

    assert collapse_whitespace(text) == _collapse_lines(text.split("\n"))
