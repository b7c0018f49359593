"""Group commit and batched source reads, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.store import polls
from monitor.store.coalesce import group_commit, source_reader
from monitor.store.tables import SOURCES, SourceRow
from tests.support.store import store_with_sources

T0 = datetime(2026, 11, 29, 7, 0, tzinfo=UTC)
IDS = [f"s{i:02d}" for i in range(30)]


async def _engine(url: str) -> AsyncEngine:
    return await store_with_sources(url, IDS, T0)


def _count_statements(engine: AsyncEngine, prefix: str) -> list[str]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(prefix):
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    return seen


def _commits(engine: AsyncEngine) -> list[int]:
    seen: list[int] = []
    event.listen(engine.sync_engine, "commit", lambda conn: seen.append(1))
    return seen


async def test_concurrent_loads_share_one_query(db_url: str) -> None:
    engine = await _engine(db_url)
    try:
        selects = _count_statements(engine, "SELECT")
        rows = await asyncio.gather(*(polls.load_state(engine, i) for i in IDS))
        assert [r.id for r in rows] == IDS
        assert all(r.url == f"https://{r.id}.example/rss" for r in rows)
        assert len(selects) == 1, selects
        # later, alone: its own query, still answered
        assert (await polls.load_state(engine, "s07")).id == "s07"
        assert len(selects) == 2
    finally:
        await engine.dispose()


async def test_a_missing_source_fails_only_its_own_load(db_url: str) -> None:
    engine = await _engine(db_url)
    try:
        good, missing = await asyncio.gather(
            source_reader(engine).load("s01"),
            source_reader(engine).load("nope"),
            return_exceptions=True,
        )
        assert isinstance(good, SourceRow) and good.id == "s01"
        assert isinstance(missing, LookupError) and "nope" in str(missing)
    finally:
        await engine.dispose()


async def test_concurrent_writes_commit_together_and_are_all_stored(db_url: str) -> None:
    engine = await _engine(db_url)
    try:
        commits = _commits(engine)
        await asyncio.gather(
            *(
                polls.record_failure(
                    engine, i, "me", kind="network", error=f"down {i}", next_poll_at=T0
                )
                for i in IDS
            )
        )
        # the first write goes alone; the others, queued meanwhile, go in one more
        assert len(commits) <= 3, commits
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.select(SOURCES.c.id, SOURCES.c.last_error))).all()
        assert sorted(rows) == [(i, f"down {i}") for i in IDS]
    finally:
        await engine.dispose()


async def test_a_failing_write_fails_only_its_caller(db_url: str) -> None:
    engine = await _engine(db_url)
    try:

        def setter(source_id: str, value: str):  # type: ignore[no-untyped-def]
            async def work(connection: AsyncConnection) -> None:
                await connection.execute(
                    sa.update(SOURCES).where(SOURCES.c.id == source_id).values(last_error=value)
                )

            return work

        async def broken(connection: AsyncConnection) -> None:
            await connection.execute(sa.text("UPDATE no_such_table SET x = 1"))

        group = group_commit(engine)
        results = await asyncio.gather(
            group.write(setter("s01", "one")),
            group.write(broken),
            group.write(setter("s02", "two")),
            return_exceptions=True,
        )
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], sa.exc.DBAPIError)
        async with engine.connect() as conn:
            stored = dict((await conn.execute(sa.select(SOURCES.c.id, SOURCES.c.last_error))).all())
        assert (stored["s01"], stored["s02"]) == ("one", "two")
    finally:
        await engine.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_works_again_on_a_new_event_loop(db_url: str) -> None:
    # the group's task belonged to a loop that is gone: the next write starts its own
    engine = await _engine(db_url)
    try:

        def other_loop() -> str:
            async def go() -> str:
                await polls.record_failure(
                    engine, "s03", "me", kind="network", error="x", next_poll_at=T0
                )
                return (await polls.load_state(engine, "s03")).last_error or ""

            return asyncio.run(go())

        await polls.record_failure(engine, "s04", "me", kind="network", error="y", next_poll_at=T0)
        assert await asyncio.to_thread(other_loop) == "x"
    finally:
        await engine.dispose()
