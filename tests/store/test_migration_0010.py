"""Migration 0010: ``matches.hit_count`` and ``alarms.channel_id`` added and dropped, with
every row kept."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from monitor.store.db import normalise_url
from monitor.store.migrate import upgrade_sync
from tests.store.test_migrations import _downgrade

MOMENT = datetime(2019, 3, 13, 7, 0, tzinfo=UTC)
HITS = '[{"field": "title", "term": "NATO", "start": 0, "end": 4, "snippet": "NATO"}]'


def _columns(engine: sa.Engine, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns(table)}


async def test_0010_counts_hits_addresses_flood_notices_and_keeps_the_rows(db_url: str) -> None:
    upgrade_sync(db_url, "0009")
    engine = sa.create_engine(normalise_url(db_url, asynchronous=False))
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO sources (id, url, kind, created_at, status, consecutive_failures,"
                " baseline_done, items_seen, items_skipped)"
                " VALUES ('mofa', 'https://x/rss', 'feed', :t, 'ok', 0, true, 1, 0)"
            ),
            {"t": MOMENT},
        )
        conn.execute(
            sa.text(
                "INSERT INTO releases (id, source_id, identity, title, summary, content,"
                " content_hash, revision, first_seen_at, updated_at, alertable)"
                " VALUES (1, 'mofa', 'g1', 'NATO', '', '', 'h', 1, :t, :t, true)"
            ),
            {"t": MOMENT},
        )
        conn.execute(
            sa.text(
                "INSERT INTO matches (id, rule_id, release_id, hits, matched_at)"
                " VALUES (1, 'nato', 1, :h, :t)"
            ),
            {"h": HITS, "t": MOMENT},
        )
        conn.execute(
            sa.text(
                "INSERT INTO alarms (id, source_id, kind, detail, raised_at)"
                " VALUES (1, 'mofa', 'failing', 'failing for 2h', :t)"
            ),
            {"t": MOMENT},
        )
    query = "SELECT id, rule_id, hits, hit_count FROM matches"
    alarms = "SELECT id, kind, channel_id FROM alarms"
    try:
        upgrade_sync(db_url)
        with engine.connect() as conn:
            # written before: no count, as many hits as the list holds
            assert [tuple(r) for r in conn.execute(sa.text(query))] == [(1, "nato", HITS, None)]
            # an episode for the alarm channels, as before
            assert [tuple(r) for r in conn.execute(sa.text(alarms))] == [(1, "failing", None)]
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO alarms (id, source_id, kind, channel_id, detail, raised_at,"
                    " cleared_at, recovery_notified_at)"
                    " VALUES (2, 'mofa', 'flood', 'ops', '60 new releases', :t, :t, :t)"
                ),
                {"t": MOMENT},
            )
        _downgrade(db_url, "0009")
        assert "hit_count" not in _columns(engine, "matches")
        assert "channel_id" not in _columns(engine, "alarms")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT hits FROM matches")).scalar_one() == HITS
            assert [r[0] for r in conn.execute(sa.text("SELECT id FROM alarms"))] == [1, 2]
        upgrade_sync(db_url)
        assert "hit_count" in _columns(engine, "matches")
        assert "channel_id" in _columns(engine, "alarms")
    finally:
        engine.dispose()
