"""The write path of a poll: where each version of a release lives, batches larger than one
statement, stories founded in one batch, each matched back to its founder, and a release
the database refuses skipped without costing the others."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.model import Retention
from monitor.model import ReleaseData
from monitor.ops.retention import prune
from monitor.parse.identity import content_hash
from monitor.store.matching import match_pending
from monitor.store.releases import Stored, save_releases, store_releases
from monitor.store.tables import ALERTS
from tests.conftest import Engines
from tests.support.feeds import seed
from tests.support.store import release, store_with_sources

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def engine(db_url: str, engines: Engines) -> AsyncEngine:
    return engines.adopt(await store_with_sources(db_url, ("ministry", "agency"), T0))


def _release(identity: str, content: str, title: str = "t") -> ReleaseData:
    return release(identity, content, title, published=T0)


async def _save(
    engine: AsyncEngine,
    source: str,
    releases: list[ReleaseData],
    moment: datetime,
    bands: dict[str, str | None] | None = None,
) -> list[tuple[str, int]]:
    async with engine.begin() as connection:
        saved = await save_releases(
            connection,
            source,
            releases,
            moment=moment,
            alertable={r.identity: True for r in releases},
            search_text={r.identity: r.content for r in releases},
            bands=bands,
        )
    return sorted((s.identity, s.revision) for s in saved)


async def _rows(engine: AsyncEngine, query: str) -> list[tuple[object, ...]]:
    async with engine.connect() as connection:
        return [tuple(row) for row in (await connection.execute(sa.text(query))).all()]


async def test_superseded_versions_are_kept_and_the_current_one_is_in_releases(
    engine: AsyncEngine,
) -> None:
    versions = ["النص الأول", "النص الثاني", "النص الثالث"]
    other = _release("g2", "لا يتغير")
    for n, text in enumerate(versions):
        saved = await _save(
            engine, "ministry", [_release("g1", text), other], T0 + timedelta(hours=n)
        )
        assert saved == ([("g1", 1), ("g2", 1)] if n == 0 else [("g1", n + 1)])
        if n == 0:  # new releases write nothing there: their version is the releases row
            assert await _rows(engine, "SELECT * FROM release_revisions") == []
    superseded = await _rows(
        engine,
        "SELECT r.identity, v.revision, v.content, v.content_hash, v.seen_at"
        " FROM release_revisions v JOIN releases r ON r.id = v.release_id ORDER BY v.revision",
    )
    assert [row[:4] for row in superseded] == [
        ("g1", 1, versions[0], content_hash("t", "", versions[0])),
        ("g1", 2, versions[1], content_hash("t", "", versions[1])),
    ]
    # seen_at: when that version was first seen (stored naive on SQLite, aware on PostgreSQL)
    assert [_utc(row[4]) for row in superseded] == [T0, T0 + timedelta(hours=1)]
    current = await _rows(engine, "SELECT identity, revision, content FROM releases ORDER BY 1")
    assert current == [("g1", 3, versions[2]), ("g2", 1, "لا يتغير")]


def _utc(value: object) -> datetime:
    if isinstance(value, str):  # SQLite through sa.text: the stored text
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def test_a_version_copied_before_schema_0005_is_kept_once(engine: AsyncEngine) -> None:
    await _save(engine, "ministry", [_release("g1", "قديم")], T0)
    # databases before 0005 copied every version, the current one included, as it came
    async with engine.begin() as connection:
        await connection.execute(
            sa.text(
                "INSERT INTO release_revisions"
                " (release_id, revision, title, summary, content, content_hash, seen_at)"
                " SELECT id, revision, title, summary, content, content_hash, updated_at"
                " FROM releases"
            )
        )
    assert await _save(engine, "ministry", [_release("g1", "جديد")], T0 + timedelta(hours=1)) == [
        ("g1", 2)
    ]
    assert await _rows(engine, "SELECT revision, content FROM release_revisions") == [(1, "قديم")]


async def test_a_feed_larger_than_one_statement(engine: AsyncEngine) -> None:
    # 1,200 rows: more than SQLAlchemy puts in one INSERT, more identities than one SELECT
    feed = [_release(f"g{i}", f"نص {i}") for i in range(1200)]
    assert await _save(engine, "ministry", feed, T0) == sorted((f"g{i}", 1) for i in range(1200))
    assert await _save(engine, "ministry", feed, T0 + timedelta(hours=1)) == []
    feed[1100] = _release("g1100", "نص معدل")
    assert await _save(engine, "ministry", feed, T0 + timedelta(hours=2)) == [("g1100", 2)]
    assert await _rows(engine, "SELECT count(*), count(DISTINCT id) FROM releases") == [
        (1200, 1200)
    ]


def _texts(n: int) -> list[str]:
    """``n`` bodies long enough to be stories, sharing almost no 4-word shingles."""
    _, body = seed()
    words = body.split()
    found = []
    for i in range(n):
        random.Random(i).shuffle(words)
        found.append(" ".join(words[:120]))
    return found


async def test_stories_founded_in_one_batch_each_map_to_their_founder(
    engine: AsyncEngine,
) -> None:
    # more founders than one INSERT ... RETURNING carries (SQLAlchemy splits at 1,000 rows)
    texts = _texts(1100)
    originals = [_release(f"m{i}", text) for i, text in enumerate(texts)]
    # bands: any keys do; the copies share their original's, the exact Jaccard decides
    bands = {f"m{i}": f"{i}a {i}b" for i in range(len(texts))}
    await _save(engine, "ministry", originals, T0, bands)
    copied = [7, 500, 1099]
    await _save(
        engine,
        "agency",
        [_release(f"a{i}", texts[i]) for i in copied],
        T0,
        {f"a{i}": bands[f"m{i}"] for i in copied},
    )
    step = await match_pending(engine, lambda _: (), lambda _: (), batch=2000)
    assert step.releases == len(texts) + len(copied)

    rows = await _rows(
        engine,
        "SELECT r.identity, r.id, r.story_id, s.founder_release_id"
        " FROM releases r JOIN stories s ON s.id = r.story_id",
    )
    release_id = {identity: id_ for identity, id_, _, _ in rows}
    story = {identity: story_id for identity, _, story_id, _ in rows}
    founder = {identity: founder_id for identity, _, _, founder_id in rows}
    assert len(rows) == len(texts) + len(copied)  # every release has a story
    assert all(founder[f"m{i}"] == release_id[f"m{i}"] for i in range(len(texts)))
    assert len({story[f"m{i}"] for i in range(len(texts))}) == len(texts)
    for i in copied:  # a copy joins the story its original founded
        assert story[f"a{i}"] == story[f"m{i}"]
        assert founder[f"a{i}"] == release_id[f"m{i}"]
    assert await _rows(engine, "SELECT count(*) FROM stories") == [(len(texts),)]


async def test_retention_clears_the_founder_of_a_story_that_outlives_it(
    engine: AsyncEngine,
) -> None:
    text = _texts(1)[0]
    await _save(engine, "ministry", [_release("m1", text)], T0, {"m1": "k1 k2"})
    later = T0 + timedelta(days=2)
    await _save(engine, "agency", [_release("a1", text)], later, {"a1": "k1 k2"})
    await match_pending(engine, lambda _: (), lambda _: ())
    [(story, founder, copy)] = await _rows(
        engine,
        "SELECT s.id, s.founder_release_id, a.id FROM stories s"
        " JOIN releases a ON a.story_id = s.id AND a.identity = 'a1'",
    )
    async with engine.begin() as connection:  # an alert keeps the copy; the founder may go
        await connection.execute(
            sa.insert(ALERTS).values(
                id="a",
                rule_id="nato",
                story_id=story,
                channel_id="ops",
                release_id=copy,
                status="sent",
                attempts=1,
                created_at=later,
            )
        )
    counts = await prune(engine, Retention(releases=timedelta(days=1)), later)
    assert counts.releases == 1 and counts.stories == 0
    assert founder != copy
    assert await _rows(engine, "SELECT id, founder_release_id FROM stories") == [(story, None)]


async def _store(engine: AsyncEngine, releases: list[ReleaseData]) -> Stored:
    return await store_releases(
        engine,
        "ministry",
        releases,
        moment=T0,
        alertable={r.identity: True for r in releases},
        search_text={r.identity: r.content for r in releases},
    )


async def test_a_release_the_database_refuses_is_skipped_and_the_others_stored(
    engine: AsyncEngine,
) -> None:
    # what parse.clean never lets through, as if a parser had forgotten it: no UTF-8
    # encoder takes a lone surrogate, on SQLite and PostgreSQL alike
    refused = replace(_release("g2", "نص"), title="three \ud800")
    stored = await _store(engine, [_release("g1", "أ"), refused, _release("g3", "ب")])
    assert sorted(s.identity for s in stored.saved) == ["g1", "g3"]
    [skipped] = stored.skipped
    assert skipped.where == "https://ministry.example/g2"
    assert skipped.reason.startswith("not stored: UnicodeEncodeError: ")
    assert "[SQL" not in skipped.reason and "\ud800" not in skipped.reason
    assert await _rows(engine, "SELECT identity FROM releases ORDER BY 1") == [("g1",), ("g3",)]
    # the common path: a batch the database takes is written as it was
    again = await _store(engine, [_release("g1", "أ"), _release("g4", "ج")])
    assert [(s.identity, s.revision) for s in again.saved] == [("g4", 1)] and not again.skipped


async def test_a_database_limit_on_one_release_skips_only_it(engine: AsyncEngine) -> None:
    # 1.7 MB of distinct words: more than a PostgreSQL tsvector holds (1 MB); SQLite's FTS5
    # takes it. prepare.index_words caps what it gives the index far below this.
    words = " ".join(f"w{i}x{i * 7919 % 1000003:07d}" for i in range(120_000))
    huge = replace(_release("g2", "نص"), content=words)
    stored = await _store(engine, [_release("g1", "أ"), huge])
    postgres = engine.dialect.name == "postgresql"
    assert [s.identity for s in stored.saved] == (["g1"] if postgres else ["g1", "g2"])
    if postgres:
        [skipped] = stored.skipped
        assert skipped.reason.startswith("not stored: ProgramLimitExceeded: string is too long")


async def test_an_error_every_row_shares_is_raised(engine: AsyncEngine) -> None:
    # an unknown source is a foreign key violation: not about the release's content, so no
    # release is skipped for it and the poll fails as a whole
    with pytest.raises(sa.exc.IntegrityError):
        await store_releases(
            engine,
            "nobody",
            [_release("g1", "أ")],
            moment=T0,
            alertable={"g1": True},
            search_text={"g1": "أ"},
        )
