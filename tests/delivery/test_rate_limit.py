"""``max_per_hour``: never more messages than that in any hour; the excess is gathered into
one summary (digest-shaped), never dropped and never sent one by one."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx

from monitor.store import queries
from tests.delivery.conftest import delivering, write_config
from tests.support.http_server import LoopbackServer, Response


async def test_excess_alerts_become_one_summary(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, client: httpx.AsyncClient
) -> None:
    http_server.route("/hook", Response(200))
    config = write_config(
        tmp_path,
        db_url,
        f"""
        - id: hook
          type: webhook
          url: {http_server.url("/hook")}
          max_per_hour: 3
        """,
    )
    async with delivering(config, client) as (store, run):
        burst = [await store.queue("nato", "hook") for _ in range(7)]
        assert (await run.deliver_all()).sent == 7
        bodies = [json.loads(r.body) for r in http_server.requests_to("/hook")]
        # the oldest two alone, then one summary of the other five: three messages
        assert [b["type"] for b in bodies] == ["release.matched", "release.matched", "digest"]
        assert [b["id"] for b in bodies[:2]] == burst[:2]
        assert [a["id"] for a in bodies[2]["alerts"]] == burst[2:]

        store.clock.advance(timedelta(minutes=30))
        later = [await store.queue("cyber", "hook") for _ in range(2)]
        assert (await run.deliver_all()).sent == 0  # the hour's budget is spent: they wait
        assert [a.status for a in await queries.list_alerts(store.engine, "pending")] == [
            "pending",
            "pending",
        ]
        store.clock.advance(timedelta(minutes=31))  # the first three messages left the window
        assert (await run.deliver_all()).sent == 2
        bodies = [json.loads(r.body) for r in http_server.requests_to("/hook")][3:]
        assert [b["id"] for b in bodies] == later  # within budget again: one by one
        assert {a.status for a in await queries.list_alerts(store.engine)} == {"sent"}


async def test_budget_of_one_sends_everything_due_as_one_summary(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, client: httpx.AsyncClient
) -> None:
    http_server.route("/hook", Response(200))
    config = write_config(
        tmp_path,
        db_url,
        f"""
        - id: hook
          type: webhook
          url: {http_server.url("/hook")}
          max_per_hour: 1
        """,
    )
    async with delivering(config, client) as (store, run):
        first = await store.queue("nato", "hook")
        assert (await run.deliver_all()).sent == 1
        rest = [await store.queue("cyber", "hook") for _ in range(3)]
        assert (await run.deliver_all()).sent == 0
        store.clock.advance(timedelta(hours=1))
        assert (await run.deliver_all()).sent == 3
        bodies = [json.loads(r.body) for r in http_server.requests_to("/hook")]
        assert bodies[0]["id"] == first
        assert bodies[1]["type"] == "digest" and [a["id"] for a in bodies[1]["alerts"]] == rest
        assert len(bodies) == 2
