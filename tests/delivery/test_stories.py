"""One message per story per channel (issue 17.6), times in the config's zone (17.7).

Against real receivers (aiosmtpd, a loopback webhook and chat receiver, the log) on
SQLite and PostgreSQL: the alerts of one story that fall due together are one email,
one chat message and one log line listing every rule, while a JSON webhook gets one
event per alert; a message shows at most 3 snippets per rule and about 600 characters
of summary; the story's alerts are recorded together and retried together under one
Message-ID; ``max_per_hour`` counts messages; a digest has one entry per story.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from monitor.store import queries
from monitor.store.tables import ALERTS
from tests.delivery.conftest import SECRET, Store, delivering, write_config
from tests.notify.smtp_server import SmtpServer
from tests.support.http_server import LoopbackServer, Response

RULES = ["nato", "cyber", "terror"]
NAMES = "NATO, Cyber, Counter-terrorism"
PUBLISHED = datetime(2019, 3, 13, 7, 0, tzinfo=UTC)  # 10:00 in Doha


def channels(smtp: SmtpServer, server: LoopbackServer, *mail_options: str) -> str:
    mail = "\n".join(f"  {option}" for option in mail_options)
    return f"""
    - id: hook
      type: webhook
      url: {server.url("/hook")}
      secret: {SECRET}
    - id: chat
      type: webhook
      format: slack
      url: {server.url("/chat")}
    - id: console
      type: log
    - id: mail
      type: email
      to: [ops@example.org]
      from: Monitor <monitor@example.org>
      smtp: {{host: 127.0.0.1, port: {smtp.port}, tls: none, timeout: 5s}}
    {mail}
    """


def hit(term: str, i: int) -> dict[str, Any]:
    return {
        "field": "content",
        "term": term,
        "start": i * 40,
        "end": i * 40 + len(term),
        "snippet": f"paragraph {i} says {term} again",
    }


async def alert_rows(store: Store) -> list[Any]:
    async with store.engine.connect() as conn:
        return list((await conn.execute(select(ALERTS).order_by(ALERTS.c.rule_id))).all())


async def test_three_rules_one_release_make_one_message_and_three_webhook_events(
    tmp_path: Path,
    db_url: str,
    smtp: SmtpServer,
    http_server: LoopbackServer,
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="monitor.alerts")
    http_server.route("/hook", Response(204))
    http_server.route("/chat", Response(200, b"ok"))
    config = write_config(tmp_path, db_url, channels(smtp, http_server))
    async with delivering(config, client) as (store, run):
        made = await store.queue_story(
            RULES,
            ["hook", "chat", "console", "mail"],
            title="Minister meets NATO chief on cyber defence and terrorism",
            summary="Talks in Brussels.",
            hits={rule: [hit(rule, 0)] for rule in RULES},
            published_at=PUBLISHED,
        )
        counts = await run.deliver_all()
        assert (counts.sent, counts.failed, counts.dead) == (12, 0, 0)

        (mail,) = smtp.messages  # one email, every rule listed
        msg = mail.message
        assert (
            msg["Subject"]
            == f"[monitor] {NAMES}: Minister meets NATO chief on cyber defence and terrorism"
        )
        text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert f"Rules:     {NAMES}" in text
        for name in ("NATO", "Cyber", "Counter-terrorism"):
            assert f"Matches for {name}:" in text
        assert "Published: 2019-03-13 10:00 +03" in text  # the config's zone (17.7)
        assert "+00" not in text and "07:00" not in text
        email_ids = [made[(rule, "mail")] for rule in RULES]
        for alert_id in email_ids:
            assert alert_id in text

        hooks = http_server.requests_to("/hook")  # one event per alert
        bodies = [json.loads(r.body) for r in hooks]
        assert sorted(b["id"] for b in bodies) == sorted(made[(r, "hook")] for r in RULES)
        assert {b["rule"]["id"] for b in bodies} == set(RULES)
        for request, body in zip(hooks, bodies, strict=True):
            Webhook(SECRET).verify(request.body, request.headers)
            assert request.headers["webhook-id"] == body["id"]
            assert body["release"]["published_at"] == "2019-03-13T07:00:00+00:00"  # ISO

        (chat,) = http_server.requests_to("/chat")
        chat_text = json.loads(chat.body)["text"]
        assert chat_text.startswith(f"*{NAMES}*") and "2019-03-13 10:00 +03" in chat_text

        lines = [r.getMessage() for r in caplog.records if r.name == "monitor.alerts"]
        assert len(lines) == 1
        assert lines[0].startswith(f"alert {NAMES}: Minister meets")
        assert lines[0].endswith("(published 2019-03-13 10:00 +03)")

        rows = await alert_rows(store)
        assert {r.status for r in rows} == {"sent"} and {r.attempts for r in rows} == {1}
        message_ids = {r.message_id for r in rows if r.channel_id == "mail"}
        assert len(message_ids) == 1  # recorded together, as one message
        (message_id,) = message_ids
        assert msg["Message-ID"] == f"<{message_id}@example.org>"
        hook_rows = [r for r in rows if r.channel_id == "hook"]
        assert {r.message_id for r in hook_rows} == {r.id for r in hook_rows}


async def test_a_long_release_shows_three_snippets_per_rule_and_600_characters(
    tmp_path: Path,
    db_url: str,
    smtp: SmtpServer,
    http_server: LoopbackServer,
    client: httpx.AsyncClient,
) -> None:
    http_server.route("/hook", Response(204))
    config = write_config(tmp_path, db_url, channels(smtp, http_server))
    summary = " ".join(f"sentence{i} about NATO and its partners." for i in range(400))
    async with delivering(config, client) as (store, run):
        await store.queue_story(
            ["nato", "cyber"],
            ["mail", "hook"],
            title="A long release",
            summary=summary,
            hits={"nato": [hit("NATO", i) for i in range(27)], "cyber": [hit("cyber", 0)]},
        )
        assert (await run.deliver_all()).sent == 4
    (mail,) = smtp.messages
    text = mail.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    nato = text.split("Matches for NATO:", 1)[1].split("Matches for Cyber:", 1)[0]
    assert nato.count("  - NATO in content:") == 3 and "+ 24 more" in nato
    assert "paragraph 0 says «NATO»" in nato and "paragraph 3" not in nato
    cyber = text.split("Matches for Cyber:", 1)[1]
    assert cyber.count("  - cyber in content:") == 1 and "more" not in cyber.split("--")[0]
    shown = text.split("Source:", 1)[1].split("Link:", 1)[0]
    assert summary[:500] in shown and summary[700:800] not in shown
    assert 500 < len(shown.strip()) < 800 and "…" in shown  # cut near 600, then the link
    assert len(mail.raw) < 12_000
    html = mail.message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert html.count("<mark>NATO</mark>") <= 3 + 1 and "+ 24 more" in html

    bodies = {b["rule"]["id"]: b for b in (json.loads(r.body) for r in http_server.requests)}
    assert len(bodies["nato"]["matches"]) == 3 and bodies["nato"]["match_count"] == 27
    assert "match_count" not in bodies["cyber"]
    assert bodies["nato"]["release"]["summary"] == summary  # a webhook carries it whole
    assert "truncated" not in bodies["nato"]


async def test_a_story_message_that_failed_is_retried_whole_with_the_same_message_id(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, client: httpx.AsyncClient
) -> None:
    seen: list[str] = []

    class FailOnce:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            raw = bytes(envelope.content)
            seen.append(raw.split(b"Message-ID: ", 1)[1].split(b"\r\n", 1)[0].decode())
            return "451 try again later" if len(seen) == 1 else "250 OK"

    server = SmtpServer()
    server._controller.handler = FailOnce()
    server.start()
    try:
        config = write_config(tmp_path, db_url, channels(server, http_server))
        async with delivering(config, client) as (store, run):
            made = await store.queue_story(["nato", "cyber"], ["mail"])
            counts = await run.deliver_all()
            assert (counts.sent, counts.failed) == (0, 2)
            rows = await alert_rows(store)
            assert {r.status for r in rows} == {"failed"} and {r.attempts for r in rows} == {1}
            assert len({r.next_attempt_at for r in rows}) == 1  # due again together
            assert all("451" in (r.last_error or "") for r in rows)

            store.clock.advance(timedelta(minutes=2))
            assert (await run.deliver_all()).sent == 2
            rows = await alert_rows(store)
            assert {r.status for r in rows} == {"sent"} and {r.attempts for r in rows} == {2}
            assert {r.id for r in rows} == set(made.values())
    finally:
        server.stop()
    first, second = seen
    assert first == second and first.startswith("<story-")


async def test_max_per_hour_counts_messages_not_alerts(
    tmp_path: Path,
    db_url: str,
    smtp: SmtpServer,
    http_server: LoopbackServer,
    client: httpx.AsyncClient,
) -> None:
    config = write_config(tmp_path, db_url, channels(smtp, http_server, "max_per_hour: 2"))
    async with delivering(config, client) as (store, run):
        for title in ("First story", "Second story"):
            await store.queue_story(RULES, ["mail"], title=title)
        assert (await run.deliver_all()).sent == 6
        subjects = sorted(m.message["Subject"] for m in smtp.messages)  # sent side by side
        assert subjects == [f"[monitor] {NAMES}: First story", f"[monitor] {NAMES}: Second story"]

        await store.queue_story(RULES, ["mail"], title="Third story")
        assert (await run.deliver_all()).sent == 0  # two messages this hour: the budget
        assert len(await queries.list_alerts(store.engine, "pending")) == 3
        store.clock.advance(timedelta(minutes=61))
        assert (await run.deliver_all()).sent == 3
        assert smtp.messages[-1].message["Subject"] == f"[monitor] {NAMES}: Third story"


async def test_a_digest_has_one_entry_per_story(
    tmp_path: Path,
    db_url: str,
    smtp: SmtpServer,
    http_server: LoopbackServer,
    client: httpx.AsyncClient,
) -> None:
    config = write_config(tmp_path, db_url, channels(smtp, http_server, "digest: 1h"))
    async with delivering(config, client) as (store, run):
        await store.queue_story(["nato", "cyber"], ["mail"], title="Both rules")
        await store.queue_story(["nato"], ["mail"], title="NATO only")
        store.clock.advance(timedelta(hours=1))
        assert (await run.deliver_all()).sent == 3
    (mail,) = smtp.messages
    assert mail.message["Subject"] == "[monitor] 3 new matches: NATO, Cyber"
    text = mail.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "==== 1/2 ====" in text and "==== 2/2 ====" in text and "==== 3/" not in text
    both = text.split("==== 1/2 ====", 1)[1].split("==== 2/2 ====", 1)[0]
    assert "Rules:     NATO, Cyber" in both and "Title:     Both rules" in both
    assert "Rules:     NATO" in text.split("==== 2/2 ====", 1)[1].splitlines()
