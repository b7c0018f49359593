"""Property: no text in any field of any format fails a poll or loses the feed's other items.

Hypothesis writes hostile Unicode (lone surrogates, NUL and other controls, noncharacters,
bidi and zero-width marks, combining marks, 10,000-letter words: ``hostile_text``) into one
field of one item of an RSS feed, an Atom feed, a JSON Feed or a listing page, beside two
ordinary items that name NATO. Each example is one real poll (``poll_driver.poll_once``,
the parse worker, the store, the match step) of that body served on loopback, on SQLite
and on PostgreSQL. Every poll succeeds; the ordinary items are stored and matched; the
hostile one is stored (its text cleaned) or skipped and reported on the source.

Text is written as each format can carry it: XML and HTML get a character reference for
what they cannot hold (``&#0;``, ``&#xD800;``: what badly built sites send), JSON its
``\\u`` escapes. The examples are derandomised, so the suite never flakes; set
``MONITOR_FUZZ_EXAMPLES`` for a longer, random hunt.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import textwrap
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config.load import load_config
from monitor.config.model import Config
from monitor.pipeline import PollOutcome
from monitor.poll_driver import poll_once
from monitor.runtime import Runtime
from monitor.store.tables import RELEASES, SOURCES
from tests.support.http_server import LoopbackServer, Response
from tests.support.unicode import hostile_text

T = TypeVar("T")
# a longer, random hunt: MONITOR_FUZZ_EXAMPLES=2000 pytest tests/e2e/test_poison_property.py
HUNT = os.environ.get("MONITOR_FUZZ_EXAMPLES")
EXAMPLES = int(HUNT or 30)
FIELDS = {
    "rss": ("title", "description", "content", "guid", "link", "date", "author"),
    "atom": ("title", "html-title", "summary", "content", "id", "link", "date", "author"),
    "json": ("title", "summary", "content_text", "content_html", "id", "url", "date", "author"),
    "page": ("title", "link", "date", "summary"),
}
DATE = "Wed, 13 Mar 2019 10:00:00 +0300"
ISO_DATE = "2019-03-13T10:00:00+03:00"


def _xml(text: str) -> str:
    """``text`` in XML or HTML: escaped, and a character reference for each character an
    XML document cannot hold as such (controls, surrogates, noncharacters)."""
    return "".join(_xml_char(char) for char in text)


def _xml_char(char: str) -> str:
    code = ord(char)
    if char in "&<>\"'" or (code < 0x20 and char not in "\t\n\r"):
        return f"&#{code};"
    if 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
        return f"&#{code};"
    return char


def _items(kind: str, n: int, field: str, text: str) -> list[dict[str, str]]:
    """Three items, the middle one with ``text`` in ``field``; values are raw text."""
    items = []
    for name in ("first", "hostile", "last"):
        item = {
            "id": f"{name}-{n}",
            "title": f"NATO {name} {n}",
            "link": f"https://ministry.example/{kind}/{n}/{name}",
            "body": f"Qatar and NATO, release {name} {n}.",
            "date": ISO_DATE if kind == "json" else DATE,
            "author": "MoFA",
        }
        if name == "hostile":
            item[field] = text
        items.append(item)
    return items


def rss(items: list[dict[str, str]]) -> bytes:
    parts = ['<?xml version="1.0" encoding="utf-8"?>']
    parts.append('<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">')
    parts.append("<channel><title>ministry</title><link>https://ministry.example/</link>")
    for item in items:
        body = item.get("content", item["body"])
        parts.append(
            f"<item><title>{_xml(item['title'])}</title><link>{_xml(item['link'])}</link>"
            f"<guid>{_xml(item.get('guid', item['id']))}</guid>"
            f"<pubDate>{_xml(item['date'])}</pubDate><author>{_xml(item['author'])}</author>"
            f"<description>{_xml(item.get('description', item['body']))}</description>"
            f"<content:encoded>{_xml(body)}</content:encoded></item>"
        )
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")


def atom(items: list[dict[str, str]]) -> bytes:
    parts = ['<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">']
    parts.append(
        "<title>ministry</title><id>urn:ministry</id><updated>2019-03-13T07:00:00Z</updated>"
    )
    for item in items:
        title = item.get("html-title", item["title"])
        kind = ' type="html"' if "html-title" in item else ""
        parts.append(
            f"<entry><title{kind}>{_xml(title)}</title><id>{_xml(item['id'])}</id>"
            f'<link href="{_xml(item["link"])}"/><updated>{_xml(item["date"])}</updated>'
            f"<author><name>{_xml(item['author'])}</name></author>"
            f'<summary type="html">{_xml(item.get("summary", item["body"]))}</summary>'
            f'<content type="html">{_xml(item.get("content", item["body"]))}</content></entry>'
        )
    parts.append("</feed>")
    return "".join(parts).encode("utf-8")


def json_feed(items: list[dict[str, str]]) -> bytes:
    entries = [
        {
            "id": item["id"],
            "url": item.get("url", item["link"]),
            "title": item["title"],
            "summary": item.get("summary", item["body"]),
            "content_text": item.get("content_text", item["body"]),
            **({"content_html": item["content_html"]} if "content_html" in item else {}),
            "date_published": item["date"],
            "authors": [{"name": item["author"]}],
        }
        for item in items
    ]
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "ministry", "items": entries}
    return json.dumps(feed).encode("ascii")  # "\ud800", "\u0000": JSON's own escapes


def page(items: list[dict[str, str]]) -> bytes:
    parts = ["<!doctype html><html lang='ar'><head><meta charset='utf-8'></head><body>"]
    for item in items:
        parts.append(
            f"<div class='news'><h3><a href='{_xml(item['link'])}'>{_xml(item['title'])}</a>"
            f"</h3><span class='date'>{_xml(item['date'])}</span>"
            f"<p>{_xml(item.get('summary', item['body']))}</p></div>"
        )
    parts.append("</body></html>")
    return "".join(parts).encode("utf-8")


BUILDERS = {"rss": rss, "atom": atom, "json": json_feed, "page": page}
CONFIG = """
database: {database}
sources:
  - id: rss
    url: {url}/rss
  - id: atom
    url: {url}/atom
  - id: json
    url: {url}/json
  - id: page
    url: {url}/page
    type: html
    select: {{item: "div.news", title: "h3", link: "h3 a@href", date: "span.date", summary: "p"}}
rules:
  - id: nato
    query: 'NATO OR الناتو'
    channels: [console]
channels:
  - id: console
    type: log
"""


class Poller:
    """One runtime on an event loop of its own thread, shared by the examples of a test
    (hypothesis calls the test body once per example, synchronously)."""

    def __init__(self, config: Config) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runtime: Runtime = self.run(Runtime.start(config))

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=120)

    def close(self) -> None:
        self.run(self.runtime.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


@pytest.fixture
def poller(tmp_path: Path, db_url: str, http_server: LoopbackServer) -> Iterator[Poller]:
    path = tmp_path / "monitor.yaml"
    text = CONFIG.format(database=db_url, url=http_server.url("").rstrip("/"))
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    poller = Poller(load_config(path, environ_database=False))
    try:
        yield poller
    finally:
        poller.close()


_serial = itertools.count()


async def _poll_and_read(runtime: Runtime, kind: str) -> tuple[PollOutcome, set[str], Any]:
    """One poll, then the source's row and the URLs of its releases matched so far."""
    [outcome] = (await poll_once(runtime, [kind], deliver=False)).outcomes
    async with runtime.engine.connect() as connection:
        urls = (
            await connection.execute(
                sa.select(RELEASES.c.url)
                .where(RELEASES.c.source_id == kind)
                .where(RELEASES.c.matched_hash == RELEASES.c.content_hash)
            )
        ).scalars()
        matched = {url for url in urls if url}
        source = (await connection.execute(sa.select(SOURCES).where(SOURCES.c.id == kind))).one()
    return outcome, matched, source


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=HUNT is None,  # the same examples every run: the suite never flakes
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_text_fails_a_poll_or_loses_the_other_items(
    poller: Poller, http_server: LoopbackServer, data: st.DataObject
) -> None:
    kind = data.draw(st.sampled_from(sorted(FIELDS)), label="format")
    field = data.draw(st.sampled_from(FIELDS[kind]), label="field")
    text = data.draw(hostile_text(), label="text")
    _check(poller, http_server, kind, field, text)


ISSUE = [
    ("json", "content_text", "body \x00 two"),
    ("rss", "description", "a \x00 b"),
    ("json", "title", "three \ud800"),
    ("page", "title", "<script>alert(1)</script> بيان حول الناتو"),
    ("atom", "content", "x" * 10_000 + " \u202e\u0301\ufffe"),
]


def test_the_issues_examples(poller: Poller, http_server: LoopbackServer) -> None:
    for kind, field, text in ISSUE:
        _check(poller, http_server, kind, field, text)


def _check(poller: Poller, server: LoopbackServer, kind: str, field: str, text: str) -> None:
    n = next(_serial)
    items = _items(kind, n, field, text)
    server.route(f"/{kind}", Response(body=BUILDERS[kind](items)))
    outcome, stored, source = poller.run(_poll_and_read(poller.runtime, kind))

    assert outcome.ok, outcome.error
    assert source.status == "ok"
    # the ordinary items are stored and matched, whatever their neighbour holds
    for item in (items[0], items[2]):
        assert item["link"] in stored, (item["link"], sorted(stored))
    # and the hostile one is stored too (a revision when an earlier example had its id or
    # link), or skipped and said so
    assert outcome.new + outcome.revised + outcome.skipped == 3, outcome
    assert not outcome.skipped or outcome.skip_reason
