"""Source rows from the config (``store.sources.sync_sources``), on SQLite and PostgreSQL:
a new source gets a row, an existing row keeps its polling state, a moved one forgets its
validators, and a removed one keeps its row."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.model import Config
from monitor.store.sources import source_ids, sync_sources
from monitor.store.tables import SOURCES
from tests.support.store import store_with_sources

T0 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def _config(**urls: str) -> Config:
    return Config(sources=[{"id": i, "url": url} for i, url in urls.items()])


async def _rows(engine: AsyncEngine) -> dict[str, tuple[str, str | None, str]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.select(SOURCES.c.id, SOURCES.c.url, SOURCES.c.etag, SOURCES.c.status)
        )
        return {i: (url, etag, status) for i, url, etag, status in rows.all()}


async def test_rows_follow_the_config_and_keep_their_state(db_url: str) -> None:
    engine = await store_with_sources(db_url, ["kept", "moved", "removed"], T0)
    try:
        async with engine.begin() as connection:
            await connection.execute(sa.update(SOURCES).values(etag='"v1"', status="ok"))
        config = _config(
            kept="https://kept.example/rss",
            moved="https://moved.example/new.xml",
            new="https://user:secret@new.example/rss",
        )
        await sync_sources(engine, config)
        await sync_sources(engine, config)  # again: nothing changes

        rows = await _rows(engine)
        assert rows["kept"] == ("https://kept.example/rss", '"v1"', "ok")
        assert rows["moved"] == ("https://moved.example/new.xml", None, "ok")
        assert rows["removed"] == ("https://removed.example/rss", '"v1"', "ok")
        url, etag, status = rows["new"]
        assert "secret" not in url and etag is None and status == "never"
        assert await source_ids(engine) == {"kept", "moved", "removed", "new"}
    finally:
        await engine.dispose()
