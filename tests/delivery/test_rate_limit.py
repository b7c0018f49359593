"""``max_per_hour``: never more messages than that in any hour; the excess is gathered into
one summary (digest-shaped), never dropped and never sent one by one. On a digest channel
a period waits for room in the hour, and its alerts go in the next digest that fits."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx

from monitor.store import queries
from tests.delivery.conftest import delivering, webhook_hook, write_config
from tests.support.http_server import LoopbackServer, Response


async def test_excess_alerts_become_one_summary(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, client: httpx.AsyncClient
) -> None:
    http_server.route("/hook", Response(200))
    config = write_config(tmp_path, db_url, webhook_hook(http_server, "max_per_hour: 3"))
    async with delivering(config, client) as (store, run):
        burst = [await store.queue("nato", "hook") for _ in range(7)]
        assert (await run.deliver_all()).sent == 7
        bodies = [json.loads(r.body) for r in http_server.requests_to("/hook")]
        # the oldest two alone, then one summary of the other five: three messages
        assert [b["type"] for b in bodies] == ["release.matched", "release.matched", "digest"]
        assert sorted(b["id"] for b in bodies[:2]) == sorted(burst[:2])  # sent side by side
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
        assert sorted(b["id"] for b in bodies) == sorted(later)  # within budget: one by one
        assert {a.status for a in await queries.list_alerts(store.engine)} == {"sent"}


async def test_budget_of_one_sends_everything_due_as_one_summary(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, client: httpx.AsyncClient
) -> None:
    http_server.route("/hook", Response(200))
    config = write_config(tmp_path, db_url, webhook_hook(http_server, "max_per_hour: 1"))
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


def _alert_ids(server: LoopbackServer) -> list[list[str]]:
    """The alerts of each digest the receiver got, in order."""
    bodies = [json.loads(r.body) for r in server.requests_to("/hook")]
    assert {b["type"] for b in bodies} <= {"digest"}
    return [[a["id"] for a in b["alerts"]] for b in bodies]


async def test_digest_channel_closes_a_period_only_while_the_hour_has_room(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, client: httpx.AsyncClient
) -> None:
    http_server.route("/hook", Response(200))
    config = write_config(
        tmp_path, db_url, webhook_hook(http_server, "digest: 10m", "max_per_hour: 2")
    )
    async with delivering(config, client) as (store, run):
        minutes = timedelta(minutes=1)
        a1 = await store.queue("nato", "hook")  # 07:00
        store.clock.advance(10 * minutes)  # 07:10, a boundary
        assert (await run.deliver_all()).sent == 1
        a2 = await store.queue("nato", "hook")
        store.clock.advance(10 * minutes)  # 07:20: the hour's second message
        assert (await run.deliver_all()).sent == 1
        a3 = await store.queue("cyber", "hook")
        store.clock.advance(10 * minutes)  # 07:30: no room, the period waits
        assert (await run.deliver_all()).sent == 0
        a4 = await store.queue("nato", "hook")
        store.clock.advance(10 * minutes)  # 07:40: still none
        assert (await run.deliver_all()).sent == 0
        assert _alert_ids(http_server) == [[a1], [a2]]
        pending = await queries.list_alerts(store.engine, "pending")
        assert {a.id for a in pending} == {a3, a4}

        store.clock.advance(30 * minutes)  # 08:10: the 07:10 message has left the hour
        assert (await run.deliver_all()).sent == 2
        # both waiting periods in one digest (rules in config order: nato, then cyber)
        assert _alert_ids(http_server) == [[a1], [a2], [a4, a3]]
        assert (await run.deliver_all()).sent == 0  # and nothing twice
        assert {a.status for a in await queries.list_alerts(store.engine)} == {"sent"}


async def test_a_digest_awaiting_retry_holds_its_place_in_the_budget(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, client: httpx.AsyncClient
) -> None:
    http_server.route("/hook", Response(503))
    config = write_config(
        tmp_path,
        db_url,
        webhook_hook(
            http_server,
            "digest: 10m",
            "max_per_hour: 1",
            "retry: {initial: 15m, max: 15m, give_up_after: 1d}",
        ),
    )
    async with delivering(config, client) as (store, run):
        minutes = timedelta(minutes=1)
        first = await store.queue("nato", "hook")
        store.clock.advance(10 * minutes)
        assert (await run.deliver_all()).failed == 1  # one digest, retry in 15 minutes
        second = await store.queue("cyber", "hook")
        store.clock.advance(10 * minutes)  # a boundary, but the hour's one message is taken
        assert (await run.deliver_all()).failed == 0
        http_server.route("/hook", Response(200))
        store.clock.advance(10 * minutes)  # the retry is due: the same digest, alone
        assert (await run.deliver_all()).sent == 1
        assert _alert_ids(http_server) == [[first], [first]]
        assert (await run.deliver_all()).sent == 0  # it went out at 07:30: no room until 08:30
        store.clock.advance(60 * minutes)
        assert (await run.deliver_all()).sent == 1
        assert _alert_ids(http_server) == [[first], [first], [second]]
