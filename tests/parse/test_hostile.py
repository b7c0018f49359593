"""Hostile bodies, served over loopback and parsed: ParseError or a warning, nothing else."""

from __future__ import annotations

import tracemalloc

import pytest

from monitor.errors import ParseError
from monitor.fetch import Fetcher
from monitor.http_client import new_client
from monitor.model import ParsedFeed
from monitor.parse.feed import parse_feed
from monitor.parse.identity import derive_all
from tests.support.hostile import HOSTILE, Hostile, billion_laughs, xxe, xxe_parameter
from tests.support.http_server import LoopbackServer, Response


async def serve_and_parse(
    server: LoopbackServer, body: bytes, headers: dict[str, str]
) -> ParsedFeed:
    server.route("/feed", Response(200, body, headers))
    async with new_client() as client:
        fetched = await Fetcher(client).fetch(server.url("/feed"), user_agent="monitor-test")
    return parse_feed(fetched.body, fetched.headers, fetched.url)


@pytest.mark.parametrize("case", HOSTILE, ids=[h.name for h in HOSTILE])
async def test_hostile_body(http_server: LoopbackServer, case: Hostile) -> None:
    if case.outcome == "error":
        with pytest.raises(ParseError) as caught:
            await serve_and_parse(http_server, case.body, case.headers)
        message = str(caught.value)
        assert message.startswith("not a feed") and "\n" not in message and len(message) < 250
        return
    feed = await serve_and_parse(http_server, case.body, case.headers)
    if case.outcome == "warning":
        assert feed.warnings
    assert all("\n" not in w for w in feed.warnings)
    if case.must_contain is not None:
        assert case.must_contain in [e.title for e in feed.entries]
    releases, _ = derive_all(feed, feed_url=http_server.url("/feed"))
    everything = repr(feed) + repr(releases)
    for forbidden in case.must_not_contain:
        assert forbidden not in everything


def test_entity_bomb_takes_neither_memory_nor_time() -> None:
    body = billion_laughs(10)  # 10**9 "lol"s if expanded
    tracemalloc.start()
    try:
        feed = parse_feed(body, {}, "https://ministry.example/feed")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000
    assert all(len(e.title) < 1000 for e in feed.entries)


@pytest.mark.parametrize("make", [xxe, xxe_parameter], ids=["general", "parameter"])
async def test_external_entities_are_never_fetched(
    http_server: LoopbackServer, make: object
) -> None:
    http_server.route("/secret", Response(200, b"TOP-SECRET"))
    body = make(http_server.url("/secret"))  # type: ignore[operator]
    feed = parse_feed(body, {}, "https://ministry.example/feed")
    assert "TOP-SECRET" not in repr(feed)
    # the server is still up and answers; it was simply never asked
    async with new_client() as client:
        assert (await client.get(http_server.url("/secret"))).text == "TOP-SECRET"
    assert len(http_server.requests_to("/secret")) == 1


@pytest.mark.parametrize("make", [xxe, xxe_parameter], ids=["general", "parameter"])
def test_external_entities_never_read_local_files(make: object) -> None:
    with open("/etc/passwd", encoding="utf-8") as passwd:
        first_line = passwd.readline().strip()
    feed = parse_feed(make("file:///etc/passwd"), {}, "https://x.example/")  # type: ignore[operator]
    assert first_line and first_line not in repr(feed)


@pytest.mark.parametrize(
    "start",
    [
        b"<!DOCTYPE html>\n<html lang='ar'>",
        b"<?xml version='1.0'?><!-- moved --><html xmlns='http://www.w3.org/1999/xhtml'>",
        b"<x:html xmlns:x='http://www.w3.org/1999/xhtml'>",
    ],
    ids=["html5", "xhtml", "prefixed"],
)
def test_a_big_html_page_at_a_feed_address_is_refused_at_its_first_element(
    start: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # feedparser's loose parser spent 5-11 s of CPU on a 6 MB ministry page before saying
    # "not a feed" (bench/README.md, issue 22): the page must never reach it
    import feedparser

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("an HTML page reached feedparser")

    monkeypatch.setattr(feedparser, "parse", never)
    row = b"<li><a href='/news/1'>Statement on NATO</a><span>2026-01-02</span></li>\n"
    title = "<head><title>Ministry الخارجية</title></head>".encode()
    body = start + title + b"<body><ul>" + row * 60_000 + b"</ul></body></html>"
    with pytest.raises(ParseError) as caught:
        parse_feed(body, {"Content-Type": "text/html"}, "https://ministry.example/feed")
    message = str(caught.value)
    assert message == "not a feed: an HTML page titled 'Ministry الخارجية'"


def test_html_inside_a_feed_is_still_a_feed() -> None:
    body = (
        b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><item>"
        b"<title>NATO</title><link>https://ministry.example/1</link>"
        b"<description><![CDATA[<html><body><p>text</p></body></html>]]></description>"
        b"</item></channel></rss>"
    )
    feed = parse_feed(body, {"Content-Type": "text/html"}, "https://ministry.example/feed")
    assert [e.title for e in feed.entries] == ["NATO"]


def test_a_feed_wrapped_in_html_is_still_read() -> None:
    # what Chromium gives for a feed it displays (`render: browser` on a feed source)
    body = (
        b"<html><head></head><body><rss version='2.0'><channel><title>Ministry</title><item>"
        b"<title>NATO</title><link>https://ministry.example/1</link></item></channel></rss>"
        b"</body></html>"
    )
    feed = parse_feed(body, {"Content-Type": "text/html"}, "https://ministry.example/feed")
    assert [e.title for e in feed.entries] == ["NATO"]
