"""The rows story assignment stores — stories, story bands, matches, alerts — are those the
row-by-row path stored before the bands went as arrays (issue 23), on SQLite and PostgreSQL.

``story_rows.json`` was written by that earlier path (main at a559257) from the releases
made here: a few hundred generated releases over four sources, a third of them copies,
exact or near, of earlier ones (of another wave too), some naming NATO; saved in three
waves (a baseline, then two alertable) and matched in small batches, so that copies are
found in the same batch, in an earlier batch and in an earlier wave. Ids differ between
runs and databases, so rows are compared by release identity and by story founder.
Rewrite it only from a path known to store the same rows: MONITOR_WRITE_GOLDEN=1.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import Engines
from tests.stories.desk import ENGLISH, SOURCES, Desk, Post
from tests.support.feeds import seed
from tests.support.store import store_with_sources

GOLDEN = Path(__file__).with_name("story_rows.json")


def posts(count: int, seed_number: int = 23) -> list[Post]:
    """Releases of about 60–90 words; one in three a copy of an earlier one (exact, or
    with a word or two changed: still a copy; or half rewritten: another story)."""
    rng = random.Random(seed_number)
    words = (seed()[1] + " " + ENGLISH).split()
    made: list[Post] = []
    for n in range(count):
        source = SOURCES[n % len(SOURCES)]
        if made and rng.random() < 0.35:
            body = made[rng.randrange(len(made))].body.split()
            changed = rng.choice((0, 1, 2, len(body) // 2))
            for at in rng.sample(range(len(body)), changed):
                body[at] = rng.choice(words)
        else:
            body = rng.choices(words, k=rng.randint(60, 90))
            if rng.random() < 0.15:
                body.insert(rng.randrange(len(body)), "NATO")
        made.append(Post(source, f"n{n}", " ".join(body), f"بيان {n}"))
    return made


async def snapshot(desk: Desk) -> dict[str, object]:
    """What was stored, by identity: each release's story (by its founder), digests of the
    bands, matches and alerts (their rows sorted), and how many of each."""
    queries = {
        "releases": "SELECT r.identity, f.identity,"
        " CASE WHEN r.matched_hash = r.content_hash THEN 'matched' ELSE 'pending' END"
        " FROM releases r JOIN stories s ON s.id = r.story_id"
        " JOIN releases f ON f.id = s.founder_release_id",
        "bands": "SELECT b.band_key, r.identity, f.identity FROM story_bands b"
        " JOIN releases r ON r.id = b.release_id JOIN stories s ON s.id = b.story_id"
        " JOIN releases f ON f.id = s.founder_release_id",
        "matches": "SELECT m.rule_id, r.identity, f.identity, m.hit_count FROM matches m"
        " JOIN releases r ON r.id = m.release_id JOIN stories s ON s.id = m.story_id"
        " JOIN releases f ON f.id = s.founder_release_id",
        "alerts": "SELECT a.rule_id, a.channel_id, r.identity, f.identity FROM alerts a"
        " JOIN releases r ON r.id = a.release_id JOIN stories s ON s.id = a.story_id"
        " JOIN releases f ON f.id = s.founder_release_id",
    }
    found: dict[str, object] = {}
    async with desk.engine.connect() as connection:
        for name, query in queries.items():
            rows = sorted(
                tuple(str(v) for v in row) for row in await connection.execute(sa.text(query))
            )
            found[name] = len(rows)
            found[f"{name}_sha256"] = hashlib.sha256(json.dumps(rows).encode()).hexdigest()
        stories = await connection.execute(sa.text("SELECT count(*) FROM stories"))
        found["stories"] = stories.scalar_one()
    return found


@pytest.fixture
async def desk(db_url: str, engines: Engines) -> AsyncIterator[Desk]:
    engine = engines.adopt(await store_with_sources(db_url, SOURCES, datetime.now(UTC)))
    yield Desk(engine)


async def test_the_stored_rows_are_the_row_by_row_paths(desk: Desk) -> None:
    made = posts(360)
    for wave, alertable in ((made[:120], False), (made[120:240], True), (made[240:], True)):
        await desk.save(wave, alertable)
        while (await desk.step(batch=40)).releases:
            pass
    found = await snapshot(desk)
    assert found["releases"] == len(made)
    if os.environ.get("MONITOR_WRITE_GOLDEN"):
        GOLDEN.write_text(json.dumps(found, indent=2, sort_keys=True) + "\n")
    assert found == json.loads(GOLDEN.read_text())
