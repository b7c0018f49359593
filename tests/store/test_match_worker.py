"""The match worker uses a parse worker's hits only for the version and the rules they were
found for; anything else is matched again, with the rules in force. On SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from monitor.match_worker import Found, MatchWorker
from monitor.model import Document, Hit, RuleMatch
from monitor.store.releases import store_releases
from monitor.store.tables import MATCHES, RELEASES
from tests.support.store import release, store_with_sources

T0 = datetime(2026, 11, 29, 7, 0, tzinfo=UTC)
WORKER_HIT = RuleMatch("worker", (Hit("title", "t", 0, 1, "t"),), 1)


class Here:
    """The runtime's matcher: finds rule ``here`` in every release, counting the calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, document: Document) -> Sequence[RuleMatch]:
        self.calls += 1
        return [RuleMatch("here", (Hit("title", "t", 0, 1, "t"),), 1)]


@pytest.mark.parametrize(
    ("hash_matches", "key", "expected", "calls"),
    [
        pytest.param(True, "k1", "worker", 0, id="current"),
        pytest.param(False, "k1", "here", 1, id="another-version"),
        pytest.param(True, "k0", "here", 1, id="rules-reloaded-since"),
    ],
)
async def test_the_worker_hits_are_used_only_when_current(
    db_url: str, hash_matches: bool, key: str, expected: str, calls: int
) -> None:
    engine = await store_with_sources(db_url, ["m"], T0)
    try:
        stored = release("g1", "نص")
        saved = await store_releases(
            engine, "m", [stored], moment=T0, alertable={"g1": False}, search_text={"g1": ""}
        )
        [row] = saved.saved
        here = Here()
        worker = MatchWorker(engine, here, lambda rule: (), lambda: "k1")
        content_hash = stored.content_hash if hash_matches else "an earlier version"
        worker.add({row.id: Found(content_hash, key, (WORKER_HIT,))})
        step = await worker.drain()
        assert (step.releases, step.matches, here.calls) == (1, 1, calls)
        async with engine.connect() as connection:
            rules = (await connection.execute(sa.select(MATCHES.c.rule_id))).scalars().all()
            pending = (
                await connection.execute(
                    sa.select(sa.func.count()).where(
                        RELEASES.c.matched_hash.is_distinct_from(RELEASES.c.content_hash)
                    )
                )
            ).scalar_one()
        assert rules == [expected] and pending == 0
        assert (await worker.drain()).releases == 0  # nothing left: the hits went with it
    finally:
        await engine.dispose()
