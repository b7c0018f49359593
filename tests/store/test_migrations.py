"""Migrations: a database made by an earlier migration, with rows, upgrades without loss."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from monitor.store.db import install_sqlite_pragmas, normalise_url
from monitor.store.migrate import HEAD, current_revision, ensure_schema, upgrade_sync
from monitor.store.session import open_store
from tests.conftest import Engines

MOMENT = datetime(2019, 3, 13, 7, 0, tzinfo=UTC)
MIGRATIONS = Path(__file__).resolve().parents[2] / "monitor" / "store" / "migrations"


def _sync(url: str) -> sa.Engine:
    return sa.create_engine(normalise_url(url, asynchronous=False))


async def test_upgrade_from_first_migration_keeps_rows(db_url: str, engines: Engines) -> None:
    upgrade_sync(db_url, "0001")
    engine = _sync(db_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO sources (id, url, kind, created_at, status, consecutive_failures, baseline_done,"
                " items_seen, items_skipped) VALUES ('mofa', 'https://x/rss', 'feed', :t, 'ok', 0, true, 3, 0)"
            ),
            {"t": MOMENT},
        )
        conn.execute(sa.text("INSERT INTO stories (id, created_at) VALUES (1, :t)"), {"t": MOMENT})
        conn.execute(
            sa.text(
                "INSERT INTO releases (id, source_id, identity, story_id, title, summary, content, content_hash,"
                " revision, first_seen_at, updated_at, alertable) VALUES (1, 'mofa', 'guid-1', 1, 'الناتو', '',"
                " 'body', 'h1', 1, :t, :t, true)"
            ),
            {"t": MOMENT},
        )
        conn.execute(
            sa.text(
                "INSERT INTO alerts (id, rule_id, story_id, channel_id, release_id, status, attempts, created_at)"
                " VALUES ('a1', 'nato', 1, 'ops', 1, 'sent', 1, :t)"
            ),
            {"t": MOMENT},
        )
    engine.dispose()

    async_engine = engines.adopt(await open_store(db_url, migrate=False))
    assert await current_revision(async_engine) == "0001"
    assert await ensure_schema(async_engine, db_url) is True
    assert await current_revision(async_engine) == HEAD
    assert await ensure_schema(async_engine, db_url) is False  # cheap: nothing to do
    async with async_engine.connect() as conn:
        title = (
            await conn.execute(sa.text("SELECT title FROM releases WHERE id = 1"))
        ).scalar_one()
        alert = (
            await conn.execute(sa.text("SELECT status FROM alerts WHERE id = 'a1'"))
        ).scalar_one()
        source = (await conn.execute(sa.text("SELECT items_seen FROM sources"))).scalar_one()
        bands = (await conn.execute(sa.text("SELECT count(*) FROM story_bands"))).scalar_one()
    assert (title, alert, source, bands) == ("الناتو", "sent", 3, 0)


async def test_new_database_reaches_head(db_url: str, engines: Engines) -> None:
    engine = await engines.open(db_url)
    assert await current_revision(engine) == HEAD


def _downgrade(url: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    engine = _sync(url)
    if url.startswith("sqlite"):
        install_sqlite_pragmas(engine)  # foreign keys on, as the monitor runs
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, revision)
    finally:
        engine.dispose()


def _revisions(engine: sa.Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        query = "SELECT release_id, revision, content FROM release_revisions ORDER BY 1, 2"
        return [tuple(row) for row in conn.execute(sa.text(query))]


def _insert_source(conn: sa.Connection) -> None:
    """Source ``mofa``, in the columns every schema since 0001 has."""
    conn.execute(
        sa.text(
            "INSERT INTO sources (id, url, kind, created_at, status, consecutive_failures,"
            " baseline_done, items_seen, items_skipped)"
            " VALUES ('mofa', 'https://x/rss', 'feed', :t, 'ok', 0, true, 2, 0)"
        ),
        {"t": MOMENT},
    )


def _insert_release(conn: sa.Connection) -> None:
    """Source ``mofa``, story 1 and its release 1, for a migration test's alerts."""
    _insert_source(conn)
    conn.execute(sa.text("INSERT INTO stories (id, created_at) VALUES (1, :t)"), {"t": MOMENT})
    conn.execute(
        sa.text(
            "INSERT INTO releases (id, source_id, identity, story_id, title, summary, content,"
            " content_hash, revision, first_seen_at, updated_at, alertable)"
            " VALUES (1, 'mofa', 'g1', 1, 'الناتو', '', 'c', 'h', 1, :t, :t, true)"
        ),
        {"t": MOMENT},
    )


def _indexes(engine: sa.Engine, table: str) -> dict[str, bool]:
    return {i["name"] or "": bool(i["unique"]) for i in sa.inspect(engine).get_indexes(table)}


async def test_0005_keeps_stories_and_only_superseded_versions(db_url: str) -> None:
    upgrade_sync(db_url, "0004")
    engine = _sync(db_url)
    with engine.begin() as conn:
        _insert_source(conn)
        story = conn.execute(
            sa.text("INSERT INTO stories (created_at) VALUES (:t) RETURNING id"), {"t": MOMENT}
        ).scalar_one()
        for id_, revision, content in ((1, 2, "edited"), (2, 1, "once")):
            conn.execute(
                sa.text(
                    "INSERT INTO releases (id, source_id, identity, story_id, title, summary,"
                    " content, content_hash, revision, first_seen_at, updated_at, alertable)"
                    " VALUES (:id, 'mofa', :identity, :s, 't', '', :c, :h, :r, :t, :t, true)"
                ),
                {"id": id_, "identity": f"g{id_}", "s": story, "c": content, "h": content}
                | {"r": revision, "t": MOMENT},
            )
        # up to 0004 every version was copied: release 1's two, and release 2's only one
        for id_, revision, content in ((1, 1, "first"), (1, 2, "edited"), (2, 1, "once")):
            conn.execute(
                sa.text(
                    "INSERT INTO release_revisions (release_id, revision, title, summary,"
                    " content, content_hash, seen_at) VALUES (:id, :r, 't', '', :c, :h, :t)"
                ),
                {"id": id_, "r": revision, "c": content, "h": content, "t": MOMENT},
            )
    try:
        before = _revisions(engine)
        upgrade_sync(db_url)
        assert _revisions(engine) == [(1, 1, "first")]  # the current versions are in releases
        assert "ix_story_bands_first_seen_at" not in _indexes(engine, "story_bands")
        assert _indexes(engine, "stories")["uq_stories_founder"] is True
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT id, founder_release_id FROM stories")).all() == [
                (story, None)
            ]
            new = conn.execute(
                sa.text(
                    "INSERT INTO stories (created_at, founder_release_id) VALUES (:t, 2)"
                    " RETURNING id"
                ),
                {"t": MOMENT},
            ).scalar_one()
            assert new > story  # ids go on after the stored stories
        with pytest.raises(IntegrityError), engine.begin() as conn:  # one story per founder
            conn.execute(
                sa.text("INSERT INTO stories (created_at, founder_release_id) VALUES (:t, 2)"),
                {"t": MOMENT},
            )

        _downgrade(db_url, "0004")
        assert _revisions(engine) == before
        assert "ix_story_bands_first_seen_at" in _indexes(engine, "story_bands")
        assert "founder_release_id" not in {
            c["name"] for c in sa.inspect(engine).get_columns("stories")
        }
        upgrade_sync(db_url)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM stories")).scalar_one() == 2
    finally:
        engine.dispose()


async def test_0006_indexes_the_pending_releases_and_drops_a_redundant_index(db_url: str) -> None:
    upgrade_sync(db_url, "0005")
    engine = _sync(db_url)
    with engine.begin() as conn:
        _insert_source(conn)
        for id_, matched in ((1, "h1"), (2, None), (3, "old")):  # matched, new, revised
            conn.execute(
                sa.text(
                    "INSERT INTO releases (id, source_id, identity, title, summary, content,"
                    " content_hash, matched_hash, revision, first_seen_at, updated_at, alertable)"
                    " VALUES (:id, 'mofa', :identity, 't', '', 'c', :h, :m, 1, :t, :t, true)"
                ),
                {"id": id_, "identity": f"g{id_}", "h": f"h{id_}", "m": matched, "t": MOMENT},
            )
    pending = (
        "SELECT id FROM releases WHERE matched_hash IS NULL OR matched_hash != content_hash"
        " ORDER BY id LIMIT 500"
    )
    try:
        upgrade_sync(db_url)
        assert "ix_releases_pending" in _indexes(engine, "releases")
        assert "ix_matches_rule_id" not in _indexes(engine, "matches")
        with engine.connect() as conn:
            assert [r[0] for r in conn.execute(sa.text(pending))] == [2, 3]
            if engine.dialect.name == "sqlite":  # the planner takes it for the step's query
                plan = " ".join(
                    str(r[-1]) for r in conn.execute(sa.text("EXPLAIN QUERY PLAN " + pending))
                )
                assert "ix_releases_pending" in plan, plan
        _downgrade(db_url, "0005")
        assert "ix_releases_pending" not in _indexes(engine, "releases")
        assert "ix_matches_rule_id" in _indexes(engine, "matches")
        upgrade_sync(db_url)
    finally:
        engine.dispose()


def _columns(engine: sa.Engine, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns(table)}


async def test_0007_leases_alarm_notices_and_keeps_the_episodes(db_url: str) -> None:
    upgrade_sync(db_url, "0006")
    engine = _sync(db_url)
    with engine.begin() as conn:
        for id_, notified in ((1, MOMENT), (2, None)):  # announced, and still to announce
            conn.execute(
                sa.text(
                    "INSERT INTO alarms (id, source_id, kind, detail, raised_at, notified_at)"
                    " VALUES (:id, 'mofa', :kind, 'failing for 2h', :t, :n)"
                ),
                {"id": id_, "kind": ("failing", "silent")[id_ - 1], "t": MOMENT, "n": notified},
            )
    query = "SELECT id, notified_at IS NULL, notice_lease_until FROM alarms ORDER BY id"
    try:
        upgrade_sync(db_url)
        with engine.connect() as conn:
            assert [tuple(r) for r in conn.execute(sa.text(query))] == [
                (1, False, None),
                (2, True, None),  # due: no lease taken
            ]
        _downgrade(db_url, "0006")
        assert "notice_lease_until" not in _columns(engine, "alarms")
        upgrade_sync(db_url)
        assert "notice_lease_until" in _columns(engine, "alarms")
    finally:
        engine.dispose()
