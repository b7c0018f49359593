"""A feed whose prolog says utf-16 while its bytes are UTF-8 parses whatever its length.

feedparser alone tries UTF-16 first, which succeeds (as garbage) on an even number of
bytes and fails on an odd one: the same feed then parsed or not depending on one byte.
"""

from __future__ import annotations

import pytest

from monitor.parse.feed import parse_feed

FEED = (
    '<?xml version="1.0" encoding="utf-16"?>\n<rss version="2.0"><channel><title>T</title>'
    "<item><title>الناتو</title><link>https://x.example/1</link></item></channel></rss>"
).encode()


@pytest.mark.parametrize("padding", [b"", b"\n", b"\n\n", b"\n \n"])
def test_parity_does_not_matter(padding: bytes) -> None:
    feed = parse_feed(FEED + padding, {"content-type": "application/xml"}, "https://x.example/")
    assert [e.title for e in feed.entries] == ["الناتو"]
    assert "declared as utf-16, but the bytes are utf-8" in feed.warnings[0]
