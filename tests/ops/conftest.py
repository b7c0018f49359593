"""A fresh store for the operations tests (migrations applied, ``alarms`` included)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store.tables import SOURCES
from tests.conftest import Engines

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def engine(db_url: str, engines: Engines) -> AsyncEngine:
    return await engines.open(db_url)


async def add_source(
    engine: AsyncEngine, source_id: str, kind: str = "feed", **state: object
) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            sa.insert(SOURCES).values(
                id=source_id,
                url=f"https://{source_id}.example/rss",
                kind=kind,
                created_at=T0,
                **state,
            )
        )


async def add_rows(engine: AsyncEngine, table: sa.Table, *rows: dict[str, object]) -> None:
    """Insert rows, filling the NOT NULL columns a test does not care about."""
    defaults: dict[str, dict[str, object]] = {
        "stories": {"created_at": T0},
        "releases": {
            "title": "t",
            "summary": "",
            "content": "",
            "content_hash": "h",
            "revision": 1,
            "first_seen_at": T0,
            "updated_at": T0,
            "alertable": True,
        },
        "release_revisions": {
            "title": "t",
            "summary": "",
            "content": "",
            "content_hash": "h",
            "seen_at": T0,
        },
        "matches": {"rule_id": "nato", "hits": "[]", "matched_at": T0},
        "story_bands": {"first_seen_at": T0},
        "alerts": {
            "rule_id": "nato",
            "channel_id": "hook",
            "status": "sent",
            "attempts": 1,
            "created_at": T0,
        },
    }
    async with engine.begin() as connection:
        for row in rows:
            await connection.execute(
                sa.insert(table).values({**defaults.get(table.name, {}), **row})
            )
