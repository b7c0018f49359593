"""The `monitor` command itself, driven as an operator would, against real servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEED_RELEASE
from tests.support.feeds import UNRELATED, Item, rss, seed
from tests.support.http_server import LoopbackServer, Response


def monitor(
    *args: str, config: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "monitor"]
    if config is not None:
        command += ["--config", str(config)]
    full_env = {
        k: v for k, v in os.environ.items() if k not in ("MONITOR_CONFIG", "MONITOR_DATABASE_URL")
    }
    full_env.update(env or {})
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=120, env=full_env, cwd=ROOT
    )


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_check_passes_on_every_shipped_config() -> None:
    for path in sorted((ROOT / "config").rglob("*.yaml")):
        result = monitor("check", config=path)
        assert result.returncode == 0, (path, result.stderr)
        assert "ok" in result.stdout


def test_check_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        """
        sources:
          - id: mofa
            url: https://www.mofa.gov.qa/rss
            intervall: 10m
        rules:
          - id: nato
            query: '(NATO OR الناتو'
            channels: [pager]
        channels:
          - id: console
            type: log
        """,
    )
    result = monitor("check", config=config)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"{config}:5: sources[0] (mofa).intervall: unknown key; did you mean 'interval'?",
        f"{config}:8: rules[0] (nato).query: unbalanced parenthesis: expected ')' at column 16",
        f"{config}:9: rules[0] (nato).channels[0]: unknown channel 'pager'",
        f"{config}:11: warning: channels[0] (console): no rule sends to this channel and it "
        "is not in alarm_channels: it will never send anything",
    ]
    # every command refuses an invalid config the same way, starting nothing
    for command in (["sources"], ["poll"], ["alerts", "retry", "abcdef"], ["db", "upgrade"]):
        refused = monitor(*command, config=config)
        assert (refused.returncode, refused.stderr) == (2, result.stderr), command


def test_check_warns_of_an_unused_channel_and_passes(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        """
        sources:
          - id: mofa
            url: https://www.mofa.gov.qa/rss
        rules:
          - id: nato
            query: NATO
            channels: [console]
        channels:
          - id: console
            type: log
          - id: spare
            type: log
        """,
    )
    result = monitor("check", config=config)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"{config}:12: warning: channels[1] (spare): no rule sends to this channel and it is "
        "not in alarm_channels: it will never send anything"
    ]


def test_an_unknown_log_format_is_refused() -> None:
    result = monitor("--log-format", "xml", "check", config=ROOT / "config" / "monitor.yaml")
    assert result.returncode == 2
    words = " ".join(result.stderr.replace("│", " ").split())  # typer boxes and wraps it
    assert "'xml' is not a log format: use text or json" in words


def test_yaml_error_names_file_line_and_column(tmp_path: Path) -> None:
    config = write_config(tmp_path, "sources:\n  - id: x\n   url: [\n")
    result = monitor("check", config=config)
    assert result.returncode == 2
    assert result.stderr.startswith(f"{config}: line 3, column ")


def test_rules_test_on_the_seed_release_as_json(tmp_path: Path) -> None:
    result = monitor(
        "rules", "test", "--json", str(SEED_RELEASE), config=ROOT / "config" / "monitor.yaml"
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    rules = {line["rule"] for line in lines}
    assert {"nato", "cyber"} <= rules
    nato = next(line for line in lines if line["rule"] == "nato")
    assert nato["document"] == str(SEED_RELEASE)
    # offsets index the document's own text, as the loader read it (not a normalised copy)
    from monitor.rules.documents import load_documents

    ((_, document),) = load_documents(str(SEED_RELEASE))
    assert nato["matches"]
    for match in nato["matches"]:
        field = getattr(document, match["field"])
        assert field[match["start"] : match["end"]] == match["term"]
        assert match["term"] in match["snippet"]


def test_poll_then_browse_the_archive(tmp_path: Path, http_server: LoopbackServer) -> None:
    title, body = seed()
    items = [Item("nato", title, body, "https://www.mofa.gov.qa/ar/nato", datetime.now(UTC))]
    items += [
        Item(f"u{i}", t, b, f"https://www.mofa.gov.qa/ar/{i}", datetime(2019, 1, 1, tzinfo=UTC))
        for i, (t, b) in enumerate(UNRELATED)
    ]
    http_server.route("/feed", Response(body=rss(items)))
    http_server.route("/broken", Response(500, b"oops"))
    config = write_config(
        tmp_path,
        f"""
        database: sqlite:///{tmp_path / "db.sqlite"}
        sources:
          - id: mofa
            url: {http_server.url("/feed")}
          - id: broken
            url: {http_server.url("/broken")}
        rules:
          - id: nato
            query: 'الناتو OR NATO'
            channels: [console]
        channels:
          - id: console
            type: log
        """,
    )
    polled = monitor("poll", config=config)
    assert polled.returncode == 1  # one source failed; the other was still processed
    assert "broken: failed: HTTP 500" in polled.stderr
    assert "mofa: ok, 4 entries, 4 new" in polled.stderr

    sources = {
        s["id"]: s
        for s in map(json.loads, monitor("sources", "--json", config=config).stdout.splitlines())
    }
    assert sources["mofa"]["status"] == "ok" and sources["mofa"]["releases"] == 4
    assert sources["broken"]["status"] == "failing" and "500" in sources["broken"]["last_error"]
    assert set(sources["mofa"]) >= {
        "id",
        "name",
        "url",
        "status",
        "last_error",
        "last_warning",
        "last_success_at",
        "next_poll_at",
        "releases",
    }

    releases = [
        json.loads(x) for x in monitor("releases", "--json", config=config).stdout.splitlines()
    ]
    assert len(releases) == 4
    assert set(releases[0]) >= {"id", "source", "title", "url", "published_at", "story", "language"}
    found = [
        json.loads(x)
        for x in monitor(
            "releases", "--json", "--query", "الناتو", config=config
        ).stdout.splitlines()
    ]
    assert [r["title"] for r in found] == [title]
    assert monitor("releases", "--limit", "2", "--json", config=config).stdout.count("\n") == 2

    alerts = [json.loads(x) for x in monitor("alerts", "--json", config=config).stdout.splitlines()]
    assert [(a["rule"], a["channel"], a["status"]) for a in alerts] == [("nato", "console", "sent")]
    assert set(alerts[0]) >= {
        "id",
        "rule",
        "channel",
        "release",
        "status",
        "attempts",
        "last_error",
    }
    retry = monitor("alerts", "retry", alerts[0]["id"], config=config)
    assert retry.returncode == 1 and "only failed or dead alerts" in retry.stderr
    assert monitor("alerts", "--status", "bogus", config=config).returncode == 2
    assert monitor("db", "upgrade", config=config).returncode == 0


@pytest.mark.parametrize(
    "args", [["--help"], ["poll", "--help"], ["rules", "test", "--help"], ["alerts", "--help"]]
)
def test_help(args: list[str]) -> None:
    result = monitor(*args)
    assert result.returncode == 0 and "Usage" in result.stdout


def test_poll_exits_1_when_a_delivery_fails(tmp_path: Path, http_server: LoopbackServer) -> None:
    # SPEC section 1: every source polled fine, but the webhook receiver answers 500: the
    # run failed (exit 1), the alert stays queued for its retry, the other channel got its
    title, body = seed()
    items = [Item("nato", title, body, "https://www.mofa.gov.qa/ar/nato", datetime.now(UTC))]
    http_server.route("/feed", Response(body=rss(items)))
    http_server.route("/hook", Response(500, b"receiver down"))
    config = write_config(
        tmp_path,
        f"""
        database: sqlite:///{tmp_path / "db.sqlite"}
        sources:
          - id: mofa
            url: {http_server.url("/feed")}
        rules:
          - id: nato
            query: 'الناتو OR NATO'
            channels: [console, hook]
        channels:
          - id: console
            type: log
          - id: hook
            type: webhook
            url: {http_server.url("/hook")}
        """,
    )
    polled = monitor("poll", config=config)
    assert polled.returncode == 1, polled.stderr
    assert "mofa: ok, 1 entries, 1 new" in polled.stderr
    assert "alerts: 1 sent, 1 failed (retry scheduled), 0 dead" in polled.stderr
    assert len(http_server.requests_to("/hook")) == 1
    alerts = {
        a["channel"]: a
        for a in map(json.loads, monitor("alerts", "--json", config=config).stdout.splitlines())
    }
    assert alerts["console"]["status"] == "sent"
    assert alerts["hook"]["status"] == "failed" and alerts["hook"]["attempts"] == 1
    assert "500" in alerts["hook"]["last_error"]
    # the next poll finds nothing new and no retry due yet: nothing failed, exit 0
    again = monitor("poll", config=config)
    assert again.returncode == 0, again.stderr
