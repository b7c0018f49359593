"""``monitor sources discover URL`` driven as an operator would, against loopback sites."""

from __future__ import annotations

import json
from pathlib import Path

from tests.discover.test_discover import HTML, MINISTRY, RSS, _items
from tests.e2e.test_cli import monitor, write_config
from tests.support.feeds import rss
from tests.support.http_server import LoopbackServer, Response

CONFIG = "timezone: Asia/Qatar\nchannels: [{id: console, type: log}]\n"


def test_discover_prints_the_feeds_with_titles_and_counts(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    page = b'<html><head><link rel="alternate" type="application/rss+xml" href="/ar/rss"></head></html>'
    http_server.route("/", Response(body=page, headers=HTML))
    http_server.route("/ar/rss", Response(body=rss(_items(3), title="أخبار الوزارة"), headers=RSS))
    config = write_config(tmp_path, CONFIG)

    result = monitor("sources", "discover", http_server.url("/"), config=config)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{http_server.url('/')}: 1 feed"
    assert lines[1] == f"  {http_server.url('/ar/rss')}  (rss20, 3 items, advertised)"
    assert lines[2] == "    title: أخبار الوزارة"
    assert lines[3].startswith("    - 2019-03-10  خبر رقم 0 من الوزارة  https://mofa.example/")


def test_discover_suggests_selectors_for_a_feedless_page_as_json(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    http_server.route("/ar/latest-news", Response(body=MINISTRY.read_bytes(), headers=HTML))
    config = write_config(tmp_path, CONFIG)
    url = http_server.url("/ar/latest-news")

    text = monitor("sources", "discover", url, config=config)
    assert text.returncode == 0, text.stderr
    assert "no feed; suggested selectors for type: html" in text.stdout
    assert (
        'select: {item: "div.news-item", title: "h3", link: "a@href", date: "span.date"}'
        in text.stdout
    )

    as_json = monitor("sources", "discover", url, "--json", config=config)
    found = json.loads(as_json.stdout)
    assert found["feeds"] == []
    assert found["suggestions"][0]["count"] == 4
    assert found["suggestions"][0]["items"][1]["published_at"] == "2019-03-12T21:00:00+00:00"


def test_discover_fails_in_one_line(http_server: LoopbackServer, tmp_path: Path) -> None:
    config = write_config(tmp_path, CONFIG)
    http_server.route(
        "/empty",
        Response(body=b"<html><body><p>Under construction</p></body></html>", headers=HTML),
    )

    missing = monitor("sources", "discover", http_server.url("/missing"), config=config)
    assert missing.returncode == 1
    assert missing.stderr == (
        f"monitor: sources discover: {http_server.url('/missing')}: HTTP 404 Not Found\n"
    )

    empty = monitor("sources", "discover", http_server.url("/empty"), config=config)
    assert empty.returncode == 1
    assert empty.stderr == (
        f"monitor: sources discover: {http_server.url('/empty')}: no feed and no listing found: "
        "no repeated blocks of links found: no selectors to suggest\n"
    )

    bad = monitor("sources", "discover", "ftp://mofa.example/", config=config)
    assert bad.returncode == 2
    assert bad.stderr == (
        "monitor: sources discover: 'ftp://mofa.example/' is not an http:// or https:// URL\n"
    )
