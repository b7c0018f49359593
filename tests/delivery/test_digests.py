"""Digest channels against real servers: one message per period with every alert queued
before the boundary, grouped by rule; nothing when there is nothing; retried under the same
id; never duplicated; its alerts marked sent with it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
from standardwebhooks.webhooks import Webhook

from monitor.store import queries
from tests.delivery.conftest import SECRET, delivering, webhook_hook, write_config
from tests.notify.smtp_server import SmtpServer
from tests.support.http_server import LoopbackServer, Response


def _digests(server: LoopbackServer) -> list[dict[str, object]]:
    return [json.loads(r.body) for r in server.requests_to("/hook")]


async def test_hourly_digest_groups_by_rule_and_sends_once(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, client: httpx.AsyncClient
) -> None:
    http_server.route("/hook", Response(204))
    config = write_config(
        tmp_path,
        db_url,
        webhook_hook(http_server, f"secret: {SECRET}", "digest: 1h"),
    )
    async with delivering(config, client) as (store, run):
        store.clock.advance(timedelta(minutes=10))  # 07:10 Doha
        cyber1 = await store.queue("cyber", "hook")
        nato1 = await store.queue("nato", "hook")
        cyber2 = await store.queue("cyber", "hook")
        assert (await run.deliver_all()).sent == 0  # the period is still open
        assert http_server.requests_to("/hook") == []

        store.clock.advance(timedelta(minutes=50))  # 08:00: the boundary
        late = await store.queue("nato", "hook")  # queued after it: the next digest
        counts = await run.deliver_all()
        assert counts.sent == 3
        (request,) = http_server.requests_to("/hook")
        body = json.loads(request.body)
        assert body["type"] == "digest" and request.headers["webhook-id"] == body["id"]
        Webhook(SECRET).verify(request.body, request.headers)
        # grouped by rule, in config order (nato, then cyber), queue order within a rule
        assert [a["id"] for a in body["alerts"]] == [nato1, cyber1, cyber2]
        assert body["alerts"][0]["type"] == "release.matched"

        assert (await run.deliver_all()).sent == 0  # nothing twice, nothing early
        store.clock.advance(timedelta(hours=1))
        assert (await run.deliver_all()).sent == 1
        store.clock.advance(timedelta(hours=1))
        assert (await run.deliver_all()).sent == 0  # an empty period sends nothing
        bodies = _digests(http_server)
        assert [[a["id"] for a in b["alerts"]] for b in bodies] == [  # type: ignore[attr-defined]
            [nato1, cyber1, cyber2],
            [late],
        ]
        assert {a.status for a in await queries.list_alerts(store.engine)} == {"sent"}


async def test_failed_digest_is_retried_with_the_same_id_and_content(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, client: httpx.AsyncClient
) -> None:
    http_server.route("/hook", Response(503))
    config = write_config(
        tmp_path,
        db_url,
        webhook_hook(
            http_server, "digest: 30m", "retry: {initial: 1m, max: 10m, give_up_after: 1h}"
        ),
    )
    async with delivering(config, client) as (store, run):
        first = [await store.queue("nato", "hook") for _ in range(2)]
        store.clock.advance(timedelta(minutes=30))
        counts = await run.deliver_all()
        assert (counts.sent, counts.failed) == (0, 2)
        failed = await queries.list_alerts(store.engine, "failed")
        assert {a.id for a in failed} == set(first) and all(
            "503" in (a.last_error or "") for a in failed
        )

        await store.queue("nato", "hook")  # arrives meanwhile: not added to the failed digest
        assert (await run.deliver_all()).failed == 0  # the retry is not due yet
        http_server.route("/hook", Response(200))
        store.clock.advance(timedelta(minutes=2))
        assert (await run.deliver_all()).sent == 2
        one, two = http_server.requests_to("/hook")
        assert one.headers["webhook-id"] == two.headers["webhook-id"]
        assert json.loads(one.body) == json.loads(two.body)
        assert {a.id for a in await queries.list_alerts(store.engine, "sent")} == set(first)


async def test_dead_digest_alert_retried_by_the_operator_travels_again(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, client: httpx.AsyncClient
) -> None:
    http_server.route("/hook", Response(410))
    config = write_config(
        tmp_path,
        db_url,
        webhook_hook(
            http_server, "digest: 1h", "retry: {initial: 1m, max: 1m, give_up_after: 30s}"
        ),
    )
    async with delivering(config, client) as (store, run):
        alert = await store.queue("nato", "hook")
        store.clock.advance(timedelta(hours=1))
        assert (await run.deliver_all()).dead == 1
        assert [a.status for a in await queries.list_alerts(store.engine)] == ["dead"]
        http_server.route("/hook", Response(200))
        assert await queries.retry_alert(store.engine, alert) == "dead"
        # `alerts retry` uses the real clock; ours is in the past, so move it past that
        store.clock.at = (await queries.list_alerts(store.engine))[0].next_attempt_at  # type: ignore[assignment]
        assert (await run.deliver_all()).sent == 1
        first, second = http_server.requests_to("/hook")
        assert first.headers["webhook-id"] != second.headers["webhook-id"]  # a new digest
        assert [a["id"] for a in json.loads(second.body)["alerts"]] == [alert]


async def test_daily_email_digest_at_eight_in_the_config_zone(
    tmp_path: Path, sqlite_url: str, smtp: SmtpServer, client: httpx.AsyncClient
) -> None:
    config = write_config(
        tmp_path,
        sqlite_url,
        f"""
        - id: hook
          type: email
          to: [ops@example.org]
          from: monitor@example.org
          smtp: {{host: 127.0.0.1, port: {smtp.port}, tls: none, timeout: 5s}}
          digest: daily 08:00
        """,
    )
    async with delivering(config, client) as (store, run):
        await store.queue("nato", "hook", title="Minister meets NATO chief")
        await store.queue("cyber", "hook", title="Cyber talks")
        await store.queue("nato", "hook", title="NATO summit\r\nBcc: x@evil")
        store.clock.advance(timedelta(minutes=59))  # 07:59 Doha
        assert (await run.deliver_all()).sent == 0
        store.clock.advance(timedelta(minutes=1))  # 08:00 Doha = 05:00 UTC
        assert (await run.deliver_all()).sent == 3
        (mail,) = smtp.messages
        assert mail.message["Subject"] == "[monitor] 3 new matches: NATO, Cyber"
        text = mail.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        # one entry per story, stories in the order of their rules (config order: nato, cyber)
        assert text.index("Minister meets") < text.index("NATO summit") < text.index("Cyber talks")
        assert "==== 3/3 ====" in text and "Published" not in text  # queued, never published
        assert "Bcc" not in str(mail.message["Subject"])
        store.clock.advance(timedelta(hours=23, minutes=59))
        assert (await run.deliver_all()).sent == 0  # 07:59 the next day: nothing new
