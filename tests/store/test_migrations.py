"""Migrations: a database made by the first migration, with rows, upgrades without loss."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from monitor.store.db import normalise_url
from monitor.store.migrate import HEAD, current_revision, ensure_schema, upgrade_sync
from monitor.store.session import open_store

MOMENT = datetime(2019, 3, 13, 7, 0, tzinfo=UTC)


def _sync(url: str) -> sa.Engine:
    return sa.create_engine(normalise_url(url, asynchronous=False))


async def test_upgrade_from_first_migration_keeps_rows(db_url: str) -> None:
    upgrade_sync(db_url, "0001")
    engine = _sync(db_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO sources (id, url, kind, created_at, status, consecutive_failures, baseline_done,"
                " items_seen, items_skipped) VALUES ('mofa', 'https://x/rss', 'feed', :t, 'ok', 0, true, 3, 0)"
            ),
            {"t": MOMENT},
        )
        conn.execute(sa.text("INSERT INTO stories (id, created_at) VALUES (1, :t)"), {"t": MOMENT})
        conn.execute(
            sa.text(
                "INSERT INTO releases (id, source_id, identity, story_id, title, summary, content, content_hash,"
                " revision, first_seen_at, updated_at, alertable) VALUES (1, 'mofa', 'guid-1', 1, 'الناتو', '',"
                " 'body', 'h1', 1, :t, :t, true)"
            ),
            {"t": MOMENT},
        )
        conn.execute(
            sa.text(
                "INSERT INTO alerts (id, rule_id, story_id, channel_id, release_id, status, attempts, created_at)"
                " VALUES ('a1', 'nato', 1, 'ops', 1, 'sent', 1, :t)"
            ),
            {"t": MOMENT},
        )
    engine.dispose()

    async_engine = await open_store(db_url, migrate=False)
    try:
        assert await current_revision(async_engine) == "0001"
        assert await ensure_schema(async_engine, db_url) is True
        assert await current_revision(async_engine) == HEAD
        assert await ensure_schema(async_engine, db_url) is False  # cheap: nothing to do
        async with async_engine.connect() as conn:
            title = (
                await conn.execute(sa.text("SELECT title FROM releases WHERE id = 1"))
            ).scalar_one()
            alert = (
                await conn.execute(sa.text("SELECT status FROM alerts WHERE id = 'a1'"))
            ).scalar_one()
            source = (await conn.execute(sa.text("SELECT items_seen FROM sources"))).scalar_one()
            bands = (await conn.execute(sa.text("SELECT count(*) FROM story_bands"))).scalar_one()
        assert (title, alert, source, bands) == ("الناتو", "sent", 3, 0)
    finally:
        await async_engine.dispose()


async def test_new_database_reaches_head(db_url: str) -> None:
    engine = await open_store(db_url)
    try:
        assert await current_revision(engine) == HEAD
    finally:
        await engine.dispose()
