"""Migration 0008 (``alerts.message_id``): up, down and up again, the alerts kept."""

from __future__ import annotations

import sqlalchemy as sa

from monitor.store.migrate import upgrade_sync
from tests.store.test_migrations import MOMENT, _downgrade, _insert_release, _sync


def _alerts(engine: sa.Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        query = "SELECT id, status, attempts FROM alerts ORDER BY id"
        return [tuple(row) for row in conn.execute(sa.text(query))]


def _columns(engine: sa.Engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns("alerts")}


async def test_0008_adds_the_message_id_and_keeps_the_alerts(db_url: str) -> None:
    upgrade_sync(db_url, "0007")
    engine = _sync(db_url)
    with engine.begin() as conn:
        _insert_release(conn)
        for alert_id, rule, status in (("a1", "nato", "sent"), ("a2", "cyber", "pending")):
            conn.execute(
                sa.text(
                    "INSERT INTO alerts (id, rule_id, story_id, channel_id, release_id, status,"
                    " attempts, created_at) VALUES (:id, :rule, 1, 'ops', 1, :status, 1, :t)"
                ),
                {"id": alert_id, "rule": rule, "status": status, "t": MOMENT},
            )
    try:
        before = _alerts(engine)
        upgrade_sync(db_url)
        assert "message_id" in _columns(engine)
        assert _alerts(engine) == before
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alerts SET message_id = 'story-1' WHERE id = 'a1'"))

        _downgrade(db_url, "0007")
        assert "message_id" not in _columns(engine)
        assert _alerts(engine) == before
        upgrade_sync(db_url)
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, message_id FROM alerts ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [("a1", None), ("a2", None)]  # counted one each
    finally:
        engine.dispose()
