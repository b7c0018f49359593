"""What a match stores is bounded too: the first hits as the JSON list every reader knows
(``Hit(**h)`` for each), and their total in ``matches.hit_count`` (issue 22.2)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa

from monitor.model import Hit
from monitor.rules.evaluate import MAX_HITS
from monitor.rules.matcher import RuleSpec, compile_rules
from monitor.store.matching import match_pending
from monitor.store.releases import save_releases
from monitor.store.tables import MATCHES
from tests.conftest import Engines
from tests.support.store import release, store_with_sources

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
MATCHER = compile_rules([RuleSpec("nato", "NATO", "NATO")], {})


async def test_a_match_stores_its_first_hits_and_their_total(db_url: str, engines: Engines) -> None:
    engine = engines.adopt(await store_with_sources(db_url, ("ministry",), T0))
    releases = [release("many", "NATO " * 5_000), release("one", "NATO once")]
    async with engine.begin() as connection:
        await save_releases(
            connection,
            "ministry",
            releases,
            moment=T0,
            alertable={r.identity: True for r in releases},
            search_text={r.identity: "nato" for r in releases},
        )
    await match_pending(engine, MATCHER.match, lambda _: ())
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                sa.select(MATCHES.c.hits, MATCHES.c.hit_count).order_by(MATCHES.c.hit_count)
            )
        ).all()
    (one, one_count), (many, many_count) = rows
    assert (one_count, many_count) == (1, 5_000)
    hits = [Hit(**h) for h in json.loads(many)]  # as the outbox reads them
    assert len(hits) == MAX_HITS and hits[0] == Hit("content", "NATO", 0, 4, hits[0].snippet)
    assert len(many) < 40_000  # not 5,000 hits with a snippet each
    assert [Hit(**h).term for h in json.loads(one)] == ["NATO"]
