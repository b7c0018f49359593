"""Group commit of poll outcomes, and the claim that hands a poll its source's state, on
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.store import polls
from monitor.store.group_commit import group_commit
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


async def _row(engine: AsyncEngine, source_id: str) -> SourceRow:
    """The source's whole row (the claim returns only what a poll needs)."""
    async with engine.connect() as conn:
        row = (await conn.execute(sa.select(SOURCES).where(SOURCES.c.id == source_id))).one()
    return SourceRow.model_validate(row._mapping)


def _commits(engine: AsyncEngine) -> list[int]:
    seen: list[int] = []
    event.listen(engine.sync_engine, "commit", lambda conn: seen.append(1))
    return seen


async def test_the_claim_hands_over_each_source_state(db_url: str) -> None:
    from datetime import timedelta

    engine = await _engine(db_url)
    try:
        await polls.record_failure(engine, "s07", "me", kind="network", error="x", next_poll_at=T0)
        claimed = await polls.claim_due_sources(
            engine, "me", lease=timedelta(minutes=5), limit=50, force=True
        )
        assert sorted(state.id for state in claimed) == IDS
        state = next(s for s in claimed if s.id == "s07")
        assert state.consecutive_failures == 1 and not state.baseline_done
        assert state.etag is None and state.body_sha256 is None
        again = await polls.claim_due_sources(
            engine, "other", lease=timedelta(minutes=5), limit=50, force=True
        )
        assert again == []  # leased: nobody else gets them
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
                row = await _row(engine, "s03")
                return f"{row.last_error}:{row.consecutive_failures}"

            return asyncio.run(go())

        await polls.record_failure(engine, "s04", "me", kind="network", error="y", next_poll_at=T0)
        assert await asyncio.to_thread(other_loop) == "x:1"
    finally:
        await engine.dispose()


def _success(seen: int | None, warning: str | None = None, moved_to: str | None = None):  # type: ignore[no-untyped-def]
    return polls.Success(
        next_poll_at=T0,
        etag='"e1"',
        last_modified=None,
        body_sha256="ab" * 32,
        warning=warning,
        items_seen=seen,
        items_skipped=None if seen is None else 1,
        moved_to=moved_to,
    )


async def test_outcomes_recorded_together_are_one_executemany(db_url: str) -> None:
    engine = await _engine(db_url)
    try:
        updates = _count_statements(engine, "UPDATE")
        await polls.record_success(engine, IDS[0], "me", _success(5))  # alone: the first
        await asyncio.gather(
            *(polls.record_success(engine, i, "me", _success(7)) for i in IDS[1:20]),
            *(
                polls.record_failure(engine, i, "me", kind="http", error="503", next_poll_at=T0)
                for i in IDS[20:]
            ),
        )
        # one statement for the first, then one per kind of outcome for the 29 queued
        assert len(updates) <= 3, updates
        async with engine.connect() as conn:
            rows = dict((await conn.execute(sa.select(SOURCES.c.id, SOURCES.c.status))).all())
        assert rows == {i: "ok" if i in IDS[:20] else "failing" for i in IDS}
    finally:
        await engine.dispose()


async def test_an_unchanged_body_keeps_the_counts_warning_and_new_address(db_url: str) -> None:
    engine = await _engine(db_url)
    try:
        moved = "https://s01.example/new-rss"
        await polls.record_success(engine, "s01", "me", _success(9, "1 of 9 skipped", moved))
        await polls.record_success(engine, "s01", "me", _success(None))  # a 304
        row = await _row(engine, "s01")
        assert (row.items_seen, row.items_skipped, row.last_warning, row.moved_to) == (
            9,
            1,
            "1 of 9 skipped",
            moved,
        )
        # a new body parsed: its counts, and its warning even when it has none
        await polls.record_success(engine, "s01", "me", _success(4))
        row = await _row(engine, "s01")
        assert (row.items_seen, row.last_warning, row.moved_to) == (4, None, moved)
        assert row.status == "ok" and row.baseline_done and row.lease_owner is None
    finally:
        await engine.dispose()


async def test_an_outcome_does_not_touch_a_row_another_instance_leased(db_url: str) -> None:
    engine = await _engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.update(SOURCES).where(SOURCES.c.id == "s02").values(lease_owner="other")
            )
        await asyncio.gather(
            polls.record_success(engine, "s02", "me", _success(3)),
            polls.record_success(engine, "s03", "me", _success(3)),
        )
        two = await _row(engine, "s02")
        three = await _row(engine, "s03")
        assert (two.lease_owner, two.status, two.items_seen) == ("other", "never", 0)
        assert (three.status, three.items_seen) == ("ok", 3)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_on_postgresql_outcomes_together_are_one_statement_not_one_per_row(
    db_url: str,
) -> None:
    # an executemany is one statement a row on the server (psycopg's pipeline); the arrays
    # form is one, whatever the rows, and each row gets its own values
    engine = await _engine(db_url)
    try:
        await polls.record_failure(engine, "s29", "me", kind="http", error="500", next_poll_at=T0)
        sent: list[tuple[str, bool]] = []

        def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            if statement.lstrip().upper().startswith("UPDATE SOURCES"):
                sent.append((statement, executemany))

        event.listen(engine.sync_engine, "before_cursor_execute", record)
        later = T0.replace(hour=9)
        await asyncio.gather(
            *(polls.record_success(engine, i, "me", _success(int(i[1:]))) for i in IDS[:10]),
            *(polls.record_success(engine, i, "me", _success(None)) for i in IDS[10:20]),
            *(
                polls.record_failure(
                    engine, i, "me", kind="http", error=f"50{i}", next_poll_at=later
                )
                for i in IDS[20:]
            ),
        )
        assert len(sent) <= 2 and not any(many for _, many in sent), sent
        assert all("unnest" in statement for statement, _ in sent), sent
        async with engine.connect() as conn:
            rows = {
                row.id: row
                for row in await conn.execute(
                    sa.select(
                        SOURCES.c.id,
                        SOURCES.c.status,
                        SOURCES.c.items_seen,
                        SOURCES.c.last_error,
                        SOURCES.c.consecutive_failures,
                        SOURCES.c.next_poll_at,
                    )
                )
            }
        assert [rows[i].items_seen for i in IDS[:10]] == list(range(10))
        assert {rows[i].items_seen for i in IDS[10:20]} == {0}  # a 304 keeps the counts
        assert [rows[i].last_error for i in IDS[20:]] == [f"50{i}" for i in IDS[20:]]
        assert rows["s29"].consecutive_failures == 2 and rows["s28"].consecutive_failures == 1
        assert {rows[i].next_poll_at for i in IDS[20:]} == {later}
        assert {rows[i].status for i in IDS[:20]} == {"ok"}
    finally:
        await engine.dispose()
