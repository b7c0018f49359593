"""Migration 0011 (``alerts.retry_requested_at`` and its partial index): up, down and up
again, the alerts kept."""

from __future__ import annotations

import sqlalchemy as sa

from monitor.store.migrate import upgrade_sync
from tests.delivery.test_migration_0008 import _alerts, _columns
from tests.store.test_migrations import MOMENT, _downgrade, _insert_release, _sync


def _indexes(engine: sa.Engine) -> set[str]:
    return {str(i["name"]) for i in sa.inspect(engine).get_indexes("alerts")}


async def test_0011_adds_the_retry_request_and_keeps_the_alerts(db_url: str) -> None:
    upgrade_sync(db_url, "0010")
    engine = _sync(db_url)
    with engine.begin() as conn:
        _insert_release(conn)
        conn.execute(
            sa.text(
                "INSERT INTO alerts (id, rule_id, story_id, channel_id, release_id, status,"
                " attempts, created_at) VALUES ('a1', 'nato', 1, 'ops', 1, 'failed', 3, :t)"
            ),
            {"t": MOMENT},
        )
    try:
        before = _alerts(engine)
        upgrade_sync(db_url)
        assert "retry_requested_at" in _columns(engine)
        assert "ix_alerts_retry_requested" in _indexes(engine)
        assert _alerts(engine) == before
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alerts SET retry_requested_at = :t"), {"t": MOMENT})

        _downgrade(db_url, "0010")
        assert "retry_requested_at" not in _columns(engine)
        assert "ix_alerts_retry_requested" not in _indexes(engine)
        assert _alerts(engine) == before
        upgrade_sync(db_url)
        with engine.connect() as conn:
            kept = conn.execute(sa.text("SELECT retry_requested_at FROM alerts")).scalar_one()
        assert kept is None
    finally:
        engine.dispose()
