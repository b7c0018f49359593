"""What `monitor poll` says about skipped items and a flood, driven as an operator would."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from tests.e2e.test_cli import monitor, write_config
from tests.support.feeds import Item, rss
from tests.support.http_server import LoopbackServer, Response


def _flood(count: int) -> bytes:
    now = datetime.now(UTC)
    return rss(
        [Item(f"n{i}", f"NATO {i}", "NATO", f"https://m.example/{i}", now) for i in range(count)]
    )


def _config(tmp_path: Path, server: LoopbackServer) -> Path:
    return write_config(
        tmp_path,
        f"""
        database: sqlite:///{tmp_path}/monitor.db
        sources:
          - id: mofa-qa
            url: {server.url("/feed")}
          - id: moi
            url: {server.url("/list")}
            type: html
            select: {{item: "div.news", title: "h3", link: "a@href"}}
        rules:
          - id: nato
            query: NATO
            channels: [console]
        channels:
          - id: console
            type: log
        """,
    )


LISTING = b"""<html><body>
<div class="news"><h3><a href="/1">NATO one</a></h3></div>
<div class="news"><h3>no link here</h3></div>
<div class="news"><h3><a href="/3">NATO three</a></h3></div>
</body></html>"""


def test_poll_reports_a_flood_and_skipped_items(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    http_server.route("/feed", Response(body=_flood(60)))
    http_server.route("/list", Response(body=LISTING, headers={"Content-Type": "text/html"}))
    config = _config(tmp_path, http_server)

    result = monitor("poll", config=config)

    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert (
        "mofa-qa: ok, 60 entries, 60 new, 0 revised, "
        "60 not alerted one by one (flood guard: one notice)" in lines
    )
    assert any(
        line.startswith("moi: ok, 2 entries, 2 new, 0 revised, 1 skipped: no title or no link")
        for line in lines
    )
    # the log channel's one notice (beside the alarm's own log line)
    notices = [line for line in lines if "60 new releases" in line and "channel=console" in line]
    assert len(notices) == 1 and "see `monitor releases --source mofa-qa`" in notices[0]
    assert "alerts:" not in result.stderr  # the listing's items are undated: its baseline

    found = monitor("releases", "--source", "mofa-qa", "--query", "NATO", "--json", config=config)
    assert len([json.loads(line) for line in found.stdout.splitlines()]) == 60


def test_no_flood_guard_alerts_them_all(tmp_path: Path, http_server: LoopbackServer) -> None:
    http_server.route("/feed", Response(body=_flood(60)))
    config = _config(tmp_path, http_server)

    result = monitor("poll", "--source", "mofa-qa", "--no-flood-guard", config=config)

    assert result.returncode == 0, result.stderr
    assert "alerts: 60 sent" in result.stderr
    assert "new releases in one poll" not in result.stderr


def test_a_refused_flood_notice_fails_the_poll_until_it_is_sent(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    """SPEC section 1: a failed delivery is a runtime failure — a flood notice as much as an
    alert (it was exit 0 while the only word of 60 releases lay undelivered)."""
    http_server.route("/feed", Response(body=_flood(60)))
    http_server.route("/hook", Response(503, b"down"))
    config = write_config(
        tmp_path,
        f"""
        database: sqlite:///{tmp_path}/monitor.db
        sources:
          - id: mofa-qa
            url: {http_server.url("/feed")}
        rules:
          - id: nato
            query: NATO
            channels: [soc]
        channels:
          - id: soc
            type: webhook
            url: {http_server.url("/hook")}
        """,
    )

    refused = monitor("poll", config=config)

    assert refused.returncode == 1, refused.stderr
    assert "flood notices: 1 not sent (retry scheduled" in refused.stderr
    assert len(http_server.requests_to("/hook")) == 1
