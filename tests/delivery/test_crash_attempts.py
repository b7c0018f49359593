"""An attempt cut off by a crash counts in ``attempts`` (issue 22.7).

Attempts are counted as they start, so when an instance dies mid-send the re-claim after
its lease expires sees the interrupted attempt (and backs off from it). In the store, on
both databases; and with ``monitor run`` SIGKILLed while its webhook is in flight.
"""

from __future__ import annotations

import signal
import sqlite3
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from monitor.store import outbox, queries
from tests.delivery.conftest import delivering, webhook_hook, write_config
from tests.e2e.test_crash_safety import WAIT, KillingReceiver, _alerts, _start, _wait_until
from tests.support.feeds import Item, rss
from tests.support.http_server import LoopbackServer, Response

LEASE = timedelta(seconds=5)


async def test_an_interrupted_attempt_is_counted_at_the_reclaim(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, client: httpx.AsyncClient
) -> None:
    config = write_config(tmp_path, db_url, webhook_hook(http_server))
    async with delivering(config, client) as (store, _):
        alert_id = await store.queue("nato", "hook")
        moment = store.clock()
        (claimed,) = await outbox.claim_due(
            store.engine, "hook", "dies", lease=LEASE, moment=moment
        )
        assert claimed.attempts == 0
        assert await outbox.start_attempt(store.engine, [alert_id], "dies", moment + LEASE)
        # ... and the instance "dies" mid-send: it never records the outcome

        later = moment + LEASE + timedelta(seconds=1)
        (again,) = await outbox.claim_due(store.engine, "hook", "next", lease=LEASE, moment=later)
        assert again.attempts == 1  # the interrupted attempt counts
        assert not await outbox.start_attempt(store.engine, [alert_id], "dies", later + LEASE)
        assert await outbox.start_attempt(store.engine, [alert_id], "next", later + LEASE)
        assert await outbox.record_sent(store.engine, [alert_id], "next", later, alert_id)
        assert not await outbox.record_sent(store.engine, [alert_id], "dies", later, alert_id)
        (alert,) = await queries.list_alerts(store.engine)
        assert (alert.status, alert.attempts) == ("sent", 2)


@pytest.mark.parametrize("when", ["before", "after"])
def test_sigkill_mid_send_counts_the_cut_off_attempt(
    tmp_path: Path, http_server: LoopbackServer, when: str
) -> None:
    item = Item("n1", "NATO talks", "Meeting.", "https://m.example/1", datetime.now(UTC))
    http_server.route("/feed", Response(body=rss([item], language="en")))
    receiver = KillingReceiver(1, when)
    http_server.route("/hook", receiver)
    database = tmp_path / "db.sqlite"
    config = tmp_path / "monitor.yaml"
    config.write_text(
        textwrap.dedent(f"""
        database: sqlite:///{database}
        defaults: {{interval: 10s}}
        sources:
          - id: mofa
            url: {http_server.url("/feed")}
        rules:
          - id: nato
            query: NATO
            channels: [hook]
        channels:
          - id: hook
            type: webhook
            url: {http_server.url("/hook")}
            timeout: 2s
            retry: {{initial: 1s, max: 2s}}
        """),
        encoding="utf-8",
    )
    receiver.process = first = _start(config)
    try:
        assert receiver.killed.wait(WAIT), "the daemon never reached the crash point"
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate(timeout=WAIT)
    assert first.returncode == -signal.SIGKILL

    receiver.process = second = _start(config)
    try:
        assert _wait_until(lambda: [s for _, s, _ in _alerts(database)] == ["sent"])
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=15) == 0
    finally:
        if second.poll() is None:
            second.kill()
        second.communicate(timeout=WAIT)
    with sqlite3.connect(database) as conn:
        ((attempts,),) = conn.execute("SELECT attempts FROM alerts").fetchall()
    assert attempts == 2  # the attempt the crash cut off, and the one that delivered it
