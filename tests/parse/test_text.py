"""html_to_text: markup to plain text."""

from __future__ import annotations

import pytest

from monitor.parse.text import html_to_text


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
