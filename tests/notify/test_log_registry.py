"""The log channel's lines, and the channel registry."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from monitor.notify.email import EmailChannel, SmtpParams
from monitor.notify.log import LogChannel
from monitor.notify.payload import AlertView
from monitor.notify.registry import CHANNEL_TYPES, build_channel
from monitor.notify.render import Renderer
from monitor.notify.webhook import WebhookChannel


async def test_log_channel_writes_one_line_per_alert(
    caplog: pytest.LogCaptureFixture, seed_alert: AlertView
) -> None:
    caplog.set_level(logging.INFO, logger="monitor.alerts")
    await LogChannel("console").send(seed_alert)
    [record] = caplog.records
    assert record.name == "monitor.alerts" and record.levelno == logging.INFO
    line = record.getMessage()
    assert line.startswith("alert NATO: ")
    assert seed_alert.title in line and seed_alert.url in line
    assert "[الناتو, لحلف شمال الأطلسي]" in line
    assert (record.channel, record.rule, record.release, record.alert) == (  # type: ignore[attr-defined]
        "console",
        "nato",
        "rel-42",
        "01J8ZK2Q7M-nato-ops",
    )


async def test_log_line_cannot_be_forged(
    caplog: pytest.LogCaptureFixture, make_alert: Callable[..., AlertView]
) -> None:
    caplog.set_level(logging.INFO, logger="monitor.alerts")
    await LogChannel("console").send(make_alert(title="x\nERROR fake line"))
    assert "\n" not in caplog.records[0].getMessage()


async def test_log_digest_one_line_each(
    caplog: pytest.LogCaptureFixture, make_alert: Callable[..., AlertView]
) -> None:
    logger = logging.getLogger("tests.notify.alerts")
    caplog.set_level(logging.INFO, logger=logger.name)
    alerts = [make_alert(), make_alert(alert_id="2", release_id="rel-2")]
    await LogChannel("console", logger).send_digest("d1", alerts)
    assert [r.alert for r in caplog.records] == ["alert-1", "2"]  # type: ignore[attr-defined]
    assert {r.digest for r in caplog.records} == {"d1"}  # type: ignore[attr-defined]


async def test_build_channel_by_kind() -> None:
    async with httpx.AsyncClient() as client:
        webhook = build_channel("webhook", id="w", url="https://h.example.org/", client=client)
        assert isinstance(webhook, WebhookChannel) and webhook.id == "w"
    smtp = SmtpParams("localhost", 25, "none")
    mail = build_channel(
        "email",
        id="e",
        to=["a@example.org"],
        sender="m@example.org",
        smtp=smtp,
        renderer=Renderer(),
    )
    assert isinstance(mail, EmailChannel)
    assert isinstance(build_channel("log", id="c"), LogChannel)
    assert set(CHANNEL_TYPES) == {"email", "webhook", "log", "apprise"}
    apprise = build_channel("apprise", id="a", urls=["json://127.0.0.1/x"], renderer=Renderer())
    assert type(apprise).__name__ == "AppriseChannel" and apprise.groups_stories


def test_build_channel_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown channel type 'sms'"):
        build_channel("sms", id="x")
