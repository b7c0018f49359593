"""The simulated ministry web: one asyncio process, a minimal HTTP/1.1 server with
keep-alive (a few hundred lines of protocol cost less CPU per request than a framework,
and the monitor's client keeps its connections open).

Routes: ``GET /s/{i}.xml`` (or ``.html``) a source; ``POST /hook`` the webhook receiver;
``GET /_stats`` counters; ``GET /_dump`` everything seen, for ``analysis``; ``POST /_calm``
stops changes and failures (a test then waits for the last ones to be alerted).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import re
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from email.utils import formatdate

from bench.sim.content import (
    Entry,
    Shape,
    Writer,
    arabic_words,
    english_words,
    render,
    shapes,
)

INITIAL_AGE = 2 * 86400.0  # the items a source starts with are older than the backfill (1d)
STALL_CLOSE = 120.0  # a "timeout" source's connection is closed by then at the latest
SOURCE_PATH = re.compile(r"/s/(\d+)\.(?:xml|html)")
REASONS = {
    200: "OK",
    204: "No Content",
    304: "Not Modified",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


@dataclass
class Settings:
    sources: int
    interval: float  # the monitor's polling interval: rates below are per interval
    change: float = 0.05  # share of sources gaining 1–3 items per interval
    fail: float = 0.01  # share of sources failing for one interval (500, 429 or no answer)
    copies: float = 0.03  # share of new feed items that republish another source's item
    seed: int = 1
    # items a source shows at its first poll (0: its full size, 5–50): a small baseline makes
    # the warm-up affordable at 10,000+ sources; new items then fill the feed up to its size
    baseline: int = 0


@dataclass
class Sim:
    settings: Settings
    shapes: list[Shape] = field(default_factory=list)
    writer: Writer | None = None
    start: float = 0.0
    count: list[int] = field(default_factory=list)  # items ever published, per source
    modified: list[float] = field(default_factory=list)
    polled: list[int] = field(default_factory=list)  # requests per source
    appeared: dict[tuple[int, int], float] = field(default_factory=dict)  # new items only
    served: dict[tuple[int, int], float] = field(default_factory=dict)  # first 200 with it
    copy_of: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    failing: dict[int, tuple[int, float]] = field(default_factory=dict)  # status (0: none), until
    requests: list[tuple[float, int, int]] = field(default_factory=list)  # at, source, status
    hooks: list[tuple[float, str, str, str, str]] = field(default_factory=list)
    calm: bool = False

    def __post_init__(self) -> None:
        n = self.settings.sources
        self.shapes = shapes(self.settings.seed, n)
        self.writer = Writer(self.settings.seed, {"en": english_words(), "ar": arabic_words()})
        self.start = time.time()
        first = self.settings.baseline
        self.count = [min(shape.size, first) if first else shape.size for shape in self.shapes]
        self.modified = [self.start - INITIAL_AGE] * n
        self.polled = [0] * n
        self.rng = random.Random(self.settings.seed + 1)
        self.recent: dict[str, deque[tuple[int, int]]] = {
            "ar": deque(maxlen=200),
            "en": deque(maxlen=200),
        }

    # the sources -----------------------------------------------------------------

    def entries(self, i: int) -> list[Entry]:
        assert self.writer is not None
        shape, total = self.shapes[i], self.count[i]
        shown = []
        for k in range(total - 1, max(total - shape.size, 0) - 1, -1):
            origin = self.copy_of.get((i, k), (i, k))
            item = self.writer.item(origin[0], origin[1], self.shapes[origin[0]].lang)
            published = self.appeared.get((i, k))
            if published is None:  # one of the items it started with, an hour apart
                published = self.start - INITIAL_AGE - (shape.size - k) * 3600.0
            shown.append((k, item, published))
        return shown

    def source(self, i: int, headers: dict[str, str], at: float) -> tuple[int, bytes, list[str]]:
        self.polled[i] += 1
        failing = self.failing.get(i)
        if failing is not None and failing[1] > at:
            if failing[0] == 0:
                return 0, b"", []
            extra = ["Retry-After: 30"] if failing[0] == 429 else []
            return failing[0], b"server busy", extra
        etag = f'"{i}-{self.count[i]}"'
        modified = formatdate(self.modified[i], usegmt=True)
        if headers.get("if-none-match") == etag:
            return 304, b"", [f"ETag: {etag}", f"Last-Modified: {modified}"]
        entries = self.entries(i)
        for k, _, _ in entries:
            if (i, k) in self.appeared and (i, k) not in self.served:
                self.served[(i, k)] = at
        body, kind = render(i, self.shapes[i], entries, self.modified[i])
        return 200, body, [f"Content-Type: {kind}", f"ETag: {etag}", f"Last-Modified: {modified}"]

    # the passing of time ---------------------------------------------------------

    def tick(self, at: float, seconds: float) -> None:
        """What happens on the web in ``seconds``: some sources gain items, some fail."""
        if self.calm:
            return
        n, per = self.settings.sources, seconds / self.settings.interval
        for _ in range(_poisson(self.rng, n * self.settings.change * per)):
            i = self.rng.randrange(n)
            if self.polled[i]:  # changes start after a source's baseline
                for _ in range(self.rng.randint(1, 3)):
                    self._publish(i, at)
        for _ in range(_poisson(self.rng, n * self.settings.fail * per)):
            i = self.rng.randrange(n)
            status = self.rng.choice((500, 429, 0))
            self.failing[i] = (status, at + self.settings.interval)

    def _publish(self, i: int, at: float) -> None:
        k = self.count[i]
        self.count[i] += 1
        self.modified[i] = at
        self.appeared[(i, k)] = at
        shape = self.shapes[i]
        if shape.kind == "html":
            return  # copies only between feeds: a listing's summary is its only body
        recent = self.recent[shape.lang]
        others = [key for key in recent if key[0] != i]
        if others and self.rng.random() < self.settings.copies:
            self.copy_of[(i, k)] = self.rng.choice(others)
        else:
            recent.append((i, k))

    def hook(self, at: float, headers: dict[str, str], body: bytes) -> None:
        event = json.loads(body)
        rule = (event.get("rule") or {}).get("id", "")
        url = (event.get("release") or {}).get("url", "")
        self.hooks.append((at, headers.get("webhook-id", ""), event.get("type", ""), rule, url))

    def stats(self) -> dict[str, object]:
        return {
            "sources": self.settings.sources,
            "polled": sum(1 for count in self.polled if count),
            "polled_twice": sum(1 for count in self.polled if count >= 2),
            "requests": len(self.requests),
            "new_items": len(self.appeared),
            "hooks": len(self.hooks),
        }

    def dump(self) -> dict[str, object]:
        assert self.writer is not None
        items = []
        for (i, k), at in self.appeared.items():
            origin = self.copy_of.get((i, k), (i, k))
            nato = self.writer.item(origin[0], origin[1], self.shapes[origin[0]].lang).nato
            items.append([i, k, at, self.served.get((i, k)), origin[0], origin[1], nato])
        return {
            "start": self.start,
            "settings": self.settings.__dict__,
            "kinds": [[s.kind, s.lang, s.size] for s in self.shapes],
            "requests": self.requests,
            "items": items,
            "hooks": self.hooks,
            "failing": sorted(self.failing),
        }


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


class Connection(asyncio.Protocol):
    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.stalled = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while not self.stalled:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = self.buffer[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            method, target, _ = lines[0].split(" ", 2)
            self.handle(method, target, headers, body)

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        sim, at = self.sim, time.time()
        extra: list[str] = []
        found = SOURCE_PATH.fullmatch(target)
        if found and int(found[1]) < sim.settings.sources:
            i = int(found[1])
            status, payload, extra = sim.source(i, headers, at)
            sim.requests.append((at, i, status))
            if status == 0:  # no answer: the client gives up at its deadline
                self.stalled = True
                asyncio.get_running_loop().call_later(STALL_CLOSE, self.close)
                return
        elif target == "/hook" and method == "POST":
            sim.hook(at, headers, body)
            status, payload = 204, b""
        elif target == "/_stats":
            status, payload = 200, json.dumps(sim.stats()).encode()
        elif target == "/_dump":
            status, payload = 200, json.dumps(sim.dump()).encode()
        elif target == "/_calm" and method == "POST":
            sim.calm = True
            sim.failing.clear()
            status, payload = 204, b""
        else:
            status, payload = 404, b"not found"
        head = [f"HTTP/1.1 {status} {REASONS[status]}", f"Content-Length: {len(payload)}", *extra]
        assert self.transport is not None
        self.transport.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def serve(settings: Settings, host: str = "127.0.0.1", port: int = 0) -> None:
    sim = Sim(settings)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(sim), host, port, backlog=1024)
    print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
    last = time.time()
    while True:
        await asyncio.sleep(1.0)
        moment = time.time()
        sim.tick(moment, moment - last)
        last = moment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, required=True)
    parser.add_argument("--interval", type=float, required=True, help="seconds")
    parser.add_argument("--change", type=float, default=0.05)
    parser.add_argument("--fail", type=float, default=0.01)
    parser.add_argument("--copies", type=float, default=0.03)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--baseline", type=int, default=0, help="items at the first poll")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    settings = Settings(
        args.sources, args.interval, args.change, args.fail, args.copies, args.seed, args.baseline
    )
    try:
        asyncio.run(serve(settings, port=args.port))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
