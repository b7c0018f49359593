"""Overdue sources: ``monitor sources`` says so when nothing has polled a source for long.

Before, a daemon whose database could not be written (a full disk) showed every source
``ok`` with next-poll times long past. The command is run as an operator runs it, on
SQLite and PostgreSQL, after the rows were aged as a stuck daemon leaves them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.ops.health import OVERDUE_AFTER, overdue
from tests.conftest import ROOT

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("next_poll_at", "expected"),
    [
        (None, False),  # never scheduled
        (T0 + timedelta(minutes=10), False),  # due later
        (T0 - timedelta(seconds=30), False),  # due, being claimed now
        (T0 - OVERDUE_AFTER, False),
        (T0 - OVERDUE_AFTER - timedelta(seconds=1), True),
        (T0 - timedelta(days=2), True),
    ],
)
def test_overdue(next_poll_at: datetime | None, expected: bool) -> None:
    assert overdue(next_poll_at, T0) is expected


def _monitor(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("MONITOR_CONFIG", "MONITOR_DATABASE_URL")
    }
    return subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
        check=False,
    )


def test_sources_shows_overdue_sources(tmp_path: Path, db_url: str) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(
        textwrap.dedent(f"""
        database: "{db_url}"
        sources:
          - {{id: stuck, url: "https://stuck.example/rss"}}
          - {{id: fresh, url: "https://fresh.example/rss"}}
        rules:
          - {{id: nato, query: NATO, channels: [console]}}
        channels:
          - {{id: console, type: log}}
        """),
        encoding="utf-8",
    )
    assert _monitor(config, "sources").returncode == 0  # creates the rows
    moment = datetime.now(UTC)
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as connection:
            for source, due in (("stuck", moment - timedelta(hours=3)), ("fresh", moment)):
                connection.execute(
                    sa.text("UPDATE sources SET status = 'ok', next_poll_at = :due WHERE id = :id"),
                    {"due": due, "id": source},
                )
    finally:
        engine.dispose()

    listed = _monitor(config, "sources", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["id"]: r for r in map(json.loads, listed.stdout.splitlines())}
    assert (rows["stuck"]["status"], rows["stuck"]["overdue"]) == ("ok", True)
    assert (rows["fresh"]["status"], rows["fresh"]["overdue"]) == ("ok", False)
    table = _monitor(config, "sources").stdout.splitlines()
    assert any(line.startswith("stuck") and "ok, overdue" in line for line in table), table
    assert any(line.startswith("fresh") and "overdue" not in line for line in table), table
