"""What a poll's writes cost the PostgreSQL server, counted by the server itself
(``pg_stat_statements``, when the server preloads it; skipped otherwise): the claim and the
group commit's outcomes are one statement each, without the BEGIN and COMMIT psycopg
would wrap them in (issue 23: two round trips of four for each)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bench import pg_statements
from monitor.store import outbox, polls
from tests.conftest import PG_ADMIN_URL
from tests.support.store import store_with_sources

T0 = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
IDS = [f"s{i:02d}" for i in range(20)]


def _counts(database: str) -> Counter[str]:
    """Calls by the statement's first word (BEGIN, UPDATE, …)."""
    counts: Counter[str] = Counter()
    for statement in pg_statements.read(database, PG_ADMIN_URL):
        counts[statement.query.split()[0].upper()] += statement.calls
    return counts


async def test_a_claim_and_its_outcomes_send_no_begin_or_commit(pg_url: str) -> None:
    why = pg_statements.available(PG_ADMIN_URL)
    if why:
        pytest.skip(why)
    engine = await store_with_sources(pg_url, IDS, T0)
    try:
        async with engine.connect() as connection:
            database = (await connection.execute(sa.text("SELECT current_database()"))).scalar()
        assert database
        pg_statements.reset(database, PG_ADMIN_URL)
        claimed = await polls.claim_due_sources(
            engine, "me", lease=timedelta(minutes=5), limit=50, force=True
        )
        outcome = polls.Success(T0, None, None, None, None)
        await asyncio.gather(*(polls.record_success(engine, s.id, "me", outcome) for s in claimed))
        await outbox.claim_due(engine, "hook", "me", lease=timedelta(seconds=30))
        counts = _counts(database)
    finally:
        await engine.dispose()
    assert len(claimed) == len(IDS)
    assert "BEGIN" not in counts and "COMMIT" not in counts, counts
    # the claim, the outcomes (at most two groups: the first may go alone), the outbox's claim
    assert counts.get("UPDATE", 0) <= 4, counts


def test_the_reader_skips_without_the_extension() -> None:
    # a server without the library preloaded, or an admin database without the extension
    assert pg_statements.available("postgresql://postgres@127.0.0.1:1/none") is not None
    assert pg_statements.read("anything", "postgresql://postgres@127.0.0.1:1/none") == []
    assert pg_statements.reset("anything", "postgresql://postgres@127.0.0.1:1/none") is False
