"""Drill: PostgreSQL kills monitor's connections (``pg_terminate_backend``) while it works.

A failover, a pooler restart or an administrator does this to a running daemon. Six
rounds, each terminating every backend of the daemon (found by its ``application_name``)
while the ministry publishes a release on every poll: connections idle in the pool, the
leader's advisory-lock connection and whatever statement a poll is running at that moment.
It must be transparent: every release delivered, none twice, the daemon still running.

Each round runs inside the webhook receiver's handler, before it answers: the one channel's
worker is then waiting for this answer, so no "sent" is being recorded at that moment. A
termination landing exactly between a 2xx and its record would resend that alert (same
``webhook-id``: at least once, as the SIGKILL drill counts); this drill is about the rest.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.support.daemon import MonitorRun
from tests.support.drill import Ministry, Receiver, write_config
from tests.support.http_server import LoopbackServer, Request, Response
from tests.support.waiting import wait_until

ROUNDS = 6


class Publishing(Ministry):
    """Publishes one release each time it is polled, ``limit`` in all."""

    def __init__(self, server: LoopbackServer, limit: int) -> None:
        super().__init__(server)
        self.limit = limit

    def _serve(self, request: Request) -> Response:
        if len(self.urls()) < self.limit:
            self.publish(1)
        return super()._serve(request)


class Terminating(Receiver):
    def __init__(self, server: LoopbackServer, admin_url: str, application: str) -> None:
        super().__init__(server, ["soc"])
        self.admin_url, self.application = admin_url, application
        self.rounds: list[int] = []  # backends terminated, per round
        self._rounds_lock = threading.Lock()

    def before_answer(self, channel: str) -> None:
        with self._rounds_lock:
            if len(self.rounds) >= ROUNDS:
                return
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                killed = conn.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = %s AND pid <> pg_backend_pid()",
                    (self.application,),
                ).fetchone()
            self.rounds.append(int(killed[0]) if killed else 0)


@pytest.mark.slow
@pytest.mark.postgres
def test_terminated_connections_are_transparent(
    tmp_path: Path, http_server: LoopbackServer, pg_url: str
) -> None:
    application = f"monitor-drill-{uuid.uuid4().hex[:8]}"
    url = make_url(pg_url)
    database = url.update_query_dict({"application_name": application})
    admin = url.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    ministry = Publishing(http_server, limit=ROUNDS + 4)
    receiver = Terminating(http_server, admin, application)
    config = write_config(
        tmp_path / "monitor.yaml",
        database.render_as_string(hide_password=False),
        ministry,
        receiver,
    )
    daemon = MonitorRun(config)
    try:
        wait_until(lambda: len(receiver.rounds) >= ROUNDS, 120, f"{ROUNDS} rounds")
        wait_until(lambda: len(ministry.urls()) >= ministry.limit, 60, "every release")
        expected = {(u, "soc") for u in ministry.urls()}
        wait_until(lambda: expected <= receiver.delivered(), 60, "every release delivered")
        assert daemon.process.poll() is None, daemon.text()
        assert daemon.stop() == 0, daemon.text()
    finally:
        daemon.close()

    assert sum(receiver.rounds) >= ROUNDS, receiver.rounds  # each round killed something
    ids = [d.webhook_id for d in receiver.deliveries()]
    assert len(ids) == len(set(ids)) == len(expected), "an alert sent twice"
    assert receiver.delivered() == expected
    assert "Traceback" not in daemon.text()
    print(f"backends terminated per round: {receiver.rounds}; {len(ids)} alerts, once each")
