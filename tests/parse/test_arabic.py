"""A realistic Arabic ministry feed, in UTF-8 and in windows-1256, decodes to the same text.

Built around the seed release (a Qatar MoFA statement on NATO), served over loopback with
the headers such a ministry sends, fetched, parsed and derived.
"""

from __future__ import annotations

import html

import pytest

from monitor.fetch import Fetcher
from monitor.http_client import new_client
from monitor.model import ReleaseData
from monitor.parse.feed import parse_feed
from monitor.parse.identity import derive_all
from tests.conftest import SEED_RELEASE
from tests.support.http_server import LoopbackServer, Response

FEED_PATH = "/ar/rss"


def ministry_feed(encoding: str, *, declare: bool = True) -> bytes:
    lines = [line.strip() for line in SEED_RELEASE.read_text(encoding="utf-8").splitlines()]
    paragraphs = [line for line in lines if line]
    title, body = paragraphs[0], paragraphs[1:]
    description = "".join(f"<p>{html.escape(p)}</p>" for p in body)
    items = [
        (title, description, "Wed, 13 Mar 2019 10:00:00 +0300", "4471"),
        ("وزير الدولة للشؤون الخارجية يستقبل سفير جمهورية ألمانيا", "<p>استقبل سعادته</p>",
         "Tue, 12 Mar 2019 09:30:00 +0300", "4470"),
        ("قطر تدين الهجوم الإرهابي", "<p>أعربت دولة قطر عن إدانتها</p>",
         "Mon, 11 Mar 2019 18:05:00 +0300", "4469"),
    ]  # fmt: skip
    xml_items = "".join(
        f"<item><title>{html.escape(t)}</title>"
        f"<link>https://www.mofa.gov.qa/ar/all-mofa-news/details/{guid}?utm_source=rss</link>"
        f"<description><![CDATA[{d}]]></description><pubDate>{date}</pubDate>"
        f'<guid isPermaLink="false">mofa-{guid}</guid></item>'
        for t, d, date, guid in items
    )
    prolog = f'<?xml version="1.0" encoding="{encoding}"?>' if declare else ""
    feed = (
        f'{prolog}<rss version="2.0"><channel><title>وزارة الخارجية - دولة قطر</title>'
        "<link>https://www.mofa.gov.qa/ar</link><language>ar-QA</language>"
        f"{xml_items}</channel></rss>"
    )
    return feed.encode(encoding)  # strict: every character must exist in the charset


async def fetch_and_derive(
    server: LoopbackServer, body: bytes, content_type: str
) -> tuple[tuple[ReleaseData, ...], tuple[str, ...]]:
    server.route(FEED_PATH, Response(200, body, {"Content-Type": content_type}))
    async with new_client() as client:
        fetched = await Fetcher(client).fetch(server.url(FEED_PATH), user_agent="monitor-test")
    feed = parse_feed(fetched.body, fetched.headers, fetched.url)
    releases, clashes = derive_all(feed, feed_url=fetched.url)
    return releases, feed.warnings + clashes


@pytest.mark.parametrize(
    ("encoding", "declare", "content_type", "warned"),
    [
        ("windows-1256", True, "application/rss+xml; charset=windows-1256", False),
        ("windows-1256", True, "text/xml", False),  # charset only in the XML declaration
        ("windows-1256", False, "application/rss+xml; charset=utf-8", True),  # wrong
        ("windows-1256", False, "application/rss+xml", True),  # missing everywhere
        ("utf-16", True, "application/rss+xml; charset=utf-8", False),  # the BOM wins
    ],
)
async def test_same_text_whatever_the_encoding(
    http_server: LoopbackServer, encoding: str, declare: bool, content_type: str, warned: bool
) -> None:
    utf8, utf8_warnings = await fetch_and_derive(
        http_server, ministry_feed("utf-8"), "application/rss+xml; charset=utf-8"
    )
    other, warnings = await fetch_and_derive(
        http_server, ministry_feed(encoding, declare=declare), content_type
    )
    assert utf8_warnings == ()
    assert other == utf8
    assert bool(warnings) == warned


async def test_the_seed_release_comes_through_whole(http_server: LoopbackServer) -> None:
    releases, _ = await fetch_and_derive(
        http_server, ministry_feed("windows-1256"), "application/rss+xml"
    )
    first = releases[0]
    seed = [line.strip() for line in SEED_RELEASE.read_text(encoding="utf-8").splitlines()]
    seed = [line for line in seed if line]
    assert first.title == seed[0]
    assert first.summary == "\n".join(seed[1:])
    assert "الناتو" in first.title and "ــ" in first.summary  # tatweel survives
    assert first.identity == "guid:mofa-4471"
    assert first.url == "https://www.mofa.gov.qa/ar/all-mofa-news/details/4471"
    assert first.language == "ar"
    assert (
        first.published is not None and first.published.isoformat() == "2019-03-13T07:00:00+00:00"
    )
    assert first.published_raw == "Wed, 13 Mar 2019 10:00:00 +0300"
    assert len({r.identity for r in releases}) == 3
