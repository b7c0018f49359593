"""The whole path, as `monitor poll` runs it: a ministry feed and a news agency's copy on
loopback, a real SMTP server and a real webhook receiver. One alert per rule and channel,
not one per copy; nothing twice; a failing webhook never stops email, and a retried alert
keeps its id."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config.load import load_config
from monitor.config.model import Config
from monitor.poll_driver import poll_once
from monitor.store import queries
from monitor.store.session import open_store
from tests.notify.smtp_server import SmtpServer
from tests.support.feeds import UNRELATED, Item, rss, seed
from tests.support.http_server import LoopbackServer, Response

OLD = datetime(2019, 1, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def smtp() -> SmtpServer:
    server = SmtpServer().start()
    yield server  # type: ignore[misc]
    server.stop()


def _config(tmp_path: Path, db_url: str, server: LoopbackServer, smtp_port: int) -> Config:
    text = f"""
    database: {db_url}
    timezone: Asia/Qatar
    sources:
      - id: mofa-qa-ar
        name: وزارة الخارجية
        url: {server.url("/mofa.xml")}
      - id: qna-ar
        name: وكالة الأنباء
        url: {server.url("/qna.xml")}
    rules:
      - id: nato
        name: NATO
        query: 'NATO OR OTAN OR الناتو OR "حلف شمال الأطلسي"'
        channels: [ops-email, soc-webhook]
      - id: cyber
        query: 'cyber* OR "الأمن السيبراني" OR "الدفاع السيبراني" OR "الدفاع الإلكتروني"'
        channels: [soc-webhook]
    channels:
      - id: ops-email
        type: email
        to: [ops@example.org]
        from: monitor@example.org
        smtp: {{host: 127.0.0.1, port: {smtp_port}, tls: none, timeout: 10s}}
      - id: soc-webhook
        type: webhook
        url: {server.url("/hook")}
        secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
        timeout: 5s
    """
    path = tmp_path / "monitor.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_config(path, environ_database=False)


def _unrelated(prefix: str) -> list[Item]:
    return [
        Item(
            f"{prefix}-{i}",
            title,
            body,
            f"https://{prefix}.example/news/{i}",
            OLD + timedelta(days=i),
        )
        for i, (title, body) in enumerate(UNRELATED)
    ]


def _hooks(server: LoopbackServer) -> list[dict[str, object]]:
    return [json.loads(r.body) for r in server.requests_to("/hook")]


async def test_one_alert_per_story_rule_and_channel(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, smtp: SmtpServer
) -> None:
    http_server.route("/mofa.xml", Response(body=rss(_unrelated("mofa"))))
    http_server.route("/qna.xml", Response(body=rss(_unrelated("qna"), title="QNA")))
    http_server.route("/hook", Response(204))
    config = _config(tmp_path, db_url, http_server, smtp.port)

    outcomes = (await poll_once(config, ["mofa-qa-ar", "qna-ar"], False, None)).outcomes
    assert all(o.ok for o in outcomes) and sum(o.new for o in outcomes) == 6
    assert _hooks(http_server) == [] and smtp.messages == []  # the baseline alerts nothing

    title, body = seed()
    now = datetime.now(UTC)
    ministry = Item("mofa-nato", title, body, "https://www.mofa.gov.qa/ar/news/nato", now)
    agency = Item(
        "qna-nato",
        f"قنا | {title}",
        f"الدوحة - قنا\n\n{body}",
        "https://www.qna.org.qa/ar/nato",
        now,
    )
    http_server.route("/mofa.xml", Response(body=rss([ministry, *_unrelated("mofa")])))
    http_server.route("/qna.xml", Response(body=rss([agency, *_unrelated("qna")], title="QNA")))

    outcomes = (await poll_once(config, ["mofa-qa-ar", "qna-ar"], False, None)).outcomes
    assert all(o.ok for o in outcomes) and sum(o.new for o in outcomes) == 2
    hooks = _hooks(http_server)
    assert sorted(h["rule"]["id"] for h in hooks) == ["cyber", "nato"]  # type: ignore[index]
    nato = next(h for h in hooks if h["rule"]["id"] == "nato")  # type: ignore[index]
    # both sources are polled at once: whichever copy was matched first carries the alert,
    # and the other is listed as its copy
    first = nato["release"]["source"]["id"]  # type: ignore[index]
    assert first in ("mofa-qa-ar", "qna-ar")
    assert [c["source"] for c in nato["copies"]] == [
        {"mofa-qa-ar": "qna-ar", "qna-ar": "mofa-qa-ar"}[first]
    ]  # type: ignore[index]
    assert {m["term"] for m in nato["matches"]} & {"الناتو", "لحلف شمال الأطلسي"}  # type: ignore[union-attr]
    (mail,) = smtp.messages
    assert mail.message["Subject"].startswith("[monitor] NATO: ")

    engine = await open_store(config.database)
    try:
        stories = {
            r.story_id for r in await queries.list_releases(engine) if r.identity.endswith("nato")
        }
        alerts = await queries.list_alerts(engine)
    finally:
        await engine.dispose()
    assert len(stories) == 1  # the agency's copy joined the ministry's story
    assert sorted((a.rule_id, a.channel_id, a.status) for a in alerts) == [
        ("cyber", "soc-webhook", "sent"),
        ("nato", "ops-email", "sent"),
        ("nato", "soc-webhook", "sent"),
    ]

    await poll_once(config, ["mofa-qa-ar", "qna-ar"], False, None)  # nothing new: nothing sent
    assert len(_hooks(http_server)) == 2 and len(smtp.messages) == 1


async def test_failing_webhook_does_not_stop_email_and_retry_keeps_the_id(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, smtp: SmtpServer
) -> None:
    http_server.route("/mofa.xml", Response(body=rss(_unrelated("mofa"))))
    http_server.route("/qna.xml", Response(body=rss([], title="QNA")))
    http_server.route("/hook", Response(503, b"down"))
    config = _config(tmp_path, db_url, http_server, smtp.port)
    await poll_once(config, ["mofa-qa-ar"], False, None)

    title, body = seed()
    item = Item("mofa-nato", title, body, "https://www.mofa.gov.qa/ar/news/nato", datetime.now(UTC))
    http_server.route("/mofa.xml", Response(body=rss([item, *_unrelated("mofa")])))
    await poll_once(config, ["mofa-qa-ar"], False, None)

    assert len(smtp.messages) == 1  # email went out although the webhook failed
    failed_ids = {r.headers["webhook-id"] for r in http_server.requests_to("/hook")}
    engine = await open_store(config.database)
    try:
        failed = await queries.list_alerts(engine, "failed")
        assert {a.id for a in failed} == failed_ids and len(failed) == 2
        assert all(a.last_error and "503" in a.last_error for a in failed)
        http_server.route("/hook", Response(200))
        await poll_once(config, ["mofa-qa-ar"], False, None)  # retry not due yet: nothing sent
        assert len(http_server.requests_to("/hook")) == 2
        for alert in failed:
            assert await queries.retry_alert(engine, alert.id) == "failed"
        await poll_once(config, ["mofa-qa-ar"], False, None)
        sent = await queries.list_alerts(engine, "sent")
    finally:
        await engine.dispose()
    resent = [r.headers["webhook-id"] for r in http_server.requests_to("/hook")[2:]]
    assert sorted(resent) == sorted(failed_ids)  # the same ids, once each
    assert {a.id for a in sent} >= failed_ids
    assert len(smtp.messages) == 1
