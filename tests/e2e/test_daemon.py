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
from tests.support.waiting import wait_until


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
        defaults: {{interval: 2s}}
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
        # polled again on its interval (2 s: the test waits for it)
        http_server.wait_for_requests("/feed", 2, timeout=30)
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


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Daemon:
    """`monitor run` as a subprocess whose JSON log lines are collected as they come."""

    def __init__(self, config: Path) -> None:
        import threading

        env = {k: v for k, v in os.environ.items() if k != "MONITOR_DATABASE_URL"}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "monitor",
                "--config",
                str(config),
                "--log-format",
                "json",
                "run",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.logs: list[dict[str, object]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            if line.startswith("{"):
                self.logs.append(json.loads(line))

    def wait_log(self, predicate, timeout: float = 30) -> dict[str, object]:  # type: ignore[no-untyped-def]
        return wait_until(
            lambda: next((line for line in list(self.logs) if predicate(line)), None), timeout
        )


def _get(url: str) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_endpoint_single_instance_and_reload(tmp_path: Path, http_server: LoopbackServer) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    http_server.route("/feed", Response(body=rss([])))
    port = _free_port()
    config = tmp_path / "monitor.yaml"
    # a new source is due at start-up with up to 10 % of its interval as jitter, capped at
    # 30 s (SPEC 2): on the default 15m that cap alone would use up the wait below
    body = textwrap.dedent(f"""
        database: sqlite:///{tmp_path / "db.sqlite"}
        defaults: {{interval: 10s}}
        http: {{listen: "127.0.0.1:{port}"}}
        sources:
          - id: mofa
            url: {http_server.url("/feed")}
        rules:
          - id: nato
            query: 'الناتو'
            channels: [console]
        channels:
          - id: console
            type: log
        """)
    config.write_text(body, encoding="utf-8")
    daemon = Daemon(config)
    process = daemon.process
    try:
        assert wait_until(lambda: _get(f"http://127.0.0.1:{port}/healthz")[0] == 200)
        assert wait_until(lambda: _get(f"http://127.0.0.1:{port}/readyz")[0] == 200)
        http_server.wait_for_requests("/feed", 1, timeout=30)
        status, text = _get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        names = {family.name for family in text_string_to_metric_families(text)}
        assert {"monitor_polls", "monitor_outbox_alerts", "monitor_sources_failing"} <= names

        second = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1
        assert "another monitor is already running" in second.stderr

        config.write_text(body.replace("'الناتو'", "'(الناتو'"), encoding="utf-8")
        process.send_signal(signal.SIGHUP)
        rejected = daemon.wait_log(lambda line: line.get("action") == "reload")
        assert rejected["level"] == "error" and "rules[0] (nato).query" in str(rejected["message"])
        config.write_text(body.replace("id: nato", "id: nato2"), encoding="utf-8")
        process.send_signal(signal.SIGHUP)
        daemon.wait_log(lambda line: line.get("message") == "configuration reloaded")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        # closed here, not after: a failed assertion must not leave the pipe to be collected
        # (and warned about) during some later test
        daemon.reader.join(timeout=10)
        assert process.stderr is not None
        process.stderr.close()
    assert daemon.logs[-1]["action"] == "stop"
