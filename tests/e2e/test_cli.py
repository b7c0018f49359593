"""The `monitor` command itself, driven as an operator would, against real servers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import ROOT, SEED_RELEASE
from tests.support.feeds import UNRELATED, Item, rss, seed
from tests.support.http_server import LoopbackServer, Request, Response


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


def test_check_compiles_the_templates_with_the_configs_own_problems(tmp_path: Path) -> None:
    """The templates are checked from above the config (``monitor.part_checks``), and
    reported in the file's order with the config's own problems."""
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "email.html").write_text("<p>{{ alert.title </p>", encoding="utf-8")
    config = write_config(
        tmp_path,
        f"""
        templates: {templates}
        sources:
          - {{id: mofa, url: 'https://www.mofa.gov.qa/rss'}}
        rules:
          - {{id: nato, query: '(NATO', channels: [console]}}
        channels:
          - {{id: console, type: log}}
        """,
    )
    result = monitor("check", config=config)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert [line.split(": ")[1] for line in lines] == ["templates", "rules[0] (nato).query"]
    assert "email.html: line 1: " in lines[0]


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


def test_rules_test_on_the_seed_release_as_json(tmp_path: Path, corpus: Path) -> None:
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
    from monitor.parse.documents import load_documents

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
    assert polled.stderr.count("HTTP 500") == 1  # said once, in poll's report, not logged too
    lines = polled.stderr.splitlines()
    assert len(lines) == len(set(lines)), lines
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
        timezone: Asia/Qatar
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

    # the delivery log as an operator reads it: local time with its offset, the title
    hook = alerts["hook"]
    table = monitor("alerts", "--channel", "hook", config=config).stdout.splitlines()
    assert table[0].split() == [
        "TIME",
        "ID",
        "RULE",
        "CHANNEL",
        "TITLE",
        "STATUS",
        "TRIES",
        "NEXT",
        "LAST",
        "ERROR",
    ]
    (row,) = table[1:]
    created = datetime.fromisoformat(hook["created_at"]).astimezone(ZoneInfo("Asia/Qatar"))
    assert row.startswith(f"{created:%Y-%m-%d %H:%M} +03  {hook['id'][:8]}  nato")
    assert title[:20] in row and "failed" in row and "HTTP 500" in row
    assert (
        monitor("alerts", "--status", "sent", "--channel", "hook", config=config).stdout.count("\n")
        == 1
    )
    assert [
        a["id"]
        for a in map(
            json.loads,
            monitor(
                "alerts", "--json", "--limit", "1", "--rule", "nato", "--since", "1h", config=config
            ).stdout.splitlines(),
        )
    ]

    # sources and releases too: local times with the offset, no seconds, no microseconds
    (source_row,) = monitor("sources", config=config).stdout.splitlines()[1:]
    (release_row,) = monitor("releases", config=config).stdout.splitlines()[1:]
    for row in (source_row, release_row):
        assert re.search(r" \d{4}-\d\d-\d\d \d\d:\d\d \+03 ", row), row
        assert not re.search(r":\d\d:\d\d|\.\d{6}|T\d\d", row), row

    # alerts show: everything about one alert, by a prefix of its id
    shown = monitor("alerts", "show", hook["id"][:6], config=config)
    assert shown.returncode == 0, shown.stderr
    assert f"alert:        {hook['id']}" in shown.stdout
    assert "url:          https://www.mofa.gov.qa/ar/nato" in shown.stdout
    assert "last error:   webhook 127.0.0.1: HTTP 500" in shown.stdout
    assert "matches: " in shown.stdout and " more" in shown.stdout  # 3 snippets at most
    assert "next attempt: " + created.strftime("%Y-%m-%d") in shown.stdout
    assert "matches: " in shown.stdout and "الناتو" in shown.stdout
    (detail,) = map(
        json.loads,
        monitor("alerts", "show", "--json", hook["id"][:8], config=config).stdout.splitlines(),
    )
    assert len(detail["matches"]) == 3 < detail["matches_total"]
    assert detail["title"] == title

    # a prefix of 8 retries it; too short or unknown says why (exit 2)
    retried = monitor("alerts", "retry", hook["id"][:8], config=config)
    assert (retried.returncode, retried.stdout) == (
        0,
        f"alert {hook['id']}: due now (was failed)\n",
    )
    short = monitor("alerts", "retry", hook["id"][:5], config=config)
    assert short.returncode == 2
    assert "too short: give at least 6 characters" in short.stderr
    assert (
        monitor("alerts", "show", "ffffffff", config=config).stderr
        == "monitor: no alert 'ffffffff'\n"
    )


def test_credentials_in_a_source_url_are_used_never_shown(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    # the feed needs basic auth: the fetcher sends it from the URL; nothing shows it
    import base64

    title, body = seed()
    feed = rss([Item("nato", title, body, "/ar/nato", datetime.now(UTC))])
    expected = "Basic " + base64.b64encode(b"watch:s3cr3t-pw").decode()

    def guarded(request: Request) -> Response:
        if request.headers.get("Authorization") != expected:
            return Response(401, b"who are you?", {"WWW-Authenticate": 'Basic realm="feeds"'})
        return Response(body=feed)

    http_server.route("/feed", guarded)
    http_server.route("/moved", Response(301, headers={"Location": "/feed"}))
    secret_url = http_server.url("/moved").replace("http://", "http://watch:s3cr3t-pw@")
    wrong_url = http_server.url("/feed").replace("http://", "http://watch:wr0ng-pw@")
    config = write_config(
        tmp_path,
        f"""
        database: sqlite:///{tmp_path / "db.sqlite"}
        sources:
          - id: mofa
            url: "{secret_url}"
          - id: wrong
            url: "${{WRONG_URL}}"
        rules:
          - id: nato
            query: 'الناتو OR NATO'
            channels: [console]
        channels:
          - id: console
            type: log
        """,
    )
    env = {"WRONG_URL": wrong_url}
    outputs = []
    polled = monitor("poll", config=config, env=env)
    outputs.append(polled.stdout + polled.stderr)
    assert polled.returncode == 1  # the wrong password: 401
    assert "mofa: ok, 1 entries, 1 new" in polled.stderr
    assert "wrong: failed: HTTP 401" in polled.stderr
    assert expected in {r.headers.get("Authorization") for r in http_server.requests_to("/feed")}
    for command in (
        ["sources", "--json"],
        ["sources"],
        ["releases", "--json"],
        ["alerts", "--json"],
    ):
        done = monitor(*command, config=config, env=env)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout + done.stderr)
    sources = {s["id"]: s for s in map(json.loads, outputs[1].splitlines())}
    port = http_server.port
    assert sources["mofa"]["url"] == f"http://***@127.0.0.1:{port}/moved"
    assert sources["mofa"]["moved_to"] == f"http://***@127.0.0.1:{port}/feed"
    (release,) = map(json.loads, outputs[3].splitlines())
    assert release["url"] == f"http://127.0.0.1:{port}/ar/nato"  # stored without them
    for text in outputs:
        assert "s3cr3t" not in text and "wr0ng" not in text
    # the source row keeps its URL without them (the fetcher reads the config's); a
    # release's link, resolved against the source URL, is stored without them too.
    # sources.moved_to is stored as fetched (shown redacted above)
    import sqlite3

    with sqlite3.connect(tmp_path / "db.sqlite") as db:
        stored = dict(db.execute("SELECT id, url FROM sources").fetchall())
        links = [url for (url,) in db.execute("SELECT url FROM releases")]
    assert stored["mofa"] == f"http://***@127.0.0.1:{port}/moved"
    assert links == [f"http://127.0.0.1:{port}/ar/nato"]
