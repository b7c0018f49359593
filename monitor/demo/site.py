"""The demo's sample ministries, served on loopback: RSS feeds and one listing page.

``samples/releases.yaml`` holds invented releases (an Arabic statement on a meeting with
NATO's Secretary General, its English counterpart, a news agency's copy, a listing page of
a feedless ministry, unrelated releases), each in a phase: ``baseline`` items are online
from the start, ``new`` ones once ``publish_new()`` is called. Dates are relative to the
moment the site starts, so the baseline's items are always older than the backfill.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

import yaml

from monitor.config.durations import parse_duration


@dataclass(frozen=True, slots=True)
class SampleSource:
    id: str
    name: str
    path: str
    type: str  # feed | html
    language: str


@dataclass(frozen=True, slots=True)
class SampleRelease:
    source: str
    phase: str  # baseline | new
    age: timedelta
    slug: str
    title: str
    body: str
    dateline: str = ""  # a news agency's "CITY, date (AGENCY) -" before the body


LISTING_SELECT = {
    "item": "div.news-item",
    "title": "h3",
    "link": "h3 a@href",
    "date": "span.date",
    "summary": "p",
}


def read_sample(name: str) -> str:
    return (resources.files("monitor.demo") / "samples" / name).read_text(encoding="utf-8")


def load_samples() -> tuple[list[SampleSource], list[SampleRelease]]:
    data: dict[str, Any] = yaml.safe_load(read_sample("releases.yaml"))
    sources = [SampleSource(**s) for s in data["sources"]]
    releases = [
        SampleRelease(**{**r, "age": parse_duration(r["age"]), "body": r["body"].strip()})
        for r in data["releases"]
    ]
    return sources, releases


def rss(source: SampleSource, items: list[SampleRelease], base: str, moment: datetime) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(source.name)}</title><link>{base}/</link>",
        f"<description>{escape(source.name)}</description><language>{source.language}</language>",
    ]
    for item in items:
        link = f"{base}/{source.id}/{item.slug}"
        parts += [
            "<item>",
            f"<guid>{link}</guid><link>{link}</link><title>{escape(item.title)}</title>",
            f"<description>{escape(item.dateline + item.body)}</description>",
            f"<pubDate>{format_datetime(moment - item.age)}</pubDate>",
            "</item>",
        ]
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")


def listing(source: SampleSource, items: list[SampleRelease], moment: datetime) -> bytes:
    """A ministry's news page: one ``div.news-item`` per release (``LISTING_SELECT``)."""
    rows = [
        '<div class="news-item">'
        f'<h3><a href="/{source.id}/{item.slug}">{escape(item.title)}</a></h3>'
        f'<span class="date">{(moment - item.age).strftime("%Y-%m-%d %H:%M")}</span>'
        f"<p>{escape(item.body)}</p></div>"
        for item in items
    ]
    page = (
        f'<!doctype html><html lang="{source.language}"><head><meta charset="utf-8">'
        f"<title>{escape(source.name)}</title></head><body><h1>News</h1>"
        + "".join(rows)
        + "</body></html>"
    )
    return page.encode("utf-8")


class SampleSite:
    """The sample sources on ``127.0.0.1`` (a free port), in a background thread."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment
        self.sources, self.releases = load_samples()
        self.phases = {"baseline"}
        self._pages: dict[str, tuple[str, bytes]] = {}
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._render()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def url(self, source: SampleSource) -> str:
        return self.base + source.path

    def online(self) -> list[SampleRelease]:
        return [r for r in self.releases if r.phase in self.phases]

    def publish_new(self) -> list[SampleRelease]:
        """The ministries publish: the ``new`` releases appear. Returns them."""
        self.phases.add("new")
        self._render()
        return [r for r in self.releases if r.phase == "new"]

    def __enter__(self) -> SampleSite:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _render(self) -> None:
        pages = {}
        for source in self.sources:
            # newest first, as ministries list them
            items = sorted((r for r in self.online() if r.source == source.id), key=lambda r: r.age)
            if source.type == "html":
                pages[source.path] = (
                    "text/html; charset=utf-8",
                    listing(source, items, self.moment),
                )
            else:
                pages[source.path] = (
                    "application/rss+xml; charset=utf-8",
                    rss(source, items, self.base, self.moment),
                )
        self._pages = pages  # one assignment: a request sees the old set or the new one

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                page = site._pages.get(self.path.split("?", 1)[0])
                content_type, body = page or ("text/plain; charset=utf-8", b"not found")
                self.send_response(200 if page else 404)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
