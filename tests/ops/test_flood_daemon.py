"""The daemon retries a refused flood notice on its minute tick even when no
``alarm_channels`` are configured (the tick used to return at once then, so a notice a
channel refused waited for the flooded source's next poll — an hour away on a long
interval). The daemon runs in this process with a real webhook receiver on loopback."""

from __future__ import annotations

import asyncio
import json
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config.load import load_config
from monitor.daemon import Daemon
from monitor.ops import alarms
from tests.support.feeds import Item, rss
from tests.support.http_server import LoopbackServer, Response
from tests.support.waiting import wait_until


async def test_a_refused_flood_notice_is_retried_by_the_minute_tick_without_alarm_channels(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(alarms, "FLOOD_RETRY", timedelta(0))
    moment = datetime.now(UTC)
    items = [
        Item(f"n{i}", f"NATO {i}", "NATO", f"https://m.example/{i}", moment) for i in range(60)
    ]
    http_server.route("/feed", Response(body=rss(items)))
    http_server.route("/hook", Response(503, b"down"))
    config_path = tmp_path / "monitor.yaml"
    config_path.write_text(
        textwrap.dedent(f"""
        database: "{db_url}"
        defaults: {{interval: 2m}}  # a first poll within 12 s, no second one
        sources:
          - {{id: mofa-qa, url: "{http_server.url("/feed")}"}}
        rules:
          - {{id: nato, query: NATO, channels: [soc]}}
        channels:
          - {{id: soc, type: webhook, url: "{http_server.url("/hook")}", timeout: 2s}}
        """),
        encoding="utf-8",
    )
    daemon = Daemon(load_config(config_path), config_path)
    running = asyncio.create_task(daemon.run())
    try:
        await asyncio.to_thread(wait_until, lambda: http_server.requests_to("/hook"), 60)
        http_server.route("/hook", Response(204))
        for _ in range(300):  # until the refusal is settled and its retry due
            await daemon.alarm_tick()  # what the scheduler runs every minute
            if len(http_server.requests_to("/hook")) == 2:
                break
            await asyncio.sleep(0.1)
        [refused, sent] = http_server.requests_to("/hook")
    finally:
        daemon.stopping.set()
        await asyncio.wait_for(running, 30)
    assert json.loads(sent.body)["alarm"] == {"kind": "flood", "state": "raised"}
    assert sent.headers["webhook-id"] == refused.headers["webhook-id"]
    assert len(http_server.requests_to("/feed")) == 1  # no poll did it: the tick did
