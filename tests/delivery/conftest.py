"""Fixtures for delivery tests: a store with queued alerts, real servers, a movable clock.

Alerts are written straight into the outbox (with a release, story and match each), so a
test says exactly which rule and channel an alert belongs to and when it was queued; the
``Deliverer`` under test then runs against the real webhook receiver and SMTP server.
"""

from __future__ import annotations

import contextlib
import json
import textwrap
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.load import load_config
from monitor.config.model import Config
from monitor.delivery import Deliverer, build_channels
from monitor.store.session import open_store, writing
from monitor.store.sources import sync_sources
from monitor.store.tables import ALERTS, MATCHES, RELEASES, STORIES
from tests.notify.smtp_server import SmtpServer
from tests.support.http_server import LoopbackServer

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
# a Tuesday 07:00 in Doha (UTC+3, no DST): an hour before "daily 08:00"
T0 = datetime(2024, 3, 12, 4, 0, tzinfo=UTC)


@dataclass
class Clock:
    at: datetime = T0

    def __call__(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta


def webhook_hook(server: LoopbackServer, *options: str) -> str:
    """The ``hook`` channel of ``write_config``'s rules: a webhook to the receiver's /hook,
    with these YAML options (``"digest: 1h"``, ...)."""
    lines = ["- id: hook", "  type: webhook", f"  url: {server.url('/hook')}"]
    return "\n".join([*lines, *(f"  {option}" for option in options)]) + "\n"


def write_config(tmp_path: Path, db_url: str, channels: str, extra: str = "") -> Config:
    text = f"""
    database: {db_url}
    timezone: Asia/Qatar
    sources:
      - id: mofa
        name: وزارة الخارجية
        url: https://mofa.example/rss
    rules:
      - id: nato
        name: NATO
        query: الناتو
        channels: [hook]
      - id: cyber
        name: Cyber
        query: cyber*
        channels: [hook]
      - id: terror
        name: Counter-terrorism
        query: terror*
        channels: [hook]
    """
    body = textwrap.dedent(text) + "channels:\n" + textwrap.indent(textwrap.dedent(channels), "  ")
    path = tmp_path / "monitor.yaml"
    path.write_text(body + textwrap.dedent(extra), encoding="utf-8")
    return load_config(path, environ_database=False)


@dataclass
class Store:
    engine: AsyncEngine
    config: Config
    clock: Clock = field(default_factory=Clock)
    _n: int = 0

    async def queue(self, rule: str, channel: str, title: str | None = None) -> str:
        """One alert, queued now (by the clock), for a new release; its id."""
        hits = [{"field": "title", "term": rule, "start": 0, "end": 3, "snippet": rule}]
        made = await self.queue_story([rule], [channel], title=title, hits={rule: hits})
        return made[(rule, channel)]

    async def queue_story(
        self,
        rules: Sequence[str],
        channels: Sequence[str],
        *,
        title: str | None = None,
        summary: str = "",
        hits: dict[str, Any] | None = None,
        published_at: datetime | None = None,
    ) -> dict[tuple[str, str], str]:
        """A new release (its own story) matched by each of ``rules`` (with ``hits[rule]``
        as its hits JSON), and an alert for each rule on each channel, queued now; the
        alerts' ids by (rule, channel)."""
        self._n += 1
        n, moment = self._n, self.clock()
        made: dict[tuple[str, str], str] = {}
        async with writing(self.engine) as conn:
            story = (
                await conn.execute(
                    insert(STORIES).values(created_at=moment).returning(STORIES.c.id)
                )
            ).scalar_one()
            release = (
                await conn.execute(
                    insert(RELEASES)
                    .values(
                        source_id="mofa",
                        identity=f"item-{n}",
                        story_id=story,
                        url=f"https://mofa.example/news/{n}",
                        title=title or f"{rules[0]} release {n}",
                        summary=summary,
                        content="",
                        language="en",
                        content_hash=f"h{n}",
                        matched_hash=f"h{n}",
                        revision=1,
                        first_seen_at=moment,
                        updated_at=moment,
                        published_at=published_at,
                        alertable=True,
                    )
                    .returning(RELEASES.c.id)
                )
            ).scalar_one()
            for rule in rules:
                rule_hits = (hits or {}).get(rule, [])
                match = (
                    await conn.execute(
                        insert(MATCHES)
                        .values(
                            rule_id=rule,
                            release_id=release,
                            story_id=story,
                            hits=json.dumps(rule_hits, ensure_ascii=False),
                            matched_at=moment,
                        )
                        .returning(MATCHES.c.id)
                    )
                ).scalar_one()
                for channel in channels:
                    alert_id = made[(rule, channel)] = uuid.uuid4().hex
                    await conn.execute(
                        insert(ALERTS).values(
                            id=alert_id,
                            rule_id=rule,
                            story_id=story,
                            channel_id=channel,
                            release_id=release,
                            match_id=match,
                            status="pending",
                            attempts=0,
                            created_at=moment,
                            next_attempt_at=moment,
                        )
                    )
        return made


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as c:
        yield c


async def open_test_store(config: Config) -> Store:
    engine = await open_store(config.database)
    await sync_sources(engine, config)
    return Store(engine, config)


def deliverer(store: Store, client: httpx.AsyncClient) -> Deliverer:
    channels = build_channels(store.config, client)
    return Deliverer(store.engine, store.config, channels, "test-owner", clock=store.clock)


@contextlib.asynccontextmanager
async def delivering(
    config: Config, client: httpx.AsyncClient
) -> AsyncIterator[tuple[Store, Deliverer]]:
    """The test store for ``config`` and a deliverer on it; the engine disposed after."""
    store = await open_test_store(config)
    try:
        yield store, deliverer(store, client)
    finally:
        await store.engine.dispose()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()
