"""The console's test bench: a ministry on loopback, a webhook receiver, an archive polled
by the real pipeline, and the console app on that store (ASGI in-process, or served by a
real `monitor run`).

Secrets are planted in the config (an SMTP password, a webhook signing secret, user names
and passwords in URLs, a token in a webhook's path) so that the crawl tests can grep every
response for them.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.load import load_config
from monitor.config.model import Config
from monitor.console.app import build_app
from monitor.console.context import ConsoleContext
from monitor.console.passwords import hash_password
from monitor.delivery import build_channels
from monitor.store import people
from monitor.store.session import open_store
from monitor.store.sources import sync_sources
from tests.conftest import SEED_RELEASE
from tests.support.feeds import UNRELATED, Item, rss
from tests.support.http_server import LoopbackServer, Request, Response

SMTP_PASSWORD = "smtp-Pa55word-never-shown"
WEBHOOK_SECRET = "whsec_c2VjcmV0LXNpZ25pbmcta2V5LW5ldmVyLXNob3du"
HOOK_PATH_TOKEN = "T0KEN-in-the-hook-path"
URL_PASSWORD = "url-pa55-never-shown"
FEED_PASSWORD = "feed-pa55-never-shown"
APPRISE_TOKEN = "apprise-T0PIC-never-shown"
SECRETS = (
    SMTP_PASSWORD,
    WEBHOOK_SECRET,
    HOOK_PATH_TOKEN,
    URL_PASSWORD,
    FEED_PASSWORD,
    APPRISE_TOKEN,
)
PASSWORD = "correct horse battery"
PUBLISHED = datetime(2019, 3, 13, 10, 0, tzinfo=UTC)

HOSTILE_TITLES = (
    "<script>alert('title')</script> NATO",
    '"><img src=x onerror=alert(1)> NATO',
    "\u202eNATO gnp.exe \u202c override",
    "A<B and C>D NATO",
)


def seed_release() -> tuple[str, str]:
    """(title, body) of the seed release; skips the test when the corpus is missing."""
    if not SEED_RELEASE.is_file():
        pytest.skip(f"the shared corpus is missing: {SEED_RELEASE}")
    lines = [line.strip() for line in SEED_RELEASE.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line]
    return lines[0], "\n\n".join(lines[1:])


def ministry_feed(items: int = 0) -> bytes:
    """The ministry: the seed release, unrelated news, ``items`` more."""
    title, body = seed_release()
    entries = [Item("seed", title, body, "https://mofa.example/ar/nato", PUBLISHED)]
    for n, (t, b) in enumerate(UNRELATED):
        entries.append(
            Item(
                f"other-{n}", t, b, f"https://mofa.example/o{n}", PUBLISHED - timedelta(hours=n + 1)
            )
        )
    for n in range(items):
        entries.append(
            Item(
                f"bulk-{n}",
                f"Bulletin {n}",
                f"Routine bulletin number {n}.",
                f"https://mofa.example/b{n}",
                PUBLISHED - timedelta(days=1, minutes=n),
            )
        )
    return rss(entries, title="وزارة الخارجية")


def wire_feed() -> bytes:
    """A JSON Feed whose titles are hostile text: a JSON Feed title is plain text, so the
    archive holds them exactly as ``HOSTILE_TITLES`` (a title is text, SPEC section 4)."""
    items = [
        {
            "id": f"hostile-{n}",
            "title": hostile,
            "content_text": f"Wire item {n} about NATO.",
            "url": f"https://wire.example/{n}",
            "date_published": (PUBLISHED + timedelta(minutes=n + 1)).isoformat(),
        }
        for n, hostile in enumerate(HOSTILE_TITLES)
    ]
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "Wire", "items": items}
    return json.dumps(feed).encode("utf-8")


def agency_feed() -> bytes:
    """A news agency that re-publishes the seed release: a copy, the same story."""
    title, body = seed_release()
    return rss(
        [Item("qna-1", title + " (قنا)", body, "https://qna.example/nato", PUBLISHED)],
        title="QNA",
    )


@dataclass
class Bench:
    """A loopback ministry, agency and webhook receiver; ``hook_ok`` switches the receiver."""

    server: LoopbackServer
    hook_ok: bool = False

    def receive(self, request: Request) -> Response:
        return Response(200 if self.hook_ok else 500, b"ok" if self.hook_ok else b"down")

    @property
    def hook_path(self) -> str:
        return f"/hook/{HOOK_PATH_TOKEN}"

    def hook_requests(self) -> list[Request]:
        with self.server._lock:
            return [r for r in self.server.requests if r.path.split("?")[0] == self.hook_path]


@pytest.fixture
def bench(http_server: LoopbackServer) -> Bench:
    bench = Bench(http_server)
    http_server.route(
        "/ministry.xml", Response(200, ministry_feed(), {"content-type": "application/rss+xml"})
    )
    http_server.route(
        "/agency.xml", Response(200, agency_feed(), {"content-type": "application/rss+xml"})
    )
    http_server.route(
        "/wire.json", Response(200, wire_feed(), {"content-type": "application/feed+json"})
    )
    http_server.route(bench.hook_path, bench.receive)
    return bench


def config_text(
    db_url: str,
    server: LoopbackServer,
    *,
    listen: str = "127.0.0.1:8080",
    extra_console: str = "",
    interval: str = "1h",
) -> str:
    port = server.port
    return textwrap.dedent(
        f"""
        database: "{db_url}"
        timezone: Asia/Qatar
        defaults:
          interval: {interval}
        sources:
          - id: mofa-ar
            name: وزارة الخارجية
            url: "http://feeduser:{FEED_PASSWORD}@127.0.0.1:{port}/ministry.xml"
            language: ar
          - id: wire
            name: Wire
            url: "http://127.0.0.1:{port}/wire.json"
            language: en
          - id: qna
            name: QNA
            url: "http://127.0.0.1:{port}/agency.xml"
            language: ar
        rules:
          - id: nato
            name: NATO
            query: 'NATO OR الناتو OR "حلف شمال الأطلسي"'
            channels: [hook]
          - id: japan
            name: Japan
            query: 'اليابان OR Japan'
            channels: [log]
        channels:
          - id: hook
            type: webhook
            url: "http://hookuser:{URL_PASSWORD}@127.0.0.1:{port}/hook/{HOOK_PATH_TOKEN}?sig={HOOK_PATH_TOKEN}"
            secret: "{WEBHOOK_SECRET}"
            timeout: 5s
            retry: {{initial: 1h, max: 1h, give_up_after: 24h}}
          - id: mail
            type: email
            to: [desk@example.org]
            from: monitor@example.org
            smtp: {{host: 127.0.0.1, port: 1, tls: none, username: desk, password: "{SMTP_PASSWORD}"}}
          - id: phones
            type: apprise
            urls: ["ntfy://desk:{APPRISE_TOKEN}@ntfy.example.org/{APPRISE_TOKEN}"]
          - id: log
            type: log
        console:
          listen: "{listen}"
        {extra_console}
        """
    )


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(text, encoding="utf-8")
    return path


async def poll_all(config: Config) -> None:
    """One poll of each source through the real pipeline, as one `monitor poll --source ID
    --backfill` each: every alert is tried once and fails (the receiver is down). In one
    run, the hook channel would back off after three failures in a row and hold the rest
    back, pending (``notify.breaker``)."""
    from monitor.poll_driver import poll_once

    for source in config.sources:
        await poll_once(config, [source.id], False, timedelta(days=365 * 30))


async def add_user(engine: AsyncEngine, name: str, role: str, password: str = PASSWORD) -> None:
    await people.add_user(engine, name, role, hash_password(password), actor="test")


@dataclass
class Console:
    """The console app on a store, and an HTTP client for it (in-process ASGI)."""

    config: Config
    engine: AsyncEngine
    app: object
    channels_client: httpx.AsyncClient

    def client(self, address: str = "127.0.0.1") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(address, 50000))  # type: ignore[arg-type]
        return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080")


async def open_console(config: Config) -> Console:
    engine = await open_store(config.database)
    await sync_sources(engine, config)
    client = httpx.AsyncClient()
    ctx = ConsoleContext(engine, lambda: config, lambda: build_channels(config, client))
    return Console(config, engine, build_app(ctx), client)


async def close_console(console: Console) -> None:
    await console.channels_client.aclose()
    await console.engine.dispose()


@pytest.fixture
async def archive_config(tmp_path: Path, db_url: str, bench: Bench) -> Config:
    """A config on ``db_url`` whose archive was polled once: the seed release (and the
    agency's copy), hostile titles, unrelated news; the NATO alerts failed (receiver down)."""
    config = load_config(write_config(tmp_path, config_text(db_url, bench.server)))
    await poll_all(config)
    return config


@pytest.fixture
async def console(archive_config: Config) -> AsyncIterator[Console]:
    found = await open_console(archive_config)
    for name, role in (("ada", "admin"), ("eve", "editor"), ("vic", "viewer")):
        await add_user(found.engine, name, role)
    try:
        yield found
    finally:
        await close_console(found)


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, name: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token (from the next page)."""
    form = await client.get("/login")
    response = await client.post(
        "/login",
        data={"username": name, "password": password, "csrf": csrf_of(form.text), "next": "/"},
    )
    assert response.status_code == 303, response.text
    home = await client.get("/")
    assert home.status_code == 200
    return csrf_of(home.text)


SCREENSHOTS: list[Path] = []  # directories the browser tests wrote, printed at the end


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for directory in SCREENSHOTS:
        terminalreporter.write_line(f"console screenshots: {directory}")
