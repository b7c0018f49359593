"""Migration 0009: the console's tables and the listing indexes; rows kept both ways."""

from __future__ import annotations

import sqlalchemy as sa

from monitor.store.migrate import upgrade_sync
from tests.store.test_migrations import MOMENT, _downgrade, _indexes, _insert_release, _sync

CONSOLE_TABLES = {"users", "console_sessions", "api_tokens", "sign_in_failures", "audit_log"}


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


async def test_0009_adds_the_console_and_keeps_every_row(db_url: str) -> None:
    upgrade_sync(db_url, "0008")
    engine = _sync(db_url)
    with engine.begin() as conn:
        _insert_release(conn)
        conn.execute(
            sa.text(
                "INSERT INTO alerts (id, rule_id, story_id, channel_id, release_id, status,"
                " attempts, created_at) VALUES ('a1', 'nato', 1, 'hook', 1, 'dead', 3, :t)"
            ),
            {"t": MOMENT},
        )
    try:
        upgrade_sync(db_url)
        assert _tables(engine) >= CONSOLE_TABLES
        releases = _indexes(engine, "releases")
        assert {"ix_releases_seen", "ix_releases_source_seen"} <= set(releases)
        assert not {"ix_releases_first_seen", "ix_releases_source_id"} & set(releases)
        assert {"ix_alerts_created", "ix_alerts_story"} <= set(_indexes(engine, "alerts"))
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO users (name, role, password_hash, created_at, updated_at)"
                    " VALUES ('ada', 'admin', 'x', :t, :t)"
                ),
                {"t": MOMENT},
            )
            assert conn.execute(sa.text("SELECT title FROM releases")).scalar_one() == "الناتو"
            if engine.dialect.name == "sqlite":  # the archive's keyset order uses its index
                plan = " ".join(
                    str(r[-1])
                    for r in conn.execute(
                        sa.text(
                            "EXPLAIN QUERY PLAN SELECT id FROM releases WHERE source_id = 'mofa'"
                            " AND (first_seen_at, id) < (:t, 5)"
                            " ORDER BY first_seen_at DESC, id DESC LIMIT 50"
                        ),
                        {"t": MOMENT},
                    )
                )
                assert "ix_releases_source_seen" in plan and "TEMP B-TREE" not in plan, plan
        _downgrade(db_url, "0008")
        assert not CONSOLE_TABLES & _tables(engine)
        assert {"ix_releases_first_seen", "ix_releases_source_id"} <= set(
            _indexes(engine, "releases")
        )
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT status FROM alerts")).scalar_one() == "dead"
        upgrade_sync(db_url)
        assert _tables(engine) >= CONSOLE_TABLES
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM releases")).scalar_one() == 1
    finally:
        engine.dispose()
