"""The match step's band lookup on PostgreSQL probes the primary key, whatever the planner
knows of ``story_bands``: a table never analysed (a new deployment, or a server whose
autovacuum is off) and the generic plan of a prepared statement (psycopg prepares a
statement run five times) each made the plain join a hash join over the whole table, 69 ms
a match run at 2,000 sources instead of under 1 ms (issue 23)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from monitor.store import stories
from monitor.store.tables import now
from tests.conftest import Engines

BANDS = 20_000


def _positional(sql: str) -> str:
    return sql.replace(":keys", "$1").replace(":since", "$2")


@pytest.mark.parametrize("plan", ["force_custom_plan", "force_generic_plan"])
async def test_the_band_lookup_probes_the_index(pg_url: str, engines: Engines, plan: str) -> None:
    engine = await engines.open(pg_url)
    moment = now()
    async with engine.begin() as connection:
        await connection.execute(
            sa.text(
                "INSERT INTO sources (id, url, kind, created_at, status, consecutive_failures,"
                " baseline_done, items_seen, items_skipped) VALUES ('s', 'http://x', 'feed', :at,"
                " 'ok', 0, true, 0, 0)"
            ),
            {"at": moment},
        )
        release = (
            await connection.execute(
                sa.text(
                    "INSERT INTO releases (source_id, identity, title, summary, content,"
                    " content_hash, first_seen_at, updated_at, revision, alertable)"
                    " VALUES ('s', 'i', 't', '', '', 'h', :at, :at, 1, true) RETURNING id"
                ),
                {"at": moment},
            )
        ).scalar_one()
        story = (
            await connection.execute(
                sa.text(
                    "INSERT INTO stories (created_at, founder_release_id) VALUES (:at, :r)"
                    " RETURNING id"
                ),
                {"at": moment, "r": release},
            )
        ).scalar_one()
        await connection.execute(
            sa.text(
                "INSERT INTO story_bands (band_key, release_id, story_id, first_seen_at)"
                " SELECT lpad(g::text, 2, '0') || ':' || md5(g::text), :r, :s, :at"
                " FROM generate_series(1, :n) g"
            ),
            {"r": release, "s": story, "at": moment, "n": BANDS},
        )
    keys = " ".join(f"{g:02d}:{g:032x}" for g in range(50))
    async with engine.connect() as connection:
        await connection.execute(sa.text(f"SET plan_cache_mode = {plan}"))
        await connection.exec_driver_sql(
            f"PREPARE band_hits(text, timestamptz) AS {_positional(stories._BAND_HITS_PG.text)}"
        )
        since = (moment - timedelta(days=7)).isoformat()
        # EXECUTE's arguments as literals: a utility statement takes no bound parameters
        explained = await connection.exec_driver_sql(
            f"EXPLAIN EXECUTE band_hits('{keys}', '{since}')"
        )
        shown = "\n".join(row[0] for row in explained)
    assert not re.search(r"Seq Scan on story_bands", shown), shown
    assert "story_bands_pkey" in shown, shown
