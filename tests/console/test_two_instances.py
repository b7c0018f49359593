"""Two `monitor run` on one PostgreSQL: a rule saved through one instance's API is in
force on the other within 10 s, without a restart, and its alert reaches the receiver
from whichever instance polled the release; a mute set through the other silences both
(the next release's alert is recorded as muted, and nothing is sent)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.console.conftest import PUBLISHED, Bench, config_text, seed_release
from tests.console.served import Served, free_port, monitor
from tests.console.test_browser_rules import _alerts_for, _call, _in_force
from tests.support.feeds import Item, rss
from tests.support.http_server import Response
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RULE = {"id": "navy", "query": "البحرية", "channels": ["hook"]}
NEWS = (
    ("قطر تشارك في مناورات البحرية المشتركة", "شاركت القوات البحرية في مناورات مشتركة في الخليج."),
    ("البحرية تستقبل سفينة تدريب جديدة", "استقبلت القوات البحرية اليوم سفينة تدريب حديثة للطلاب."),
)


@pytest.fixture
def pair(tmp_path: Path, pg_url: str, bench: Bench) -> Iterator[tuple[Served, Served]]:
    seed_release()
    bench.hook_ok = True
    running: list[Served] = []
    try:
        for name in ("a", "b"):
            port = free_port()
            text = config_text(pg_url, bench.server, listen=f"127.0.0.1:{port}", interval="10s")
            directory = tmp_path / name
            directory.mkdir()
            config = directory / "monitor.yaml"
            config.write_text(text, encoding="utf-8")
            running.append(Served(config, port))
        yield running[0], running[1]
    finally:
        for served in running:
            code, _, stderr = served.stop()
            print(stderr[-4000:])  # shown when the test fails
            assert code == 0, stderr


def _feed(count: int) -> bytes:
    title, body = seed_release()
    items = [Item("seed", title, body, "https://mofa.example/ar/nato", PUBLISHED)]
    moment = datetime.now(UTC)
    for n, (t, b) in enumerate(NEWS[:count]):
        items.append(Item(f"navy-{n}", t, b, f"https://mofa.example/navy/{n}", moment))
    return rss(items)


def _token(served: Served, role: str) -> str:
    made = monitor(served.config, "tokens", "create", f"pair-{role}", "--role", role)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def test_a_rule_and_a_mute_reach_both_instances(pair: tuple[Served, Served], bench: Bench) -> None:
    first, second = pair
    editor = _token(first, "editor")  # one database: the token works on both
    made = _call(first.url + "/api/v1/rules", editor, "POST", RULE)
    assert made[0] == 201, made[2]
    wait_until(lambda: _in_force(second, editor), timeout=10, what="the rule on the other")
    wait_until(lambda: _in_force(first, editor), timeout=10, what="the rule on the first")

    bench.server.route("/ministry.xml", Response(200, _feed(1)))
    sent = wait_until(lambda: _alerts_for(bench, "navy"), timeout=30, what="the rule's alert")
    assert sent[0]["release"]["title"] == NEWS[0][0]  # type: ignore[index]

    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    muted = _call(second.url + "/api/v1/rules/navy/mute", editor, "POST", {"until": until})
    assert muted[0] == 200 and json.loads(muted[2])["muted_until"]
    bench.server.route("/ministry.xml", Response(200, _feed(2)))

    def muted_alert() -> list[dict[str, object]]:
        code, _, body = _call(first.url + "/api/v1/alerts?status=muted&rule=navy", editor)
        assert code == 200, body
        items: list[dict[str, object]] = json.loads(body)["items"]
        return items

    recorded = wait_until(muted_alert, timeout=30, what="the muted alert")
    assert len(recorded) == 1
    assert len(_alerts_for(bench, "navy")) == 1  # the first only: nothing sent while muted
    rules = json.loads(_call(first.url + "/api/v1/rules", editor)[2])["items"]
    assert {r["id"]: r["muted_until"] for r in rules}["navy"] is not None
