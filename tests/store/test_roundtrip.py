"""The store round-trips on SQLite and PostgreSQL, and its constraints hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from monitor.store.releases import save_releases
from monitor.store.session import open_store
from monitor.store.tables import AlertRow, SourceRow
from tests.conftest import Engines

T0 = datetime(2019, 3, 13, 7, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Values:
    identity: str
    title: str
    content: str
    content_hash: str
    summary: str = ""
    summary_raw: str = ""
    content_raw: str = ""
    url: str | None = "https://www.mofa.gov.qa/ar/1"
    published: datetime | None = T0
    published_raw: str | None = "Wed, 13 Mar 2019 10:00:00 +0300"
    language: str | None = "ar"
    author: str | None = None


async def _engine(url: str):  # type: ignore[no-untyped-def]
    engine = await open_store(url)
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(SourceRow).values(id="mofa", url="https://x/rss", kind="feed", created_at=T0)
        )
    return engine


async def test_new_and_revised_releases_flow_on_once(db_url: str, engines: Engines) -> None:
    engine = engines.adopt(await _engine(db_url))
    first = [
        Values("g1", "الناتو", "نص", "h1"),
        Values("g2", "cyber", "text", "h2"),
        Values("g1", "dup", "x", "hx"),
    ]
    flags = {"g1": True, "g2": True}
    search = {"g1": "ناتو", "g2": "cyber"}
    async with engine.begin() as conn:
        saved = await save_releases(
            conn, "mofa", first, moment=T0, alertable=flags, search_text=search
        )
    assert sorted((s.identity, s.revision) for s in saved) == [("g1", 1), ("g2", 1)]
    async with engine.begin() as conn:  # unchanged: nothing flows on
        again = await save_releases(
            conn, "mofa", first[:2], moment=T0, alertable=flags, search_text=search
        )
    assert again == []
    edited = [Values("g1", "الناتو", "نص معدل", "h1b"), Values("g2", "cyber", "text", "h2")]
    async with engine.begin() as conn:
        revised = await save_releases(
            conn,
            "mofa",
            edited,
            moment=T0 + timedelta(hours=1),
            alertable=flags,
            search_text=search,
        )
    assert [(s.identity, s.revision) for s in revised] == [("g1", 2)]
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.text(
                    "SELECT identity, content, revision, published_at FROM releases ORDER BY identity"
                )
            )
        ).all()
        superseded = (
            await conn.execute(
                sa.text("SELECT revision, content, content_hash FROM release_revisions")
            )
        ).all()
    assert [(r[0], r[1], r[2]) for r in rows] == [("g1", "نص معدل", 2), ("g2", "text", 1)]
    # only the version the revision replaced: current versions live in releases
    assert [tuple(r) for r in superseded] == [(1, "نص", "h1")]


async def test_one_alert_per_rule_story_channel(db_url: str, engines: Engines) -> None:
    engine = engines.adopt(await _engine(db_url))
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("INSERT INTO stories (id, created_at) VALUES (1, :t)"), {"t": T0}
        )
        await save_releases(
            conn,
            "mofa",
            [Values("g1", "t", "c", "h")],
            moment=T0,
            alertable={"g1": True},
            search_text={"g1": "t"},
        )
        release_id = (await conn.execute(sa.text("SELECT id FROM releases"))).scalar_one()
    row = {
        "rule_id": "nato",
        "story_id": 1,
        "channel_id": "ops",
        "release_id": release_id,
        "created_at": T0,
    }
    async with engine.begin() as conn:
        await conn.execute(sa.insert(AlertRow).values(id="a1", **row))
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(sa.insert(AlertRow).values(id="a2", **row))


async def test_timestamps_come_back_in_utc(db_url: str, engines: Engines) -> None:
    engine = engines.adopt(await _engine(db_url))
    async with engine.connect() as conn:
        created = (await conn.execute(sa.select(SourceRow.created_at))).scalar_one()
    assert created == T0 and created.tzinfo is not None
