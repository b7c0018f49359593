"""Drill: ``monitor run`` SIGKILLed at random moments, 20 times, while releases arrive.

On SQLite and on PostgreSQL. A loopback ministry publishes 0-2 releases before each start;
two webhook channels record every request (with a little latency, so that sends are in
flight when kills land). Each daemon is killed at a random moment — a fifth of them during
start-up, the rest while it polls and delivers — and started again at once. After the
20th kill one last daemon runs until everything is delivered, then stops on SIGTERM.

What must hold, counted by the test:

- every (release, channel) was delivered, and every alert is ``sent`` with no lease left;
- a release went to a channel under one ``webhook-id`` only: a resend carries the same id;
- a duplicate only for a send that was in flight: an alert received by a daemon that was
  then killed, which at the moment of the kill was not yet recorded as sent. Never again
  once recorded, and never twice from one daemon unless that daemon saw the first attempt
  fail (a timeout on a loaded machine: the receiver had it, the daemon did not hear back).

Each daemon's config sends to URLs that name it (``?g=3``), so a request is put down to
the daemon that sent it, however late the receiver reads it. Random but reproducible:
the seed is printed (shown on failure);
``MONITOR_DRILL_SEED=<seed>`` replays a run's kill moments and release counts.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections import Counter, defaultdict
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.support.daemon import MonitorRun
from tests.support.drill import Ministry, Receiver, write_config
from tests.support.http_server import LoopbackServer
from tests.support.waiting import wait_until

KILLS = 20
CHANNELS = ["soc", "ops"]
ANSWER_LATENCY = 0.1  # seconds a receiver takes to answer: sends are in flight that long


class SlowReceiver(Receiver):
    def before_answer(self, channel: str) -> None:
        time.sleep(ANSWER_LATENCY)  # the receiver's own latency, not a wait for anything


def _running(line: dict[str, object]) -> bool:
    """The daemon's "running: …" line: its ticks and signal handlers are in place (its
    first "start" line, naming the event loop, comes before them)."""
    return str(line.get("message", "")).startswith("running:")


def alert_states(database: str) -> dict[str, tuple[str, str | None]]:
    """alert id → (status, lease owner), read while no daemon runs."""
    query = "SELECT id, status, lease_owner FROM alerts"
    import psycopg

    url = make_url(database)
    try:
        if url.get_backend_name() == "sqlite":
            with sqlite3.connect(str(url.database)) as conn:
                rows = conn.execute(query).fetchall()
        else:
            plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
            with psycopg.connect(plain) as conn:
                rows = conn.execute(query).fetchall()
    except (sqlite3.OperationalError, psycopg.errors.UndefinedTable) as exc:
        if "alerts" not in str(exc):
            raise
        return {}  # killed before its first migration: no tables yet
    return {str(r[0]): (str(r[1]), r[2]) for r in rows}


def _failed_attempts(daemon: MonitorRun) -> set[str]:
    return {str(line["alert"]) for line in daemon.logs() if line.get("action") == "retry"}


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_and_resends_only_in_flight(
    tmp_path: Path, http_server: LoopbackServer, db_url: str
) -> None:
    seed = int(os.environ.get("MONITOR_DRILL_SEED") or random.randrange(2**32))
    print(f"drill seed: {seed} (MONITOR_DRILL_SEED={seed} replays it)")
    rng = random.Random(seed)
    ministry = Ministry(http_server)
    receiver = SlowReceiver(http_server, CHANNELS)
    config = write_config(tmp_path / "monitor.yaml", db_url, ministry, receiver)
    at_kill: dict[int, dict[str, tuple[str, str | None]]] = {}  # generation → alert states
    retried: dict[int, set[str]] = {}  # generation → alerts whose attempt failed there
    logs_of: dict[int, list[dict[str, object]]] = {}
    kill_moments: list[str] = []

    for generation in range(KILLS):
        ministry.publish(rng.choice([0, 1, 1, 2]))
        write_config(config, db_url, ministry, receiver, generation=generation)
        daemon = MonitorRun(config)
        try:
            if rng.random() < 0.2:
                delay = rng.uniform(0.0, 1.5)  # while it starts: migrations, the sweep
                time.sleep(delay)  # the chosen moment of the kill
                kill_moments.append(f"{delay:.2f}s after spawn")
            else:
                daemon.wait_log(_running, 60)
                delay = rng.uniform(0.0, 2.5)
                time.sleep(delay)  # the chosen moment of the kill
                kill_moments.append(f"{delay:.2f}s after start")
            daemon.kill()
        finally:
            daemon.close()
        at_kill[generation] = alert_states(db_url)
        retried[generation] = _failed_attempts(daemon)
        logs_of[generation] = daemon.logs()

    write_config(config, db_url, ministry, receiver, generation=KILLS)
    expected = {(url, channel) for url in ministry.urls() for channel in CHANNELS}
    last = MonitorRun(config)
    try:
        last.wait_log(_running, 60)
        wait_until(lambda: expected <= receiver.delivered(), 120, "every release on every channel")
        wait_until(
            lambda: all(status == "sent" for status, _ in alert_states(db_url).values()),
            60,
            "every alert recorded as sent",
        )
        assert last.stop() == 0, last.text()
    finally:
        last.close()
    retried[KILLS] = _failed_attempts(last)
    logs_of[KILLS] = last.logs()

    deliveries = receiver.deliveries()
    assert receiver.delivered() == expected
    final = alert_states(db_url)
    assert len(final) == len(expected)
    assert all(status == "sent" and lease is None for status, lease in final.values())

    ids_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    for d in deliveries:
        ids_of[(d.release_url, d.channel)].add(d.webhook_id)
    assert all(len(ids) == 1 for ids in ids_of.values()), "a resend under another id"
    assert {i for ids in ids_of.values() for i in ids} == set(final)

    counts = Counter(d.webhook_id for d in deliveries)
    duplicates = {alert_id: n for alert_id, n in counts.items() if n > 1}
    for alert_id in duplicates:
        receipts = [d for d in deliveries if d.webhook_id == alert_id]
        for earlier, later in pairwise(receipts):
            if earlier.generation == later.generation:
                assert alert_id in retried[earlier.generation], (
                    f"{alert_id}: twice from daemon {earlier.generation}, no failure logged",
                    [line for line in logs_of[earlier.generation] if line.get("alert") == alert_id],
                    [(d.generation, round(d.at, 2)) for d in receipts],
                )
                continue
            # resent after its daemon died, never recorded as sent
            state = at_kill[earlier.generation].get(alert_id, ("missing", None))[0]
            assert state != "sent", f"{alert_id} resent though recorded as sent"
    print(
        f"{len(ministry.urls())} releases x {len(CHANNELS)} channels, {KILLS} kills "
        f"({', '.join(kill_moments)}); {len(deliveries)} requests, "
        f"{sum(n - 1 for n in duplicates.values())} resends of {len(duplicates)} in-flight alerts"
    )
