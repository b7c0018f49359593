"""What ``monitor sources`` no longer pays for (issue 23): a write transaction to sync rows
that already match the config, and the PostgreSQL dialect's import on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.model import Config
from monitor.store.sources import sync_sources
from monitor.store.tables import SOURCES
from tests.support.store import store_with_sources

T0 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def _trace(engine: AsyncEngine) -> list[str]:
    """The statements and transaction ends the engine sees from now on."""
    seen: list[str] = []
    sync = engine.sync_engine
    event.listen(sync, "before_cursor_execute", lambda *a: seen.append(a[2].split()[0]))
    event.listen(sync, "commit", lambda *_: seen.append("COMMIT"))
    return seen


async def test_rows_that_match_are_read_once_and_not_written(db_url: str) -> None:
    engine = await store_with_sources(db_url, ["a", "b"], T0)
    try:
        config = Config(
            sources=[
                {"id": "a", "url": "https://a.example/rss"},
                {"id": "b", "url": "https://b.example/rss"},
            ]
        )
        seen = _trace(engine)
        await sync_sources(engine, config)
        assert seen == ["SELECT"]  # no write transaction, no commit

        moved = Config(
            sources=[
                {"id": "a", "url": "https://a.example/rss"},
                {"id": "b", "url": "https://b.example/new.xml"},
                {"id": "c", "url": "https://c.example/rss"},
            ]
        )
        seen.clear()
        await sync_sources(engine, moved)
        assert seen == ["SELECT", "SELECT", "INSERT", "UPDATE", "COMMIT"]
        async with engine.connect() as connection:
            rows = dict((await connection.execute(sa.select(SOURCES.c.id, SOURCES.c.url))).all())
        assert rows == {
            "a": "https://a.example/rss",
            "b": "https://b.example/new.xml",
            "c": "https://c.example/rss",
        }
    finally:
        await engine.dispose()
