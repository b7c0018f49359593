"""A poll that crashes fails its source with backoff; it is not polled again at every tick.

A crash is what the pipeline does not expect: a bug, or the database refusing the poll's
outcome. The fault here is real: a trigger in the SQLite database aborts every write of a
successful outcome, so each poll of the source fetches, then cannot record its success.
Before, the daemon released the source's lease on a crash, leaving its past due time, so
it was claimed and fetched again at the next tick, every second, for as long as the
fault lasted: a ministry hammered by a bug on our side.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support.daemon import MonitorRun
from tests.support.feeds import Item, rss
from tests.support.http_server import LoopbackServer, Request, Response
from tests.support.waiting import wait_until

FAULT = """
CREATE TRIGGER injected_fault BEFORE UPDATE ON sources WHEN NEW.status = 'ok'
BEGIN SELECT RAISE(ABORT, 'injected fault: a successful outcome cannot be written'); END
"""


def _monitor(config: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


@pytest.mark.slow
def test_a_crashing_poll_backs_off_instead_of_polling_every_tick(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    feed = rss([Item("a-1", "NATO", "A statement.", "https://x.example/a-1", datetime.now(UTC))])
    fetched: list[float] = []

    def serve(_request: Request) -> Response:
        fetched.append(time.monotonic())
        return Response(body=feed, headers={"ETag": '"v1"'})

    http_server.route("/feed", serve)
    database = tmp_path / "monitor.db"
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"database: sqlite:///{database}\n"
        "defaults: {interval: 60s, timeout: 5s}\n"
        f"sources:\n  - id: ministry\n    url: {http_server.url('/feed')}\n"
        "rules:\n  - id: nato\n    query: NATO\n    channels: [log]\n"
        "channels:\n  - id: log\n    type: log\n",
        encoding="utf-8",
    )
    _monitor(config, "db", "upgrade")
    _monitor(config, "sources")  # creates the source's row, due at once
    with sqlite3.connect(database) as connection:
        connection.execute(FAULT)

    daemon = MonitorRun(config)
    try:
        wait_until(lambda: fetched, 30, "the first poll")
        crashed = daemon.wait_log(lambda line: line.get("message") == "poll crashed")
        # ticks come every second: a released source would have been fetched again by now
        time.sleep(4)
        assert len(fetched) == 1, f"fetched {len(fetched)} times: {daemon.text()}"
    finally:
        assert daemon.stop() == 0, daemon.text()
        daemon.close()
    assert "injected fault" in json.dumps(crashed)

    (row,) = [json.loads(line) for line in _monitor(config, "sources", "--json").splitlines()]
    assert row["id"] == "ministry"
    assert row["status"] == "failing", row
    assert "injected fault" in row["last_error"], row
    assert row["consecutive_failures"] == 1, row
