"""``sources.release_count`` (migration 0012): counted at the upgrade, then kept by the
database's triggers through inserts, upserts and deletes (both databases)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import sqlalchemy as sa

from monitor.store.db import normalise_url
from monitor.store.migrate import upgrade_sync
from monitor.store.session import insert
from monitor.store.tables import RELEASES, SOURCES
from tests.conftest import Engines

AT = datetime(2019, 3, 13, 7, 0, tzinfo=UTC)


def _release(n: int, source: str) -> dict[str, object]:
    return {
        "source_id": source,
        "identity": f"i{n}",
        "title": "t",
        "summary": "",
        "content": "",
        "content_hash": "h",
        "first_seen_at": AT,
        "updated_at": AT,
    }


async def _counts(engine: sa.ext.asyncio.AsyncEngine) -> dict[str, int]:
    async with engine.connect() as connection:
        rows = await connection.execute(sa.select(SOURCES.c.id, SOURCES.c.release_count))
        return {row.id: row.release_count for row in rows}


async def test_the_upgrade_counts_and_the_triggers_keep_counting(
    db_url: str, engines: Engines
) -> None:
    await asyncio.to_thread(upgrade_sync, db_url, "0011")
    old = sa.create_engine(normalise_url(db_url, asynchronous=False))
    try:
        with old.begin() as connection:
            for source in ("a", "b", "c"):
                connection.execute(
                    sa.text(
                        "INSERT INTO sources (id, url, kind, created_at, status,"
                        " consecutive_failures, baseline_done, items_seen, items_skipped)"
                        " VALUES (:id, 'https://x/rss', 'feed', :t, 'ok', 0, true, 0, 0)"
                    ),
                    {"id": source, "t": AT.replace(tzinfo=None)},
                )
            connection.execute(
                sa.text(
                    "INSERT INTO releases (source_id, identity, title, summary, content,"
                    " content_hash, revision, first_seen_at, updated_at, alertable)"
                    " VALUES (:s, :i, 't', '', '', 'h', 1, :t, :t, true)"
                ),
                [
                    {"s": s, "i": f"old{n}", "t": AT.replace(tzinfo=None)}
                    for s, n in (("a", 1), ("a", 2), ("b", 1))
                ],
            )
    finally:
        old.dispose()
    engine = await engines.open(db_url)  # upgrades to 0012 and counts
    assert await _counts(engine) == {"a": 2, "b": 1, "c": 0}
    async with engine.begin() as connection:
        await connection.execute(
            sa.insert(RELEASES), [_release(n, "a") for n in range(5)] + [_release(9, "c")]
        )
        # an upsert that updates a stored release adds nothing; its new row adds one
        upsert = insert(engine, RELEASES).on_conflict_do_update(
            index_elements=["source_id", "identity"], set_={"title": "again"}
        )
        await connection.execute(upsert, [_release(1, "a"), _release(7, "b")])
        await connection.execute(
            sa.delete(RELEASES).where(RELEASES.c.identity == "old1", RELEASES.c.source_id == "a")
        )
    assert await _counts(engine) == {"a": 6, "b": 2, "c": 1}
    async with engine.begin() as connection:  # retention removes whole ranges
        await connection.execute(sa.delete(RELEASES).where(RELEASES.c.source_id != "c"))
    assert await _counts(engine) == {"a": 0, "b": 0, "c": 1}
