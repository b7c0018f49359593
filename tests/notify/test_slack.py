"""``format: slack``: a Slack/Mattermost message (text plus blocks) in which release text is
inert mrkdwn, sent with the Standard Webhooks headers; operator chat templates override."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from monitor.notify.payload import AlertView
from monitor.notify.render import Renderer
from monitor.notify.slack import (
    MAX_BLOCKS,
    ChatRenderer,
    chat_digest_payload,
    chat_payload,
    escape_mrkdwn,
    link,
)
from monitor.notify.template_check import check_templates
from monitor.notify.webhook import WebhookChannel
from tests.support.http_server import LoopbackServer, Response

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ZWSP = "\u200b"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NATO & partners", "NATO &amp; partners"),
        ("<!everyone> look", "&lt;!everyone&gt; look"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("<https://evil.example|click>", "&lt;https://evil.example|click&gt;"),
        ("hey @channel and @here", f"hey @{ZWSP}channel and @{ZWSP}here"),
        ("(@all)", f"(@{ZWSP}all)"),
        ("@someone", f"@{ZWSP}someone"),
        ("write to info@mofa.gov.qa", "write to info@mofa.gov.qa"),  # not a mention
        ("الناتو @الناتو", f"الناتو @{ZWSP}الناتو"),
        ("a @ b", "a @ b"),
        ("&amp;", "&amp;amp;"),
    ],
)
def test_escape_mrkdwn(text: str, expected: str) -> None:
    assert escape_mrkdwn(text) == expected


def test_link_escapes_both_parts() -> None:
    assert link("https://x.example/?a=1&b=2", "A <b> | c") == (
        "<https://x.example/?a=1&amp;b=2|A &lt;b&gt; | c>"
    )
    assert link("https://x.example/a|b", "t") == "<https://x.example/a%7Cb|t>"


def _all_text(payload: dict[str, object]) -> str:
    return json.dumps(payload, ensure_ascii=False)


def test_hostile_release_text_is_inert(make_alert: Callable[..., AlertView]) -> None:
    alert = make_alert(
        title="<!channel> NATO\n> fake quote @here & <https://evil.example|login>",
        source_name="MOFA <!everyone>",
    )
    payload = chat_payload(ChatRenderer(Renderer()), [alert])
    assert set(payload) == {"text", "blocks"}
    text = str(payload["text"])
    assert "<!" not in _all_text(payload) and "<https://evil" not in _all_text(payload)
    assert f"@{ZWSP}here" in text and "&amp;" in text
    assert "\n> fake quote" not in text  # a value is one line: no forged quote
    (block,) = payload["blocks"]
    assert block["type"] == "section" and block["text"]["type"] == "mrkdwn"
    assert block["text"]["text"] == text
    assert "<https://www.mofa.gov.qa/en/news/1|" in text  # the one link monitor made


def test_arabic_seed_alert(seed_alert: AlertView) -> None:
    text = str(chat_payload(ChatRenderer(Renderer()), [seed_alert])["text"])
    assert text.startswith("*NATO*") and "الناتو" in text and "qna-ar" in text


def test_digest_one_block_per_story_and_caps_blocks(make_alert: Callable[..., AlertView]) -> None:
    alerts = [
        make_alert(alert_id=f"n{i}", release_id=f"r{i}", story_id=f"s{i}", title=f"NATO {i}")
        for i in range(3)
    ]
    # the cyber rule matched the story of "NATO 0" too: one block names both rules
    alerts.append(make_alert(alert_id="c1", rule_id="cyber", rule_name="Cyber", story_id="s0"))
    payload = chat_digest_payload(ChatRenderer(Renderer()), alerts)
    texts = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert texts[0] == "*4 new matches:* NATO, Cyber"
    assert len(texts) == 4  # the heading and three stories
    assert texts[1].startswith("*NATO, Cyber*") and "NATO 0" in texts[1]
    assert texts[2].startswith("*NATO*") and "NATO 1" in texts[2]
    many = [make_alert(alert_id=f"a{i}", release_id=f"r{i}", title=f"T {i}") for i in range(120)]
    big = chat_digest_payload(ChatRenderer(Renderer()), many)
    assert len(big["blocks"]) <= MAX_BLOCKS
    assert big["blocks"][-1]["type"] == "context" and "more" in big["text"]


async def test_slack_webhook_is_signed(
    http_server: LoopbackServer, make_alert: Callable[..., AlertView]
) -> None:
    http_server.route("/slack", Response(200, b"ok"))
    async with httpx.AsyncClient() as client:
        channel = WebhookChannel(
            "chat", http_server.url("/slack"), client, secret=SECRET, timeout=5, format="slack"
        )
        await channel.send(make_alert())
        await channel.send_digest("digest-1", [make_alert(), make_alert(alert_id="alert-2")])
    one, two = http_server.requests_to("/slack")
    for request in (one, two):
        Webhook(SECRET).verify(request.body, request.headers)
        assert set(json.loads(request.body)) == {"text", "blocks"}
    assert one.headers["webhook-id"] == "alert-1" and two.headers["webhook-id"] == "digest-1"


def test_operator_chat_template_overrides_and_is_checked(
    templates_dir: Path, make_alert: Callable[..., AlertView]
) -> None:
    templates_dir.mkdir()
    (templates_dir / "chat.txt").write_text(":rotating_light: {{ alert.rule_name }}: {{ title }}")
    renderer = Renderer(templates_dir)
    payload = chat_payload(ChatRenderer(renderer), [make_alert(title="A <b> & @here")])
    assert payload["text"] == f":rotating_light: NATO: A &lt;b&gt; &amp; @{ZWSP}here"
    assert check_templates(renderer) == []
    (templates_dir / "chat_digest.txt").write_text("{{ count }")
    (problem,) = check_templates(renderer)
    assert "chat_digest.txt" in problem and "\n" not in problem
