"""The flood guard (issue 22.3), as `monitor poll` runs it, with a real webhook receiver and
a real SMTP server, on SQLite and PostgreSQL.

60 new alertable releases that match a rule, over the default limit of 50: all stored and
matched, no alert one by one, one notice per channel of the rules that watch the source —
durable before it is sent, sent once per channel, resent with the same id when a channel
refused it or its sender died. ``--no-flood-guard`` and a higher per-source limit alert
them all; exactly the limit alerts as usual.
"""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from monitor.config.load import load_config
from monitor.config.model import Config
from monitor.delivery import build_channels
from monitor.http_client import new_client
from monitor.ops.alarms import FLOOD_RETRY, NOTICE_LEASE, check_alarms, send_floods
from monitor.poll_driver import poll_once
from monitor.store.items import mute_rule
from monitor.store.session import open_store
from monitor.store.tables import ALARMS, ALERTS, MATCHES, RELEASES
from tests.notify.smtp_server import SmtpServer
from tests.support.feeds import Item, rss
from tests.support.http_server import LoopbackServer, Response

NOTICE = (
    "mofa-qa: 60 new releases in one poll; not alerted one by one — "
    "see `monitor releases --source mofa-qa`"
)


@pytest.fixture
def smtp() -> Any:
    server = SmtpServer().start()
    yield server
    server.stop()


def _config(
    tmp_path: Path, db_url: str, server: LoopbackServer, smtp: SmtpServer, extra: str = ""
) -> Config:
    text = f"""
    database: {db_url}
    sources:
      - id: mofa-qa
        url: {server.url("/mofa.xml")}
        {extra}
      - id: qna
        url: {server.url("/qna.xml")}
    rules:
      - id: nato
        name: NATO
        query: 'NATO OR الناتو'
        channels: [soc-webhook, ops-email]
      - id: agency-only
        query: 'NATO'
        sources: [qna]
        channels: [agency-hook]
    channels:
      - id: soc-webhook
        type: webhook
        url: {server.url("/hook")}
        timeout: 5s
      - id: ops-email
        type: email
        to: [ops@example.org]
        from: monitor@example.org
        smtp: {{host: 127.0.0.1, port: {smtp.port}, tls: none, timeout: 10s}}
      - id: agency-hook
        type: webhook
        url: {server.url("/agency-hook")}
    """
    path = tmp_path / "monitor.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_config(path, environ_database=False)


def _feed(count: int) -> bytes:
    now = datetime.now(UTC)
    return rss(
        [
            Item(
                f"n{i}", f"بيان الناتو رقم {i}", "NATO statement", f"https://mofa.example/{i}", now
            )
            for i in range(count)
        ]
    )


def _serve(server: LoopbackServer, count: int, hook: Response | None = None) -> None:
    server.route("/mofa.xml", Response(body=_feed(count)))
    server.route("/qna.xml", Response(body=rss([])))
    server.route("/hook", hook or Response(204))
    server.route("/agency-hook", Response(204))


def _hooks(server: LoopbackServer, path: str = "/hook") -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in server.requests_to(path)]


async def _count(config: Config, table: sa.Table, *where: Any) -> int:
    engine = await open_store(config.database)
    try:
        async with engine.connect() as connection:
            query = sa.select(sa.func.count()).select_from(table).where(*where)
            return int((await connection.execute(query)).scalar_one())
    finally:
        await engine.dispose()


async def test_a_flood_sends_one_notice_per_channel_and_stores_everything(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, smtp: SmtpServer
) -> None:
    _serve(http_server, 60)
    config = _config(tmp_path, db_url, http_server, smtp)

    outcomes = {
        o.source_id: o for o in (await poll_once(config, ["mofa-qa", "qna"], False, None)).outcomes
    }

    flood = outcomes["mofa-qa"]
    assert flood.ok and (flood.new, flood.held) == (60, 60)
    assert await _count(config, RELEASES) == 60  # stored, matched: searchable
    assert await _count(config, MATCHES) == 60
    assert await _count(config, ALERTS) == 0  # none alerted one by one
    [notice] = _hooks(http_server)
    assert notice["type"] == "source.alarm"
    assert notice["alarm"] == {"kind": "flood", "state": "raised"}
    assert notice["source"]["id"] == "mofa-qa" and notice["message"] == NOTICE
    [mail] = smtp.messages
    assert NOTICE in mail.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert http_server.requests_to("/agency-hook") == []  # its rule does not watch mofa-qa

    await poll_once(config, ["mofa-qa", "qna"], False, None)  # nothing new: nothing more
    assert len(_hooks(http_server)) == 1 and len(smtp.messages) == 1


async def test_a_refused_notice_is_resent_with_its_id_to_that_channel_only(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, smtp: SmtpServer
) -> None:
    _serve(http_server, 60, hook=Response(503, b"down"))
    config = _config(tmp_path, db_url, http_server, smtp)
    await poll_once(config, ["mofa-qa"], False, None)
    [refused] = http_server.requests_to("/hook")
    assert len(smtp.messages) == 1

    http_server.route("/hook", Response(204))
    engine = await open_store(config.database)
    client = new_client(follow_redirects=False)
    channels = build_channels(config, client)
    try:
        soon = datetime.now(UTC) + timedelta(seconds=5)
        assert await send_floods(engine, config, channels, soon) == []  # waits FLOOD_RETRY
        later = soon + FLOOD_RETRY
        [event] = await check_alarms(engine, config, channels, later)  # the daemon's tick
        assert event.delivered and event.kind == "flood"
        assert await send_floods(engine, config, channels, later + FLOOD_RETRY) == []
    finally:
        await client.aclose()
        await engine.dispose()
    resent = http_server.requests_to("/hook")[1:]
    assert [r.headers["webhook-id"] for r in resent] == [refused.headers["webhook-id"]]
    assert len(smtp.messages) == 1  # the email channel took it the first time


async def test_a_notice_whose_sender_died_is_sent_once_its_lease_runs_out(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, smtp: SmtpServer
) -> None:
    _serve(http_server, 60)
    config = _config(tmp_path, db_url, http_server, smtp)
    engine = await open_store(config.database)
    client = new_client(follow_redirects=False)
    channels = build_channels(config, client)
    try:
        await poll_once(config, ["mofa-qa"], False, None)
        [sent] = http_server.requests_to("/hook")
        moment = datetime.now(UTC)
        # as a sender killed mid-send leaves it: claimed, never marked sent
        async with engine.begin() as connection:
            await connection.execute(
                sa.update(ALARMS)
                .where(ALARMS.c.channel_id == "soc-webhook")
                .values(notified_at=None, notice_lease_until=moment + NOTICE_LEASE)
            )
        assert await send_floods(engine, config, channels, moment) == []
        expired = moment + NOTICE_LEASE + timedelta(seconds=1)
        [event] = await send_floods(engine, config, channels, expired)
        assert event.delivered
    finally:
        await client.aclose()
        await engine.dispose()
    again = http_server.requests_to("/hook")[1:]
    assert [r.headers["webhook-id"] for r in again] == [sent.headers["webhook-id"]]
    assert len(smtp.messages) == 1


async def test_no_flood_guard_alerts_every_release(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, smtp: SmtpServer
) -> None:
    _serve(http_server, 60)
    config = _config(tmp_path, db_url, http_server, smtp)

    [outcome] = (await poll_once(config, ["mofa-qa"], False, None, no_flood_guard=True)).outcomes

    assert outcome.held == 0
    assert await _count(config, ALERTS, ALERTS.c.status == "sent") == 120  # 60 per channel
    assert {h["type"] for h in _hooks(http_server)} == {"release.matched"}
    assert len(_hooks(http_server)) == 60 and await _count(config, ALARMS) == 0


@pytest.mark.parametrize(
    ("items", "extra"),
    [(50, ""), (60, "max_alerts_per_poll: 60")],
    ids=["exactly-the-default-limit", "a-source-limit"],
)
async def test_at_the_limit_alerts_as_usual(
    tmp_path: Path,
    db_url: str,
    http_server: LoopbackServer,
    smtp: SmtpServer,
    items: int,
    extra: str,
) -> None:
    _serve(http_server, items)
    config = _config(tmp_path, db_url, http_server, smtp, extra)

    [outcome] = (await poll_once(config, ["mofa-qa"], False, None)).outcomes

    assert (outcome.new, outcome.held) == (items, 0)
    assert len(_hooks(http_server)) == items and len(smtp.messages) == items
    assert await _count(config, ALARMS) == 0


async def test_a_muted_rule_sends_no_flood_notice(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, smtp: SmtpServer
) -> None:
    _serve(http_server, 60)
    config = _config(tmp_path, db_url, http_server, smtp)
    engine = await open_store(config.database)
    try:
        await mute_rule(engine, "nato", datetime.now(UTC) + timedelta(hours=1), actor="desk")
    finally:
        await engine.dispose()

    [outcome] = (await poll_once(config, ["mofa-qa"], False, None)).outcomes

    assert (outcome.new, outcome.held) == (60, 60)  # still held: a flood is a flood
    assert await _count(config, RELEASES) == 60
    assert _hooks(http_server) == [] and smtp.messages == []  # its only rule is muted
    assert await _count(config, ALARMS) == 0
