"""The scene of the fault drills: a ministry whose feed gains releases, webhook receivers
that record every request, and the config that points ``monitor run`` at them.

Every release the ministry publishes says "NATO", so each one is expected once on each
channel (rule ``nato`` sends to every channel); ``Receiver.deliveries`` maps what arrived
back to (release URL, channel) so a drill can compare it with what was published.
"""

from __future__ import annotations

import json
import socket
import textwrap
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.support.feeds import Item, rss
from tests.support.http_server import LoopbackServer, Request, Response


class Ministry:
    """``/feed`` on a loopback server: an RSS feed of the releases published so far."""

    def __init__(self, server: LoopbackServer, path: str = "/feed") -> None:
        self.server, self.path = server, path
        self._items: list[Item] = []
        self._lock = threading.Lock()
        server.route(path, self._serve)

    def publish(self, n: int = 1) -> list[str]:
        """``n`` new releases, dated now; their URLs."""
        with self._lock:
            start = len(self._items)
            for i in range(start, start + n):
                self._items.append(
                    Item(
                        f"r{i}",
                        f"NATO statement number {i}",
                        f"The ministry comments on NATO, item {i}.",
                        f"https://ministry.example/{self.path.strip('/')}/{i}",
                        datetime.now(UTC),
                    )
                )
            return [item.link for item in self._items[start:]]

    def urls(self) -> list[str]:
        with self._lock:
            return [item.link for item in self._items]

    def _serve(self, _request: Request) -> Response:
        with self._lock:
            items = list(reversed(self._items))[:50]  # newest first, as ministries do
        return Response(body=rss(items, language="en"))


@dataclass(frozen=True)
class Delivery:
    webhook_id: str
    channel: str
    release_url: str
    at: float  # monotonic
    generation: int  # which daemon process was running (the drill's count)


class Receiver:
    """Webhook endpoints ``/hook/<channel>`` that answer 200 and record every request."""

    def __init__(self, server: LoopbackServer, channels: list[str]) -> None:
        self.server = server
        self.channels = channels
        self.generation = 0
        self.received: list[Delivery] = []
        self.lock = threading.Lock()
        for channel in channels:
            server.route(f"/hook/{channel}", self._handler(channel))

    def url(self, channel: str, generation: int | None = None) -> str:
        """The channel's URL; with ``generation``, one that names the daemon sending."""
        query = "" if generation is None else f"?g={generation}"
        return self.server.url(f"/hook/{channel}{query}")

    def _handler(self, channel: str):  # type: ignore[no-untyped-def]
        def handle(request: Request) -> Response:
            # the daemon that sent it: its config's URL says (``?g=``), else the one running
            arrived = time.monotonic()
            query = parse_qs(urlsplit(request.path).query)
            generation = int(query["g"][0]) if "g" in query else self.generation
            body = json.loads(request.body)
            url = body["release"]["url"] if body.get("type") == "release.matched" else ""
            self.before_answer(channel)
            with self.lock:
                self.received.append(
                    Delivery(request.headers["webhook-id"], channel, url, arrived, generation)
                )
            return Response(200)

        return handle

    def before_answer(self, channel: str) -> None:
        """A hook for drills that act while a send is in flight (nothing by default)."""

    def deliveries(self) -> list[Delivery]:
        with self.lock:
            return list(self.received)

    def delivered(self) -> set[tuple[str, str]]:
        """(release URL, channel) of everything received."""
        return {(d.release_url, d.channel) for d in self.deliveries()}


def write_config(
    path: Path,
    database: str,
    ministry: Ministry,
    receiver: Receiver,
    *,
    http_port: int | None = None,
    extra: str = "",
    generation: int | None = None,
) -> Path:
    """A config polling the ministry every 2 s and sending rule ``nato`` to every channel
    (with ``generation``: at URLs that tell the receiver which daemon sent a request)."""
    channels = "\n".join(
        f"""  - id: {channel}
    type: webhook
    url: "{receiver.url(channel, generation)}"
    timeout: 2s
    retry: {{initial: 1s, max: 2s}}"""
        for channel in receiver.channels
    )
    http = f'http: {{listen: "127.0.0.1:{http_port}"}}\n' if http_port else ""
    body = textwrap.dedent(f"""\
        database: "{database}"
        defaults: {{interval: 2s, timeout: 2s}}
        sources:
          - id: ministry
            url: {ministry.server.url(ministry.path)}
        rules:
          - id: nato
            query: NATO
            channels: [{", ".join(receiver.channels)}]
        """)
    path.write_text(body + http + "channels:\n" + channels + "\n" + extra, encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    """(status, body) of a GET; a refused connection raises OSError (wait_until: not yet)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
