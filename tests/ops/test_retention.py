"""Retention on SQLite and PostgreSQL: old rows go, references of kept alerts hold."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.model import Retention
from monitor.ops.retention import PruneCounts, prune
from monitor.store.tables import ALERTS, BANDS, MATCHES, RELEASES, REVISIONS, STORIES
from tests.ops.conftest import T0, add_rows, add_source

NOW = T0 + timedelta(days=400)
OLD, RECENT = T0, NOW - timedelta(days=10)


async def _ids(engine: AsyncEngine, table: sa.Table) -> set[object]:
    async with engine.connect() as connection:
        return set(
            (
                await connection.execute(sa.select(table.c[next(iter(table.primary_key)).name]))
            ).scalars()
        )


async def _archive(engine: AsyncEngine) -> None:
    """Stories 1-5; releases 1-6; an old alert (2) pruned, an old alert (4) still retrying.

    release 1  old, story 1, alert 'kept' (recent) refers to it      → stays
    release 2  old, story 1 (a copy of 1), no alert of its own        → goes (story 1 stays)
    release 3  old, story 2, its only alert 'gone' is old and sent    → goes, story 2 goes
    release 4  old, story 3, alert 'retrying' is old but failed       → stays
    release 5  recent, story 4                                        → stays
    release 6  old, story 5, matched, alert refers to the match only  → stays
    """
    await add_source(engine, "mofa")
    await add_rows(engine, STORIES, *({"id": i} for i in range(1, 6)))
    seen = {1: OLD, 2: OLD, 3: OLD, 4: OLD, 5: RECENT, 6: OLD}
    story = {1: 1, 2: 1, 3: 2, 4: 3, 5: 4, 6: 5}
    await add_rows(
        engine,
        RELEASES,
        *(
            {
                "id": i,
                "source_id": "mofa",
                "identity": f"g{i}",
                "story_id": story[i],
                "first_seen_at": seen[i],
            }
            for i in seen
        ),
    )
    await add_rows(engine, REVISIONS, *({"release_id": i, "revision": 1} for i in seen))
    await add_rows(
        engine, BANDS, *({"band_key": f"b{i}", "release_id": i, "story_id": story[i]} for i in seen)
    )
    await add_rows(
        engine, MATCHES, *({"id": i, "release_id": i, "story_id": story[i]} for i in seen)
    )
    await add_rows(
        engine,
        ALERTS,
        {"id": "kept", "story_id": 1, "release_id": 1, "match_id": 1, "created_at": RECENT},
        {"id": "gone", "story_id": 2, "release_id": 3, "match_id": 3, "created_at": OLD},
        {
            "id": "retrying",
            "story_id": 3,
            "release_id": 4,
            "match_id": 4,
            "status": "failed",
            "created_at": OLD,
        },
        {"id": "via-match", "story_id": 5, "release_id": 5, "match_id": 6, "created_at": RECENT},
    )


async def test_prune_keeps_what_kept_alerts_refer_to(engine: AsyncEngine) -> None:
    await _archive(engine)
    counts = await prune(
        engine, Retention(releases=timedelta(days=365), alerts=timedelta(days=90)), NOW
    )
    assert counts == PruneCounts(alerts=1, releases=2, revisions=2, matches=2, bands=2, stories=1)
    assert await _ids(engine, ALERTS) == {"kept", "retrying", "via-match"}
    assert await _ids(engine, RELEASES) == {1, 4, 5, 6}
    assert await _ids(engine, STORIES) == {1, 3, 4, 5}
    assert await _ids(engine, MATCHES) == {1, 4, 5, 6}
    async with engine.connect() as connection:
        bands = set((await connection.execute(sa.select(BANDS.c.release_id))).scalars())
        revisions = set((await connection.execute(sa.select(REVISIONS.c.release_id))).scalars())
    assert bands == revisions == {1, 4, 5, 6}
    # pruning again finds nothing more
    assert not await prune(
        engine, Retention(releases=timedelta(days=365), alerts=timedelta(days=90)), NOW
    )


async def test_no_retention_keeps_everything(engine: AsyncEngine) -> None:
    await _archive(engine)
    assert await prune(engine, Retention(), NOW) == PruneCounts()
    assert await _ids(engine, RELEASES) == {1, 2, 3, 4, 5, 6}


async def test_alerts_only_frees_nothing_while_releases_are_kept(engine: AsyncEngine) -> None:
    await _archive(engine)
    counts = await prune(engine, Retention(alerts=timedelta(days=90)), NOW)
    assert counts == PruneCounts(alerts=1)
    assert await _ids(engine, RELEASES) == {1, 2, 3, 4, 5, 6}


async def test_prune_in_batches(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    import monitor.ops.retention as retention

    monkeypatch.setattr(retention, "BATCH", 2)
    await add_source(engine, "mofa")
    await add_rows(engine, STORIES, *({"id": i} for i in range(1, 8)))
    await add_rows(
        engine,
        RELEASES,
        *({"id": i, "source_id": "mofa", "identity": f"g{i}", "story_id": i} for i in range(1, 8)),
    )
    counts = await prune(engine, Retention(releases=timedelta(days=1)), NOW)
    assert (counts.releases, counts.stories) == (7, 7)
