"""`monitor run` as a process: it polls on schedule, delivers, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import ROOT
from tests.support.feeds import Item, rss, seed
from tests.support.http_server import LoopbackServer, Response


def test_run_polls_delivers_and_stops_on_sigterm(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    title, body = seed()
    http_server.route(
        "/feed",
        Response(
            body=rss([Item("nato", title, body, "https://mofa.example/nato", datetime.now(UTC))])
        ),
    )
    http_server.route("/hook", Response(200))
    database = tmp_path / "db.sqlite"
    config = tmp_path / "monitor.yaml"
    config.write_text(
        textwrap.dedent(f"""
        database: sqlite:///{database}
        defaults: {{interval: 10s}}
        sources:
          - id: mofa
            url: {http_server.url("/feed")}
        rules:
          - id: nato
            query: 'الناتو'
            channels: [hook]
        channels:
          - id: hook
            type: webhook
            url: {http_server.url("/hook")}
        """),
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_DATABASE_URL"}
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "--log-format", "json", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        (hook,) = http_server.wait_for_requests("/hook", 1, timeout=30)
        payload = json.loads(hook.body)
        assert payload["rule"]["id"] == "nato" and payload["release"]["title"] == title
        http_server.wait_for_requests("/feed", 2, timeout=30)  # polled again on its interval
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=15)
        stopped_in = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
        _, stderr = process.communicate(timeout=10)
    assert code == 0, stderr
    assert stopped_in < 10
    logs = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert any(line.get("action") == "sent" and line.get("channel") == "hook" for line in logs)
    assert logs[-1]["action"] == "stop"
    with sqlite3.connect(database) as conn:
        leases = conn.execute(
            "SELECT count(*) FROM sources WHERE lease_owner IS NOT NULL UNION ALL "
            "SELECT count(*) FROM alerts WHERE lease_owner IS NOT NULL"
        ).fetchall()
        statuses = conn.execute("SELECT status FROM alerts").fetchall()
    assert leases == [(0,), (0,)]
    assert statuses == [("sent",)]
    assert len(http_server.requests_to("/hook")) == 1  # the second poll sent nothing again
