"""The apprise channel against a real loopback receiver: Apprise's JSON service
(``json://127.0.0.1:PORT/path``) posts ``{"title", "message", "type"}`` to it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from monitor.config.channel_values import url_problem
from monitor.config.load import load_config
from monitor.errors import ConfigError, DeliveryError
from monitor.notify.apprise import AppriseChannel, scrub, shown_targets, url_secrets
from monitor.notify.payload import AlertView
from monitor.notify.render import Renderer, sample_alerts
from tests.notify.smtp_server import refused_port
from tests.support.http_server import LoopbackServer, Response

DOHA = ZoneInfo("Asia/Qatar")
TOKEN = "s3cr3t-T0KEN-abc"  # a path that is a secret, as in most services' URLs


@pytest.fixture
def receiver() -> Iterator[LoopbackServer]:
    server = LoopbackServer().start()
    yield server
    server.stop()


def json_url(server: LoopbackServer, path: str = f"/hook/{TOKEN}") -> str:
    return f"json://apprise-user:pa55w0rd@127.0.0.1:{server.port}{path}"


def posted(server: LoopbackServer, path: str = f"/hook/{TOKEN}") -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in server.requests_to(path)]


def channel(*urls: str, timeout: float = 10.0) -> AppriseChannel:
    return AppriseChannel("desk", list(urls), Renderer(zone=DOHA), timeout=timeout)


async def test_one_story_is_one_message_with_every_rule_in_local_time(
    receiver: LoopbackServer, seed_alert: AlertView
) -> None:
    receiver.route(f"/hook/{TOKEN}", Response(200))
    cyber = replace(seed_alert, alert_id="a-cyber", rule_id="cyber", rule_name="Cyber")
    await channel(json_url(receiver)).send_story("story-1", [seed_alert, cyber])
    (message,) = posted(receiver)
    assert message["title"] == f"[monitor] NATO, Cyber: {seed_alert.title}"
    body = message["message"]
    assert "Rules:     NATO, Cyber" in body
    assert "Matches for NATO:" in body and "Matches for Cyber:" in body
    assert "Published: 2019-03-13 10:00 +03" in body  # the config's zone, with its offset
    assert seed_alert.url in body and "الناتو" in body
    (request,) = receiver.requests_to(f"/hook/{TOKEN}")
    assert request.headers["Authorization"].startswith("Basic ")  # the URL's credentials


async def test_at_most_three_snippets_per_rule_and_the_summary_cut(
    receiver: LoopbackServer, make_alert: Any
) -> None:
    from monitor.model import Hit

    receiver.route(f"/hook/{TOKEN}", Response(200))
    hits = tuple(Hit("summary", "NATO", i, i + 4, f"snippet {i} NATO") for i in range(9))
    alert = make_alert(summary="NATO partners. " * 200, matches=hits, match_total=9)
    await channel(json_url(receiver)).send(alert)
    (message,) = posted(receiver)
    body = message["message"]
    assert body.count("  - NATO in summary:") == 3 and "+ 6 more" in body
    shown = body.split("Published:", 1)[1].split("Link:", 1)[0]
    assert 500 < len(shown.strip()) < 800 and "…" in shown


async def test_a_500_fails_with_one_line_without_secrets_then_the_retry_succeeds(
    receiver: LoopbackServer, seed_alert: AlertView
) -> None:
    answers = iter([Response(500), Response(200)])
    receiver.route(f"/hook/{TOKEN}", lambda request: next(answers))
    desk = channel(json_url(receiver))
    with pytest.raises(DeliveryError) as failed:
        await desk.send(seed_alert)
    message = str(failed.value)
    assert message.startswith("JSON (urls[0]): ") and "500" in message
    assert "\n" not in message
    for secret in (TOKEN, "pa55w0rd", "apprise-user", json_url(receiver)):
        assert secret not in message
    assert secret not in repr(desk)
    await desk.send(seed_alert)  # the outbox's retry
    assert len(posted(receiver)) == 2


async def test_alarm_notices_and_digests_go_through_too(receiver: LoopbackServer) -> None:
    receiver.route(f"/hook/{TOKEN}", Response(200))
    arabic, english, alarm = sample_alerts()
    desk = channel(json_url(receiver))
    await desk.send(alarm)
    await desk.send_digest("digest-1", [arabic, english])
    notice, digest = posted(receiver)
    assert notice["title"] == "[monitor] source failing: mofa-qa-ar"
    assert "HTTP 503" in notice["message"]
    assert digest["title"].startswith("[monitor] 2 new matches")
    assert arabic.title in digest["message"] and english.title in digest["message"]


async def test_a_retry_resends_only_to_the_target_that_failed(
    receiver: LoopbackServer, seed_alert: AlertView
) -> None:
    receiver.route("/ok", Response(200))
    answers = iter([Response(503), Response(200)])
    receiver.route("/flaky", lambda request: next(answers))
    desk = channel(json_url(receiver, "/ok"), json_url(receiver, "/flaky"))
    with pytest.raises(DeliveryError, match=r"^JSON \(urls\[1\]\): "):
        await desk.send(seed_alert)
    await desk.send(seed_alert)
    assert len(posted(receiver, "/ok")) == 1  # delivered once, not again on the retry
    assert len(posted(receiver, "/flaky")) == 2


async def test_a_receiver_that_never_answers_fails_within_the_timeout(
    receiver: LoopbackServer, seed_alert: AlertView
) -> None:
    receiver.route(f"/hook/{TOKEN}", Response(hang=True))
    with pytest.raises(DeliveryError) as failed:
        await channel(json_url(receiver), timeout=0.5).send(seed_alert)
    assert "JSON (urls[0])" in str(failed.value)
    assert TOKEN not in str(failed.value)


async def test_a_refused_connection_is_a_delivery_error(seed_alert: AlertView) -> None:
    url = f"json://127.0.0.1:{refused_port()}/hook/{TOKEN}"
    with pytest.raises(DeliveryError) as failed:
        await channel(url).send(seed_alert)
    assert str(failed.value).startswith("JSON (urls[0]): ")
    assert TOKEN not in str(failed.value) and "127.0.0.1" not in str(failed.value)


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_apprise_log_lines_never_reach_the_daemons_log(
    receiver: LoopbackServer, seed_alert: AlertView
) -> None:
    root = logging.getLogger()
    kept, level = Kept(), root.level
    root.addHandler(kept)
    root.setLevel(logging.DEBUG)  # monitor --verbose
    try:
        receiver.route(f"/hook/{TOKEN}", Response(500))
        with pytest.raises(DeliveryError):
            await channel(json_url(receiver)).send(seed_alert)
    finally:
        root.removeHandler(kept)
        root.setLevel(level)
    assert not [r for r in kept.records if r.name.startswith(("apprise", "urllib3"))]
    assert not [r for r in kept.records if TOKEN in r.getMessage()]


def test_url_problems_name_the_scheme_never_the_url() -> None:
    assert url_problem("json://127.0.0.1:8080/path") is None
    assert url_problem("tgram://123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ/-100123") is None
    unknown = url_problem("nosuchservice://user:topsecret@host/x")
    assert unknown is not None and "'nosuchservice://…'" in unknown
    assert "topsecret" not in unknown
    assert url_problem("tgram://") is not None  # a known service with its token missing
    assert url_problem("just text") is not None


def test_shown_targets_name_services_only() -> None:
    urls = [
        "tgram://123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ/-100123",
        "ntfys://ntfy.example.org/desk-alerts",
        "nosuch://secret",
    ]
    shown = shown_targets(urls)
    assert shown == "Telegram, ntfy, not understood"


def test_scrub_removes_every_piece_of_the_url() -> None:
    url = "tgram://123456789:AAbbCCddEEffGGhh/-100123?format=html&key=v%40lue"
    text = "sent with 123456789:AAbbCCddEEffGGhh to -100123 (key=v@lue, AAbbCCddEEffGGhh)"
    cleaned = scrub(text, url_secrets(url))
    for piece in ("123456789", "AAbbCCddEEffGGhh", "100123", "v@lue"):
        assert piece not in cleaned


def write(tmp_path: Path, urls: str, env: dict[str, str] | None = None) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        "rules: [{id: nato, query: NATO, channels: [desk]}]\n"
        f"channels:\n  - id: desk\n    type: apprise\n    urls: {urls}\n",
        encoding="utf-8",
    )
    return path


def test_config_takes_urls_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TG_TOKEN", "123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ")
    monkeypatch.setenv("TG_CHAT", "-100123")
    config = load_config(write(tmp_path, '["tgram://${TG_TOKEN}/${TG_CHAT}"]'))
    (spec,) = config.channels
    assert spec.type == "apprise"
    assert "AAbbCC" not in repr(spec)  # urls are left out of the repr


def test_check_refuses_a_url_apprise_does_not_understand_without_showing_it(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, '["json://127.0.0.1/ok", "tgramx://TOPSECRET/1", "tgram://"]')
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert refused.value.problems == [
        f"{path}:5: channels[0] (desk).urls[1]: 'tgramx://…' is not a URL Apprise understands "
        "(an unknown service, or a token or address missing): see Apprise's list of services",
        f"{path}:5: channels[0] (desk).urls[2]: 'tgram://…' is not a URL Apprise understands "
        "(an unknown service, or a token or address missing): see Apprise's list of services",
    ]
    empty = write(tmp_path, "[]")
    with pytest.raises(ConfigError) as none:
        load_config(empty)
    assert none.value.problems == [f"{empty}:5: channels[0] (desk).urls: needs at least 1 entry"]
