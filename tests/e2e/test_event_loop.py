"""The event loop `monitor run` and `monitor poll` work on: uvloop's where it is installed,
asyncio's with ``MONITOR_EVENT_LOOP=asyncio``. On either the daemon polls, alerts through
a webhook, reloads on SIGHUP and stops on SIGTERM, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer

from monitor.cli.daemon import EVENT_LOOP_VARIABLE, event_loop_factory
from tests.conftest import ROOT
from tests.support.feeds import Item, rss, seed
from tests.support.http_server import LoopbackServer, Response
from tests.support.waiting import wait_until


def _config(path: Path, database: str, server: LoopbackServer) -> str:
    body = textwrap.dedent(f"""
        database: {database}
        defaults: {{interval: 2s}}
        sources:
          - id: mofa
            url: {server.url("/feed")}
        rules:
          - id: nato
            query: 'الناتو'
            channels: [hook]
        channels:
          - id: hook
            type: webhook
            url: {server.url("/hook")}
        """)
    path.write_text(body, encoding="utf-8")
    return body


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_run_on_each_loop_alerts_reloads_and_stops(
    loop: str, db_url: str, tmp_path: Path, http_server: LoopbackServer
) -> None:
    title, body = seed()
    item = Item("nato", title, body, "https://mofa.example/nato", datetime.now(UTC))
    http_server.route("/feed", Response(body=rss([item])))
    http_server.route("/hook", Response(200))
    config = tmp_path / "monitor.yaml"
    text = _config(config, db_url, http_server)
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_DATABASE_URL"}
    if loop == "asyncio":
        env[EVENT_LOOP_VARIABLE] = "asyncio"
    else:
        env.pop(EVENT_LOOP_VARIABLE, None)  # the default
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "--log-format", "json", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    logs: list[dict[str, object]] = []

    def read() -> None:
        assert process.stderr is not None
        logs.extend(json.loads(line) for line in process.stderr if line.startswith("{"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def said(message: str) -> bool:
        return any(line.get("message") == message for line in list(logs))

    try:
        assert wait_until(lambda: said(f"event loop: {loop}"), 30)
        (hook,) = http_server.wait_for_requests("/hook", 1, timeout=30)
        assert json.loads(hook.body)["release"]["title"] == title
        config.write_text(text.replace("id: nato", "id: nato2"), encoding="utf-8")
        process.send_signal(signal.SIGHUP)
        assert wait_until(lambda: said("configuration reloaded"), 30)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        reader.join(timeout=10)
        assert process.stderr is not None
        process.stderr.close()
    assert logs[-1]["action"] == "stop"
    assert not [line for line in logs if line["level"] == "error"]


def test_poll_refuses_an_unknown_loop(tmp_path: Path, http_server: LoopbackServer) -> None:
    http_server.route("/feed", Response(body=rss([])))
    http_server.route("/hook", Response(200))
    config = tmp_path / "monitor.yaml"
    _config(config, f"sqlite:///{tmp_path / 'monitor.db'}", http_server)
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_DATABASE_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "poll"],
        cwd=ROOT,
        env={**env, EVENT_LOOP_VARIABLE: "tokio"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "MONITOR_EVENT_LOOP='tokio': expected uvloop or asyncio" in done.stderr
    assert not http_server.requests_to("/feed")


def test_the_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvloop

    monkeypatch.delenv(EVENT_LOOP_VARIABLE, raising=False)
    assert event_loop_factory() is uvloop.new_event_loop
    for value, factory in [("uvloop", uvloop.new_event_loop), (" AsyncIO ", None)]:
        monkeypatch.setenv(EVENT_LOOP_VARIABLE, value)
        assert event_loop_factory() is factory
    monkeypatch.setenv(EVENT_LOOP_VARIABLE, "trio")
    with pytest.raises(typer.Exit) as raised:
        event_loop_factory()
    assert raised.value.exit_code == 2
