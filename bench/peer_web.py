"""A simulated ministry web for the side-by-side bench: N small feeds on loopback, one process.

``/s/{i}.xml`` is RSS 2.0 (two sources in three) or Atom, English or Arabic (every other
source), 5–30 items of a few hundred bytes each. Time is cut into cycles of ``interval``
seconds; at the start of each cycle a fraction ``churn`` of the sources (5 % by default),
drawn by a seeded generator so every tool sees the same web, gains 1–3 items (a feed keeps
its newest 30). Every answer carries an ``ETag`` and a ``Last-Modified``; a request whose
``If-None-Match`` (or, without one, ``If-Modified-Since``) still holds is answered 304.

``GET /_stats`` answers what was seen: requests per source and per status, as JSON. One
asyncio process answers everything (HTTP/1.1, keep-alive), so the web costs little beside
the tools under test and its CPU is in neither's process tree. Run as
``python -m bench.peer_web --sources 1000 --interval 60``: it prints its port, then serves
until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from xml.sax.saxutils import escape

KEEP = 30  # items a feed keeps, newest first
ENGLISH = (
    "minister meets delegation on trade and energy cooperation NATO summit preparations "
    "cyber security agreement signed humanitarian aid convoy reaches the border statement "
    "on regional stability ambassador presents credentials ministry condemns attack"
)
ARABIC = (
    "وزير الخارجية يستقبل وفدا لبحث التعاون الاقتصادي والطاقة حلف الناتو قمة الأمن السيبراني "
    "اتفاقية مساعدات إنسانية تصل إلى الحدود بيان حول الاستقرار الإقليمي السفير يقدم أوراق اعتماده"
)
WORDS = {False: ENGLISH.split(), True: ARABIC.split()}  # by Feed.arabic


@dataclass
class Item:
    guid: str
    title: str
    summary: str
    published: float


@dataclass
class Feed:
    index: int
    atom: bool
    arabic: bool
    items: list[Item] = field(default_factory=list)
    version: int = 0
    made: int = 0  # items ever made, for unique ids
    modified: float = 0.0
    body: bytes = b""

    @property
    def etag(self) -> str:
        return f'"{self.index}-{self.version}"'

    def grow(self, count: int, now: float, rng: random.Random) -> None:
        words = WORDS[self.arabic]
        for _ in range(count):
            self.made += 1
            title = " ".join(rng.choices(words, k=rng.randint(5, 10)))
            summary = " ".join(rng.choices(words, k=rng.randint(25, 50)))
            self.items.insert(0, Item(f"s{self.index}-{self.made}", title, summary, now))
        del self.items[KEEP:]
        self.version += 1
        self.modified = now
        self.body = render(self)


def render(feed: Feed) -> bytes:
    """The feed's document: RSS 2.0 or Atom, UTF-8."""
    lang = "ar" if feed.arabic else "en"
    link = f"https://ministry{feed.index}.example"
    if feed.atom:
        entries = "".join(
            f"<entry><id>{item.guid}</id><title>{escape(item.title)}</title>"
            f'<link href="{link}/news/{item.guid}"/><updated>{_iso(item.published)}</updated>'
            f"<summary>{escape(item.summary)}</summary></entry>"
            for item in feed.items
        )
        text = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{lang}">'
            f"<id>{link}/</id><title>Ministry {feed.index}</title>"
            f"<updated>{_iso(feed.modified)}</updated>{entries}</feed>"
        )
    else:
        entries = "".join(
            f"<item><guid>{item.guid}</guid><title>{escape(item.title)}</title>"
            f"<link>{link}/news/{item.guid}</link>"
            f"<pubDate>{formatdate(item.published, usegmt=True)}</pubDate>"
            f"<description>{escape(item.summary)}</description></item>"
            for item in feed.items
        )
        text = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Ministry {feed.index}</title><link>{link}</link><language>{lang}</language>"
            f"{entries}</channel></rss>"
        )
    return text.encode()


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def not_modified(feed: Feed, headers: dict[str, str]) -> bool:
    """Whether a conditional request's validator still holds (RFC 9110 13.2.2: an
    If-None-Match, when present, decides alone)."""
    if "if-none-match" in headers:
        return feed.etag in {tag.strip() for tag in headers["if-none-match"].split(",")}
    since = headers.get("if-modified-since")
    if since:
        try:
            return int(feed.modified) <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError):
            return False
    return False


class Web:
    def __init__(
        self,
        sources: int,
        interval: float,
        churn: float = 0.05,
        seed: int = 23,
        validators: bool = True,
    ) -> None:
        self.interval = interval
        self.validators = validators  # False: a server without ETags, every answer a 200
        self.churn = churn
        self.rng = random.Random(seed)
        self.started = time.time()
        self.cycle = 0
        self.feeds = [Feed(i, atom=i % 3 == 2, arabic=i % 2 == 1) for i in range(sources)]
        for feed in self.feeds:
            feed.grow(self.rng.randint(5, KEEP), self.started - 2 * 86400, self.rng)
        self.requests = [0] * sources
        self.statuses: Counter[int] = Counter()
        self.changed = 0  # feeds that gained items since the start

    def advance(self, now: float) -> None:
        """Apply every cycle begun by ``now``: a seeded sample of feeds gains items."""
        due = int((now - self.started) // self.interval)
        while self.cycle < due:
            self.cycle += 1
            count = max(1, round(len(self.feeds) * self.churn))
            for index in self.rng.sample(range(len(self.feeds)), count):
                self.feeds[index].grow(self.rng.randint(1, 3), now, self.rng)
                self.changed += 1

    def answer(self, path: str, headers: dict[str, str]) -> tuple[int, list[str], bytes]:
        self.advance(time.time())
        if path == "/_stats":
            stats = {
                "requests": self.requests,
                "statuses": dict(self.statuses),
                "cycle": self.cycle,
                "changed": self.changed,
            }
            return 200, ["Content-Type: application/json"], json.dumps(stats).encode()
        name = path.removeprefix("/s/").removesuffix(".xml")
        if not name.isdigit() or int(name) >= len(self.feeds):
            return 404, [], b""
        feed = self.feeds[int(name)]
        self.requests[feed.index] += 1
        validators = [
            f"ETag: {feed.etag}",
            f"Last-Modified: {formatdate(feed.modified, usegmt=True)}",
        ]
        if not self.validators:
            validators = []
        elif not_modified(feed, headers):
            return 304, validators, b""
        kind = "atom" if feed.atom else "rss"
        return 200, [f"Content-Type: application/{kind}+xml; charset=utf-8", *validators], feed.body

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                request, *lines = head.split("\r\n")
                _method, path, _version = request.split(" ", 2)
                headers = {}
                for line in lines:
                    key, _, value = line.partition(":")
                    if key:
                        headers[key.strip().lower()] = value.strip()
                status, extra, body = self.answer(path, headers)
                if path != "/_stats":
                    self.statuses[status] += 1
                reason = {200: "OK", 304: "Not Modified", 404: "Not Found"}[status]
                lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}", *extra]
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
            ValueError,
        ):
            pass
        finally:
            writer.close()


async def serve(web: Web, port: int) -> None:
    server = await asyncio.start_server(web.handle, "127.0.0.1", port, backlog=512)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds per cycle")
    parser.add_argument(
        "--churn", type=float, default=0.05, help="fraction gaining items per cycle"
    )
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-validators", action="store_true", help="no ETag, no 304")
    args = parser.parse_args()
    web = Web(args.sources, args.interval, args.churn, args.seed, not args.no_validators)
    asyncio.run(serve(web, args.port))


if __name__ == "__main__":
    main()
