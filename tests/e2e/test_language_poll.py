"""Language from the text, end to end: ``monitor poll`` of an Arabic source that declares no
language gives its releases ``ar``, so a ``lang:ar`` rule alerts on them and the email lays
them out right to left; a source that says ``en`` over Arabic items keeps ``en`` and gets
one warning on ``monitor sources``, not one per item."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.e2e.test_cli import monitor
from tests.notify.smtp_server import SmtpServer
from tests.support.feeds import UNRELATED, Item, rss, seed
from tests.support.http_server import LoopbackServer, Response


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def arabic_feed(prefix: str) -> bytes:
    title, body = seed()
    now = datetime.now(UTC)
    items = [Item(f"{prefix}-nato", title, body, f"https://mofa.example/{prefix}/nato", now)]
    items += [
        Item(f"{prefix}-{i}", t, d, f"https://mofa.example/{prefix}/{i}", now)
        for i, (t, d) in enumerate(UNRELATED[:2])
    ]
    return rss(items).replace(b"<language>ar</language>", b"")  # declares nothing


def test_an_undeclared_arabic_source_gets_ar_from_its_text(
    tmp_path: Path, http_server: LoopbackServer, smtp: SmtpServer
) -> None:
    headers = {"Content-Type": "application/rss+xml"}
    http_server.route("/ar", Response(body=arabic_feed("ar"), headers=headers))
    http_server.route("/said-en", Response(body=arabic_feed("en"), headers=headers))
    http_server.route("/hook", Response(204))
    config = tmp_path / "monitor.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            database: sqlite:///{tmp_path / "db.sqlite"}
            timezone: Asia/Qatar
            sources:
              - id: mofa-ar
                url: {http_server.url("/ar")}
              - id: mofa-said-en
                url: {http_server.url("/said-en")}
                language: en
            rules:
              - id: nato-ar
                name: NATO (Arabic)
                query: 'lang:ar AND الناتو'
                channels: [hook, mail]
            channels:
              - id: hook
                type: webhook
                url: {http_server.url("/hook")}
              - id: mail
                type: email
                to: [desk@example.org]
                from: monitor@example.org
                smtp: {{host: 127.0.0.1, port: {smtp.port}, tls: none, timeout: 10s}}
            """
        ),
        encoding="utf-8",
    )
    polled = monitor("poll", config=config)
    assert polled.returncode == 0, polled.stderr

    # the lang:ar scope matched the undeclared source only
    (event,) = [json.loads(r.body) for r in http_server.requests_to("/hook")]
    assert event["rule"]["id"] == "nato-ar"
    assert event["release"]["source"]["id"] == "mofa-ar"
    assert event["release"]["language"] == "ar"

    # the email lays the release out right to left (it reads the release's language)
    (mail,) = smtp.messages
    html = mail.message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert 'dir="rtl"' in html

    releases = [
        json.loads(line)
        for line in monitor("releases", "--json", config=config).stdout.split("\n")
        if line
    ]
    assert {(r["source"], r["language"]) for r in releases} == {
        ("mofa-ar", "ar"),
        ("mofa-said-en", "en"),
    }
    assert len(releases) == 6

    health = {
        s["id"]: s
        for s in map(json.loads, monitor("sources", "--json", config=config).stdout.splitlines())
    }
    warning = health["mofa-said-en"]["last_warning"]
    assert health["mofa-said-en"]["status"] == "ok"
    assert warning.count("language 'en' is declared, but the items read as 'ar'") == 1
    assert "declared" not in (health["mofa-ar"]["last_warning"] or "")
