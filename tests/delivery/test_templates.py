"""The config's ``templates`` directory reaches the channels ``build_channels`` makes."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.delivery.conftest import delivering, write_config
from tests.notify.smtp_server import SmtpServer
from tests.support.http_server import LoopbackServer, Response


async def test_operator_templates_override_email_and_chat(
    tmp_path: Path,
    sqlite_url: str,
    smtp: SmtpServer,
    http_server: LoopbackServer,
    client: httpx.AsyncClient,
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "email_subject.txt").write_text("ALERT {{ alert.rule_id }}: {{ title }}")
    (templates / "chat.txt").write_text("NEW {{ title }}")
    http_server.route("/chat", Response(200))
    config = write_config(
        tmp_path,
        sqlite_url,
        f"""
        - id: hook
          type: email
          to: [ops@example.org]
          from: monitor@example.org
          smtp: {{host: 127.0.0.1, port: {smtp.port}, tls: none, timeout: 5s}}
        - id: chat
          type: webhook
          format: slack
          url: {http_server.url("/chat")}
        """,
        extra=f"templates: {templates}\n",
    )
    async with delivering(config, client) as (store, run):
        await store.queue("nato", "hook", title="Talks <b>")
        await store.queue("nato", "chat", title="Talks <b>")
        assert (await run.deliver_all()).sent == 2
    (mail,) = smtp.messages
    assert mail.message["Subject"] == "ALERT nato: Talks <b>"
    (request,) = http_server.requests_to("/chat")
    assert json.loads(request.body)["text"] == "NEW Talks &lt;b&gt;"
