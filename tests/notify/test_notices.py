"""Source alarm notices have their own email, chat and log forms (issue 17.8), generic over
the kind (failing, empty, silent, and the flood guard's ``flood``), with times in the
config's zone (17.7). Before, a notice reused the release template: "Matches:" and nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.model import Config
from monitor.notify.log import LogChannel
from monitor.notify.payload import AlarmNotice, AlertView, build_payload
from monitor.notify.registry import build_channels
from monitor.notify.render import Renderer
from monitor.notify.slack import ChatRenderer, chat_payload
from monitor.ops.alarms import check_alarms
from monitor.store.tables import SOURCES
from tests.conftest import Engines
from tests.notify.smtp_server import SmtpServer

DOHA = ZoneInfo("Asia/Qatar")
AT = datetime(2019, 3, 13, 7, 0, tzinfo=UTC)  # 10:00 in Doha
FLOOD = (
    "mofa-qa: 43,194 new releases in one poll; not alerted one by one — "
    "see `monitor releases --source mofa-qa`"
)


def notice(
    kind: str, state: Literal["raised", "cleared"], title: str, summary: str = ""
) -> AlertView:
    return AlertView(
        alert_id=f"alarm-7{'-cleared' if state == 'cleared' else ''}",
        rule_id=f"alarm:{kind}",
        rule_name="Source alarm",
        release_id="",
        source_id="mofa-qa",
        source_name="وزارة الخارجية <b>",
        title=title,
        url="https://www.mofa.gov.qa/rss",
        published_at=AT,
        language=None,
        summary=summary or title,
        matches=(),
        alarm=AlarmNotice(kind, state),
    )


@pytest.mark.parametrize(
    ("kind", "state", "subject"),
    [
        ("failing", "raised", "[monitor] source failing: mofa-qa"),
        ("empty", "raised", "[monitor] source empty: mofa-qa"),
        ("silent", "raised", "[monitor] source silent: mofa-qa"),
        ("flood", "raised", "[monitor] source flood: mofa-qa"),
        ("failing", "cleared", "[monitor] recovered: mofa-qa"),
        ("some-new-kind", "raised", "[monitor] source some-new-kind: mofa-qa"),
    ],
)
def test_notice_email_for_any_kind(
    kind: str, state: Literal["raised", "cleared"], subject: str
) -> None:
    title = FLOOD if kind == "flood" else f"MOFA: {kind} <script>"
    got, text, html = Renderer(zone=DOHA).render_email([notice(kind, state, title)])
    assert got == subject
    assert "Matches" not in text and "Matches" not in html
    assert title in text and f"Alarm:     {kind}, " in text
    assert "At:        2019-03-13 10:00 +03" in text and "2019-03-13 10:00 +03" in html
    assert "<script>" not in html and "<b>" not in html  # release and config text escaped
    assert ("recovered" in text) == (state == "cleared")


def test_recovery_says_what_it_recovered_from() -> None:
    cleared = notice(
        "failing", "cleared", "MOFA: recovered, polls succeed again", "MOFA: failing for 2h: 503"
    )
    _, text, _ = Renderer(zone=DOHA).render_email([cleared])
    assert "Was:       MOFA: failing for 2h: 503" in text


async def test_flood_notice_in_chat_and_log(caplog: pytest.LogCaptureFixture) -> None:
    flood = notice("flood", "raised", FLOOD)
    text = str(chat_payload(ChatRenderer(Renderer(zone=DOHA)), [flood])["text"])
    assert text.startswith("*Source flood* · ")
    assert "43,194 new releases in one poll" in text and "2019-03-13 10:00 +03" in text
    assert "Matches" not in text and "<b>" not in text
    assert build_payload(flood)["type"] == "source.alarm"  # webhooks keep their own type

    caplog.set_level(logging.INFO, logger="tests.notices")
    channel = LogChannel("console", logging.getLogger("tests.notices"), zone=DOHA)
    await channel.send(flood)
    (record,) = caplog.records
    assert record.getMessage() == (f"alarm source flood (raised at 2019-03-13 10:00 +03): {FLOOD}")


@pytest.fixture
async def engine(db_url: str, engines: Engines) -> AsyncEngine:
    return await engines.open(db_url)


async def test_alarm_notices_by_email_through_check_alarms(
    engine: AsyncEngine, smtp_server: Callable[..., SmtpServer]
) -> None:
    server = smtp_server()
    config = Config(
        timezone="Asia/Qatar",
        sources=({"id": "mofa", "name": "MOFA", "url": "https://mofa.example/rss"},),
        channels=(
            {
                "id": "mail",
                "type": "email",
                "to": ["ops@example.org"],
                "from": "monitor@example.org",
                "smtp": {"host": "127.0.0.1", "port": server.port, "tls": "none"},
            },
        ),
        alarm_channels=("mail",),
    )  # type: ignore[arg-type]
    t0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    async with engine.begin() as connection:
        await connection.execute(
            sa.insert(SOURCES).values(
                id="mofa",
                url="https://mofa.example/rss",
                kind="feed",
                created_at=t0,
                status="failing",
                last_error="HTTP 503",
                last_success_at=t0,
            )
        )
    async with httpx.AsyncClient() as client:
        channels = build_channels(config, client)
        await check_alarms(engine, config, channels, t0 + timedelta(hours=2))
        async with engine.begin() as connection:
            await connection.execute(
                sa.update(SOURCES).values(status="ok", last_success_at=t0 + timedelta(hours=3))
            )
        await check_alarms(engine, config, channels, t0 + timedelta(hours=3))
    raised, cleared = (m.message for m in server.messages)
    assert raised["Subject"] == "[monitor] source failing: mofa"
    text = raised.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "MOFA: failing for 2h: HTTP 503" in text and "At:        2024-05-01 17:00 +03" in text
    assert "Matches" not in text
    assert cleared["Subject"] == "[monitor] recovered: mofa"
    text = cleared.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "MOFA: recovered, polls succeed again" in text and "Was:       MOFA: failing" in text
