"""`monitor run` polling 500 sources of the simulated ministry web (``bench.sim``, the
scale bench's own sim, smaller): while sources gain items, republish each other's and fail
(500, 429, no answer), no due poll is skipped, no source is polled twice for one due time,
and every NATO story the monitor fetched is alerted exactly once — nor is any (rule, story)
alerted twice, nor an item older than the backfill.

Due times come from the ``sources`` table, read every second while the daemon runs
(``bench.sim.analysis``); requests and alerts from the sim. Nothing here depends on how
fast the machine is: each phase waits for what it needs, with generous deadlines.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bench.sim import analysis
from bench.sim.run import ROOT, Database, SimProcess, Watcher, monitor_env, write_config
from bench.sim.server import Settings
from tests.conftest import require_corpus
from tests.support.waiting import wait_until

SOURCES = 500
INTERVAL = 15.0
# a due time this close to the daemon's stop may be answered after it: not a skip
SLACK = 30.0


def _polled_since(sim: SimProcess, moment: float, times: int) -> dict[str, Any] | None:
    """The sim's dump once every source has answered ``times`` polls since ``moment``."""
    dump = sim.get("/_dump")
    counts = [0] * SOURCES
    for at, source, status in dump["requests"]:
        if at > moment and status in (200, 304):
            counts[source] += 1
    return dump if min(counts) >= times else None


@pytest.mark.slow
def test_scale_sim_nothing_skipped_nothing_twice_every_story_once(tmp_path: Path) -> None:
    require_corpus()  # the sim's Arabic words come from the corpus release
    sim = SimProcess(Settings(SOURCES, INTERVAL, change=0.1, fail=0.01, copies=0.1, seed=3))
    database = Database(f"sqlite:///{tmp_path / 'monitor.db'}")
    config = tmp_path / "monitor.yaml"
    write_config(config, database.url, sim)
    base = [sys.executable, "-m", "monitor", "--config", str(config)]
    try:
        subprocess.run(
            [*base, "db", "upgrade"], cwd=ROOT, env=monitor_env(), check=True, capture_output=True
        )
        with (tmp_path / "run.log").open("wb") as log:
            daemon = subprocess.Popen(
                [*base, "run"], cwd=ROOT, env=monitor_env(), stdout=log, stderr=log
            )
        watcher = Watcher(database, daemon.pid, every=1.0)
        watcher.start()
        try:
            wait_until(lambda: database.unpolled(SOURCES) == 0, timeout=600, what="every baseline")
            warm = time.time()
            # sources change and fail for a round of polls, then the web calms down: one
            # round polls what the last changes left, another shows any late duplicate
            wait_until(lambda: _polled_since(sim, warm, 1), timeout=600, what="a round")
            sim.post("/_calm")
            calm = time.time()
            wait_until(lambda: _polled_since(sim, calm, 1), timeout=600, what="a calm round")
            wait_until(
                lambda: not analysis.alerts(sim.get("/_dump"), 0, calm).nato_missing,
                timeout=300,
                what="every NATO story alerted",
            )
            last = time.time()
            dump = wait_until(lambda: _polled_since(sim, last, 1), timeout=600, what="a last round")
        finally:
            stopped = time.time()
            watcher.stop()
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=60)
    finally:
        sim.stop()
    assert daemon.returncode == 0, (tmp_path / "run.log").read_text()[-3000:]
    assert watcher.errors < 10  # the due times were read all along (a busy database may refuse one)

    polls = analysis.schedule(dump, watcher.dues, warm, stopped, SLACK)
    assert polls.polls >= 3 * SOURCES
    assert polls.skipped == []
    assert polls.twice == []

    alerts = analysis.alerts(dump, 0, stopped)
    assert alerts.nato_expected > 0  # churn reached the monitor, NATO items among it
    assert alerts.nato_missing == []
    assert alerts.nato_unexpected == []
    assert alerts.repeated == []
    assert alerts.old == 0
