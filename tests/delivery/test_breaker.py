"""One hanging receiver must not throttle its channel (issue 22.7, the delivery part).

A per-channel circuit breaker: after 3 failed attempts in a row nothing more is attempted
until a probe time, then one message; its success lets the backlog flow. What the
breaker holds back keeps its attempts and does not die early. A healthy channel sends up
to 4 messages at once. Against a real loopback receiver that hangs (``timeout: 1s``),
counting the requests it gets, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from monitor.delivery import Deliverer, DeliveryCounts
from monitor.notify.breaker import Breaker
from monitor.store import queries
from monitor.store.tables import ALERTS
from tests.delivery.conftest import Store, delivering, webhook_hook, write_config
from tests.support.http_server import LoopbackServer, Request, Response

T = datetime(2024, 3, 12, 4, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


# --- the breaker itself ------------------------------------------------------------------


def test_closed_breaker_allows_a_few_at_once() -> None:
    breaker = Breaker(pause=MINUTE, max_pause=10 * MINUTE)
    assert [breaker.start(n, T) for n in range(6)] == [True] * 4 + [False] * 2


def test_three_failures_open_it_until_one_probe() -> None:
    breaker = Breaker(pause=MINUTE, max_pause=3 * MINUTE)
    assert [breaker.failed(T), breaker.failed(T)] == [None, None]
    assert breaker.start(0, T) and not breaker.start(1, T)  # still closed, one at a time
    assert breaker.failed(T) == "opened" and breaker.probe_at == T + MINUTE
    assert breaker.failed(T) is None  # a fourth that was in flight: still open, same time
    assert not breaker.ready(T) and not breaker.start(0, T + 59 * timedelta(seconds=1))
    assert breaker.start(0, T + MINUTE)  # the probe
    assert not breaker.start(0, T + MINUTE) and not breaker.start(1, T + 2 * MINUTE)
    assert breaker.failed(T + MINUTE) == "opened"  # the probe failed: twice as long
    assert breaker.probe_at == T + 3 * MINUTE
    assert breaker.start(0, T + 3 * MINUTE)
    assert breaker.failed(T + 3 * MINUTE) == "opened"
    assert breaker.probe_at == T + 6 * MINUTE  # max_pause reached
    assert breaker.start(0, T + 6 * MINUTE)
    assert breaker.succeeded() == "closed"
    assert breaker.failures == 0 and breaker.start(3, T)


def test_probe_now_makes_the_probe_due_only_while_open() -> None:
    breaker = Breaker(pause=MINUTE, max_pause=MINUTE, threshold=1)
    breaker.probe_now(T)  # closed: nothing to do
    assert not breaker.is_open and breaker.opened_at is None
    breaker.failed(T)
    assert breaker.opened_at == T and not breaker.ready(T + timedelta(seconds=10))
    breaker.probe_now(T + timedelta(seconds=10))
    assert breaker.start(0, T + timedelta(seconds=10))
    assert breaker.succeeded() == "closed" and breaker.opened_at is None


def test_a_probe_not_attempted_after_all_leaves_the_breaker_as_it_was() -> None:
    breaker = Breaker(pause=MINUTE, max_pause=MINUTE, threshold=1)
    breaker.failed(T)
    assert breaker.start(0, T + MINUTE)
    breaker.abandoned()
    assert breaker.is_open and breaker.start(0, T + MINUTE)


# --- against a receiver that hangs --------------------------------------------------------


class Receiver:
    """Hangs while ``hang`` is set (never answers: the client's timeout fails the attempt);
    else accepts. Records the webhook-id of every request, and of every accepted one."""

    def __init__(self) -> None:
        self.hang = True
        self.tried: list[str] = []
        self.accepted: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self.lock:
            self.tried.append(request.headers["webhook-id"])
            if self.hang:
                return Response(hang=True)
            self.accepted.append(request.headers["webhook-id"])
        return Response(204)


async def rows(store: Store) -> dict[str, tuple[str, int]]:
    async with store.engine.connect() as conn:
        result = await conn.execute(select(ALERTS.c.id, ALERTS.c.status, ALERTS.c.attempts))
        return {r.id: (r.status, r.attempts) for r in result}


async def test_a_hanging_receiver_gets_a_bounded_number_of_attempts_then_everything(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, client: httpx.AsyncClient
) -> None:
    receiver = Receiver()
    http_server.route("/hook", receiver)
    retry = "retry: {initial: 1m, max: 10m, give_up_after: 1d}"
    config = write_config(tmp_path, db_url, webhook_hook(http_server, "timeout: 1s", retry))
    async with delivering(config, client) as (store, run):
        queued = [await store.queue("nato", "hook") for _ in range(20)]

        counts = await run.deliver_all()  # 4 at once hang, fail: 3 in a row open the breaker
        assert (counts.sent, counts.failed) == (0, 4)
        assert len(receiver.tried) == 4
        state = await rows(store)
        assert sorted(state.values()).count(("failed", 1)) == 4
        assert sorted(state.values()).count(("pending", 0)) == 16  # untouched: no attempt

        for _ in range(5):  # while it is open: not one attempt
            assert await run.deliver_all() == DeliveryCounts()
        store.clock.advance(MINUTE + timedelta(seconds=1))
        assert (await run.deliver_all()).failed == 1  # one probe
        store.clock.advance(MINUTE + timedelta(seconds=1))
        assert await run.deliver_all() == DeliveryCounts()  # the pause doubled: 2 minutes
        store.clock.advance(MINUTE)
        assert (await run.deliver_all()).failed == 1  # the next probe
        assert len(receiver.tried) == 6  # in 3 minutes (20 without the breaker, at once)
        assert sorted((await rows(store)).values()).count(("pending", 0)) == 14

        receiver.hang = False  # the receiver recovers
        store.clock.advance(4 * MINUTE)
        sent = 0
        for _ in range(10):
            sent += (await run.deliver_all()).sent
            if sent == 20:
                break
            store.clock.advance(10 * MINUTE)  # the failed ones' retries come due
        assert sent == 20
    assert Counter(receiver.accepted) == Counter(queued)  # each delivered exactly once
    assert set(receiver.tried) == set(queued)
    assert set(receiver.tried[6:]) == set(queued)  # after recovery, one request each


async def test_an_operators_retry_makes_a_backing_off_channel_try_at_once(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, client: httpx.AsyncClient
) -> None:
    """Whoever fixed the receiver and pressed Retry must not wait for the probe time (up to
    ``retry.max``, an hour here): the retry makes the probe due, and its success lets the
    backlog flow."""
    receiver = Receiver()
    http_server.route("/hook", receiver)
    retry = "retry: {initial: 1h, max: 1h, give_up_after: 1d}"
    config = write_config(tmp_path, db_url, webhook_hook(http_server, "timeout: 1s", retry))
    async with delivering(config, client) as (store, run):
        queued = [await store.queue("nato", "hook") for _ in range(6)]
        assert (await run.deliver_all()).failed == 4  # the breaker opens for an hour
        receiver.hang = False  # the operator fixes the receiver
        store.clock.advance(MINUTE)
        assert await run.deliver_all() == DeliveryCounts()  # backing off: nothing is tried
        failed = sorted(a for a, (status, _) in (await rows(store)).items() if status == "failed")
        assert await queries.retry_alert(store.engine, failed[0], store.clock()) == "failed"

        counts = await run.deliver_all()  # an hour early: the probe, then the rest that is due
        assert counts.sent == 3 and counts.failed == 0
        state = await rows(store)
        assert state[failed[0]] == ("sent", 2)
        assert [a for a in queued if state[a][0] == "pending"] == []
        async with store.engine.connect() as conn:
            requested = await conn.execute(
                select(ALERTS.c.id).where(ALERTS.c.retry_requested_at.is_not(None))
            )
            assert requested.all() == []  # the attempt cleared the request
    assert set(receiver.accepted) == {failed[0]} | {a for a in queued if a not in failed}


async def test_alerts_held_back_by_an_open_breaker_keep_their_attempts_and_do_not_die(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, client: httpx.AsyncClient
) -> None:
    receiver = Receiver()
    http_server.route("/hook", receiver)
    retry = "retry: {initial: 30m, max: 1h, give_up_after: 5m}"
    config = write_config(tmp_path, db_url, webhook_hook(http_server, "timeout: 1s", retry))
    async with delivering(config, client) as (store, run):
        queued = [await store.queue("nato", "hook") for _ in range(10)]
        assert (await run.deliver_all()).dead == 4  # attempted: past give_up_after at retry
        store.clock.advance(20 * MINUTE)  # long past give_up_after; the breaker still open
        assert await run.deliver_all() == DeliveryCounts()
        state = await rows(store)
        assert sorted(state.values()).count(("pending", 0)) == 6  # waiting, alive

        receiver.hang = False
        store.clock.advance(11 * MINUTE)  # the probe time (30 minutes after it opened)
        assert (await run.deliver_all()).sent == 6
    held = [a for a in queued if state[a] == ("pending", 0)]
    assert Counter(receiver.accepted) == Counter(held)


async def test_a_healthy_channel_sends_four_messages_at_once(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, client: httpx.AsyncClient
) -> None:
    barrier = threading.Barrier(4, timeout=10)
    lock = threading.Lock()
    in_flight, most = 0, 0

    def meet(request: Request) -> Response:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        try:
            barrier.wait()  # passes only when four requests are here together
        finally:
            with lock:
                in_flight -= 1
        return Response(204)

    http_server.route("/hook", meet)
    config = write_config(tmp_path, db_url, webhook_hook(http_server, "timeout: 15s"))
    async with delivering(config, client) as (store, run):
        for _ in range(8):
            await store.queue("nato", "hook")
        assert (await run.deliver_all()).sent == 8
    assert most == 4 and len(http_server.requests_to("/hook")) == 8


class Broken:
    """A channel with a bug: it raises what channels promise never to raise."""

    id = "hook"
    groups_stories = False

    async def send(self, alert: object) -> None:
        raise RuntimeError("boom\nsecond line")

    async def send_story(self, message_id: str, alerts: object) -> None:
        raise RuntimeError("boom\nsecond line")

    async def send_digest(self, digest_id: str, alerts: object) -> None:
        raise RuntimeError("boom")


async def test_a_channel_bug_is_a_failed_attempt_not_a_crash_loop(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, client: httpx.AsyncClient
) -> None:
    config = write_config(tmp_path, db_url, webhook_hook(http_server))
    async with delivering(config, client) as (store, _):
        run = Deliverer(store.engine, config, {"hook": Broken()}, "me", clock=store.clock)
        await store.queue("nato", "hook")
        assert (await run.deliver_all()).failed == 1
        assert await run.deliver_all() == DeliveryCounts()  # backing off, not retried at once
        (alert,) = await queries.list_alerts(store.engine)
    assert (alert.status, alert.attempts) == ("failed", 1)
    assert alert.last_error == "internal: RuntimeError('boom\\nsecond line')"
