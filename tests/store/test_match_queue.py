"""Match steps of concurrent polls run together and report per source (SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.model import Document, Hit, RuleMatch
from monitor.store.match_queue import match_queue
from monitor.store.releases import save_releases
from monitor.store.tables import ALERTS, RELEASES
from tests.support.store import release, store_with_sources

T0 = datetime(2026, 11, 29, 7, 0, tzinfo=UTC)
SOURCES = ("a", "b", "c")


async def _engine(url: str) -> AsyncEngine:
    engine = await store_with_sources(url, SOURCES, T0)
    async with engine.begin() as conn:
        for n, source in enumerate(SOURCES, start=1):
            # source a: 1 release, b: 2, c: 3; every second one mentions NATO
            releases = [
                release(f"{source}{i}", "t", f"{'NATO' if i % 2 else 'Weather'} {source}{i}")
                for i in range(n)
            ]
            await save_releases(
                conn,
                source,
                releases,
                moment=T0,
                alertable={r.identity: True for r in releases},
                search_text={r.identity: r.title for r in releases},
            )
    return engine


def _nato(document: Document) -> list[RuleMatch]:
    if "NATO" not in document.title:
        return []
    return [RuleMatch("nato", (Hit("title", "NATO", 0, 4, "NATO"),))]


async def test_concurrent_polls_share_steps_and_get_their_own_counts(db_url: str) -> None:
    engine = await _engine(db_url)
    try:
        pending_queries: list[str] = []

        def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
            if "matched_hash" in statement and statement.lstrip().upper().startswith("SELECT"):
                pending_queries.append(statement)

        event.listen(engine.sync_engine, "before_cursor_execute", record)
        queue = match_queue(engine)
        results = await asyncio.gather(
            *(queue.step(s, _nato, lambda rule: ["log"]) for s in SOURCES)
        )
        by_source = dict(zip(SOURCES, results, strict=True))
        assert [(r.releases, r.matches, r.alerts) for r in results] == [
            (1, 0, 0),  # a0: Weather
            (2, 1, 1),  # b1
            (3, 1, 1),  # c1
        ], by_source
        # the first poll's step ran alone; the two that asked meanwhile shared the next
        assert len(pending_queries) <= 2, pending_queries
        async with engine.connect() as conn:
            left = (
                await conn.execute(
                    sa.select(sa.func.count()).where(RELEASES.c.matched_hash.is_(None))
                )
            ).scalar_one()
            alerts = (await conn.execute(sa.select(ALERTS.c.release_id))).all()
        assert left == 0 and len(alerts) == 2
    finally:
        await engine.dispose()


async def test_known_matches_are_used_and_the_rest_matched_here(db_url: str) -> None:
    engine = await _engine(db_url)
    try:
        asked: list[str] = []

        def counting(document: Document) -> list[RuleMatch]:
            asked.append(document.title)
            return _nato(document)

        known = {
            Document(
                title="NATO c1",
                content="t",
                source="c",
                url="https://ministry.example/c1",
                lang="ar",
            ): [RuleMatch("nato", (Hit("title", "NATO", 0, 4, "NATO"),))]
        }
        step = await match_queue(engine).step("c", counting, lambda rule: ["log"], known)
        assert (step.releases, step.matches) == (3, 1)
        assert sorted(asked) == ["Weather c0", "Weather c2"]  # c1 came from ``known``
    finally:
        await engine.dispose()


async def test_a_failing_step_fails_every_poll_waiting_on_it(db_url: str) -> None:
    engine = await _engine(db_url)
    try:

        def broken(document: Document) -> list[RuleMatch]:
            raise RuntimeError("matcher exploded")

        results = await asyncio.gather(
            *(match_queue(engine).step(s, broken, lambda rule: []) for s in SOURCES),
            return_exceptions=True,
        )
        assert all(isinstance(r, RuntimeError) for r in results), results
        # nothing was marked matched: the next poll picks every release up again
        async with engine.connect() as conn:
            left = (
                await conn.execute(
                    sa.select(sa.func.count()).where(RELEASES.c.matched_hash.is_(None))
                )
            ).scalar_one()
        assert left == 6
        again = await match_queue(engine).step("a", _nato, lambda rule: [])
        assert again.releases == 1
    finally:
        await engine.dispose()
