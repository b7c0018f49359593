"""What ``monitor poll`` loads and leaves behind: it starts only what the config needs.

Each poll runs the real command in a fresh interpreter that writes, on exit, the modules it
imported and the state of the garbage collector.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.collector import YOUNG
from tests.conftest import ROOT
from tests.support.feeds import Item, rss, seed
from tests.support.http_server import LoopbackServer, Request, Response

EMAIL_STACK = {
    "aiosmtplib",
    "jinja2",
    "monitor.notify.email",
    "monitor.notify.render",
    "email_validator",
}
# what only a changed body needs (parsing, shingling, matching), and what only the daemon
# needs (the scheduler, the metrics endpoint)
NOT_IN_A_WARM_POLL = {
    "lxml",
    "feedparser",
    "numpy",
    "ahocorasick",
    "monitor.parse.listing",
    "apscheduler",
    "prometheus_client",
}

_RECORD = """
import atexit, gc, json, sys

report = sys.argv[1]

def record():
    with open(report, "w", encoding="utf-8") as out:
        json.dump(
            {
                "modules": sorted(sys.modules),
                "gc_enabled": gc.isenabled(),
                "frozen": gc.get_freeze_count(),
                "young": gc.get_threshold()[0],
            },
            out,
        )

atexit.register(record)
sys.argv = ["monitor", *sys.argv[2:]]
from monitor.cli import main

main()
"""


def poll(config: Path, report: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-c", _RECORD, str(report), "--config", str(config), "poll"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    return result, json.loads(report.read_text(encoding="utf-8"))


def serve_feed(server: LoopbackServer) -> None:
    """The seed release on /feed, answered 304 to a client that sends its ETag back."""
    title, body = seed()
    feed = rss([Item("nato", title, body, "https://www.mofa.gov.qa/ar/nato", datetime.now(UTC))])

    def answer(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(304)
        return Response(body=feed, headers={"ETag": '"v1"', "Content-Type": "application/rss+xml"})

    server.route("/feed", answer)


def config_with(tmp_path: Path, server: LoopbackServer, extra: str = "", to: str = "") -> Path:
    """One source, one rule alerting on the log channel and on ``to``, defined by ``extra``."""
    path = tmp_path / "monitor.yaml"
    path.write_text(
        textwrap.dedent(
            f"""
            database: sqlite:///{tmp_path / "db.sqlite"}
            sources:
              - id: mofa
                url: {server.url("/feed")}
            rules:
              - id: nato
                query: 'الناتو OR NATO'
                channels: [console{", " + to if to else ""}]
            channels:
              - id: console
                type: log
            """
        )
        + textwrap.indent(textwrap.dedent(extra), "  "),
        encoding="utf-8",
    )
    return path


def test_a_log_only_poll_never_loads_the_email_stack(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    serve_feed(http_server)
    config = config_with(tmp_path, http_server)

    cold, loaded = poll(config, tmp_path / "cold.json")
    assert cold.returncode == 0, cold.stderr
    assert "mofa: ok, 1 entries, 1 new" in cold.stderr
    assert "alerts: 1 sent" in cold.stderr, cold.stderr
    assert "monitor.notify.log" in loaded["modules"]
    assert EMAIL_STACK.isdisjoint(loaded["modules"])
    # start-up's objects were frozen and the collector is on again for the work after it
    assert loaded["gc_enabled"] and loaded["frozen"] > 0
    # and it collects less often than CPython's default (``monitor.collector``)
    assert loaded["young"] == YOUNG

    warm, loaded = poll(config, tmp_path / "warm.json")
    assert warm.returncode == 0, warm.stderr
    assert "mofa: ok, unchanged" in warm.stderr
    assert [r.headers.get("If-None-Match") for r in http_server.requests_to("/feed")] == [
        None,
        '"v1"',
    ]
    assert EMAIL_STACK.isdisjoint(loaded["modules"])
    assert NOT_IN_A_WARM_POLL.isdisjoint(loaded["modules"])
    assert loaded["gc_enabled"]


def test_only_a_configured_channel_type_is_loaded(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    serve_feed(http_server)
    http_server.route("/hook", Response(204))
    webhook = f"""
        - id: hook
          type: webhook
          url: {http_server.url("/hook")}
        """
    config = config_with(tmp_path, http_server, webhook, to="hook")
    result, loaded = poll(config, tmp_path / "hook.json")
    assert result.returncode == 0, result.stderr
    assert "alerts: 2 sent" in result.stderr  # the log line and the webhook's POST
    assert len(http_server.requests_to("/hook")) == 1
    # a JSON webhook renders no template: neither Jinja2 nor the email stack
    assert EMAIL_STACK.isdisjoint(loaded["modules"])

    email = """
        - id: mail
          type: email
          to: [ops@example.org]
          from: monitor@example.org
          smtp: {host: 127.0.0.1, port: 1, tls: none}
        """
    (tmp_path / "db.sqlite").unlink()
    config = config_with(tmp_path, http_server, email, to="mail")
    result, loaded = poll(config, tmp_path / "mail.json")
    # nothing listens on port 1: the email channel tried, and will retry (poll exits 1)
    assert result.returncode == 1, result.stderr
    assert "alerts: 1 sent, 1 failed (retry scheduled)" in result.stderr
    assert set(loaded["modules"]) >= EMAIL_STACK
