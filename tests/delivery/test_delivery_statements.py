"""A delivery run's statements (issue 23, ``deliver``): what is read for a batch is read
once for the batch, and the rate limit's count of the hour is one statement.

Counted with SQLAlchemy's ``before_cursor_execute`` on SQLite and PostgreSQL, beside the
outcome the receiver saw (each alert once, with its own release and copies).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from sqlalchemy import event

from monitor.digest import RATE_WINDOW
from monitor.store import digests, queries
from tests.delivery.conftest import delivering, webhook_hook, write_config
from tests.delivery.test_batch_load import counting
from tests.support.http_server import LoopbackServer, Response


def selects_from(statements: list[str], table: str) -> int:
    return sum(
        1
        for s in statements
        if s.lstrip().upper().startswith("SELECT") and f"FROM {table}" in " ".join(s.split())
    )


async def test_a_batch_reads_its_releases_once(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, client: httpx.AsyncClient
) -> None:
    http_server.route("/hook", Response(204))
    config = write_config(tmp_path, db_url, webhook_hook(http_server))
    async with delivering(config, client) as (store, run):
        queued = {await store.queue(rule, "hook"): rule for rule in ["nato", "cyber"] * 3}
        with counting(store.engine) as statements:
            assert (await run.deliver_channel("hook")).sent == 6
        bodies = [json.loads(r.body) for r in http_server.requests_to("/hook")]
        assert sorted(b["id"] for b in bodies) == sorted(queued)
        assert all(b["rule"]["id"] == queued[b["id"]] for b in bodies)
        assert len({b["release"]["id"] for b in bodies}) == 6
        # one batch: one read of its releases, copies and hits (eighteen before)
        assert selects_from(statements, "releases") == 1
        assert selects_from(statements, "matches") == 0


async def test_the_hours_count_is_one_statement(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, client: httpx.AsyncClient
) -> None:
    http_server.route("/hook", Response(204))
    config = write_config(tmp_path, db_url, webhook_hook(http_server, "max_per_hour: 2"))
    async with delivering(config, client) as (store, run):
        for _ in range(5):
            await store.queue("nato", "hook")
        assert (await run.deliver_channel("hook")).sent == 5  # one alone, four in a summary
        since = store.clock() - RATE_WINDOW
        with counting(store.engine) as statements:
            assert await digests.sent_in_window(store.engine, "hook", since) == 2
        assert len(statements) == 1


async def test_one_alert_attempt_needs_no_transaction_on_postgresql(
    tmp_path: Path, pg_url: str, http_server: LoopbackServer, client: httpx.AsyncClient
) -> None:
    """A JSON webhook's message is one alert: counting its attempt is one row's update, in
    autocommit (a transaction was a BEGIN and a COMMIT round trip more, each message)."""
    http_server.route("/hook", Response(204))
    config = write_config(tmp_path, pg_url, webhook_hook(http_server))
    async with delivering(config, client) as (store, run):
        for _ in range(3):
            await store.queue("nato", "hook")
        commits: list[object] = []
        note = commits.append
        event.listen(store.engine.sync_engine, "commit", note)
        try:
            assert (await run.deliver_channel("hook")).sent == 3
        finally:
            event.remove(store.engine.sync_engine, "commit", note)
        assert commits == []
        alerts = await queries.list_alerts(store.engine)
        assert [(a.status, a.attempts) for a in alerts] == [("sent", 1)] * 3
