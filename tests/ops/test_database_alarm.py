"""A database that stays unwritable is told to the alarm channels, and its end too.

The daemon runs in this process (so the test can shorten the 5 minutes to 2 seconds) on
SQLite on a small real volume, with a webhook alarm channel on loopback. The alarms of
``ops.alarms`` live in the database and cannot be written now: this notice is the
instance's own, sent straight to the channels, as a ``source.alarm`` of kind ``database``.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config.load import load_config
from monitor.daemon import Daemon
from monitor.ops import health
from tests.support.drill import Ministry
from tests.support.http_server import LoopbackServer, Response
from tests.support.volume import Volume, mounted_volume
from tests.support.waiting import wait_until


@pytest.fixture
def volume(tmp_path: Path) -> Iterator[Volume]:
    with mounted_volume(tmp_path / "vol", "4m") as mounted:
        yield mounted


async def _until(condition) -> None:  # type: ignore[no-untyped-def]
    """Wait on a condition (never a fixed sleep), off the loop the daemon runs on."""
    await asyncio.to_thread(wait_until, condition, 60)


async def test_a_lasting_outage_raises_a_database_alarm_and_its_recovery(
    tmp_path: Path, volume: Volume, http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "ALARM_AFTER", timedelta(seconds=2))
    ministry = Ministry(http_server)
    ministry.publish(1)
    http_server.route("/alarms", Response(200))
    config_path = tmp_path / "monitor.yaml"
    config_path.write_text(
        textwrap.dedent(f"""
        database: "sqlite:///{volume.path / "monitor.db"}"
        defaults: {{interval: 2s, timeout: 2s}}
        alarm_channels: [alarms]
        sources:
          - {{id: ministry, url: "{http_server.url("/feed")}"}}
        rules:
          - {{id: nato, query: NATO, channels: [console]}}
        channels:
          - {{id: console, type: log}}
          - {{id: alarms, type: webhook, url: "{http_server.url("/alarms")}", timeout: 2s}}
        """),
        encoding="utf-8",
    )
    daemon = Daemon(load_config(config_path), config_path)
    running = asyncio.create_task(daemon.run())

    def notices() -> list[dict[str, object]]:
        return [json.loads(r.body) for r in http_server.requests_to("/alarms")]

    try:
        await _until(lambda: len(http_server.requests_to("/feed")) >= 1)
        volume.fill()
        ministry.publish(1)  # the next poll has something to write
        await _until(lambda: len(notices()) >= 1)
        volume.free()
        await _until(lambda: len(notices()) >= 2)
    finally:
        daemon.stopping.set()
        await asyncio.wait_for(running, 30)
    raised, cleared = notices()
    assert raised["type"] == cleared["type"] == "source.alarm"
    assert raised["alarm"] == {"kind": "database", "state": "raised"}
    assert "database unwritable: database or disk is full" in str(raised["message"])
    assert cleared["alarm"] == {"kind": "database", "state": "cleared"}
    assert cleared["id"] == f"{raised['id']}-cleared"
