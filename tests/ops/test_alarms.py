"""Source alarms: each raised once per episode, cleared with a recovery notice."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.model import Alarms, Config, Source
from monitor.errors import DeliveryError
from monitor.notify.log import LogChannel
from monitor.notify.payload import AlertView
from monitor.notify.webhook import WebhookChannel
from monitor.ops.alarms import NOTICE_LEASE, SourceFacts, check_alarms, conditions, human
from monitor.store.tables import ALARMS, RELEASES, SOURCES
from tests.ops.conftest import T0, add_rows, add_source
from tests.support.http_server import LoopbackServer, Response

ALARMS_CONFIG = Alarms(failing_for=timedelta(hours=1), silent_for=timedelta(days=7))
FEED = Source(id="mofa", name="MOFA", url="https://mofa.example/rss")
LISTING = Source(
    id="moi",
    url="https://moi.example/news",
    type="html",
    select={"item": "div.news", "title": "h3", "link": "a@href"},
)


def facts(source: Source = FEED, **changes: object) -> SourceFacts:
    values: dict[str, object] = {
        "source": source,
        "status": "ok",
        "last_error": None,
        "last_warning": None,
        "last_success_at": T0,
        "created_at": T0 - timedelta(days=90),
        "recent": 1,
        "usual": 20,
    }
    return SourceFacts(**{**values, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("case", "kinds"),
    [
        (facts(), set()),
        (
            facts(
                status="failing", last_error="timeout", last_success_at=T0 - timedelta(minutes=59)
            ),
            set(),
        ),
        (
            facts(status="failing", last_error="timeout", last_success_at=T0 - timedelta(hours=2)),
            {"failing"},
        ),
        (
            facts(status="failing", last_success_at=None, created_at=T0 - timedelta(hours=3)),
            {"failing"},
        ),
        (facts(status="never", created_at=T0 - timedelta(days=30), recent=0), set()),
        (facts(LISTING, last_warning="item selector 'div.news' matched nothing"), {"empty"}),
        (facts(FEED, last_warning="item selector 'x' matched nothing"), set()),  # feeds have none
        (facts(LISTING, last_warning="2 of 9 items skipped: no title or no link"), set()),
        (facts(recent=0, usual=5), {"silent"}),
        (facts(recent=0, usual=4), set()),  # does not usually publish
        (facts(recent=0, usual=20, status="failing", last_success_at=T0), set()),  # failing instead
        (
            facts(
                LISTING, recent=0, usual=9, last_warning="item selector 'div.news' matched nothing"
            ),
            {"empty", "silent"},
        ),
    ],
)
def test_conditions(case: SourceFacts, kinds: set[str]) -> None:
    assert set(conditions(case, ALARMS_CONFIG, T0)) == kinds


def test_titles_are_one_line_and_say_why() -> None:
    titles = conditions(
        facts(
            status="failing",
            last_error="HTTP 503\nfrom server",
            last_success_at=T0 - timedelta(hours=26),
        ),
        ALARMS_CONFIG,
        T0,
    )
    assert titles == {"failing": "MOFA: failing for 1d 2h: HTTP 503 from server"}
    assert human(timedelta(seconds=45)) == "45s"
    assert human(timedelta(days=7)) == "7d"
    assert human(timedelta(hours=2, minutes=5, seconds=3)) == "2h 5m"


class Recorder:
    """A channel that keeps what it was sent, and can be told to refuse."""

    def __init__(self, id: str) -> None:
        self.id = id
        self.sent: list[AlertView] = []
        self.refuse = False

    async def send(self, alert: AlertView) -> None:
        if self.refuse:
            raise DeliveryError("connection refused")
        self.sent.append(alert)

    async def send_digest(self, digest_id: str, alerts: object) -> None:
        raise AssertionError("alarms are never digested")


def _config(*sources: Source, channels: tuple[str, ...] = ("ops", "console")) -> Config:
    return Config(
        sources=sources,
        channels=(
            {"id": "ops", "type": "webhook", "url": "https://hooks.example/x"},
            {"id": "console", "type": "log"},
        ),
        alarm_channels=channels,
    )  # type: ignore[arg-type]


async def _set(engine: AsyncEngine, source_id: str, **values: object) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            sa.update(SOURCES).where(SOURCES.c.id == source_id).values(**values)
        )


async def test_failing_source_alarm_once_per_episode_then_recovery(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    config = _config(FEED)
    hook = Recorder("ops")
    console = LogChannel("console", logging.getLogger("tests.alarms"))
    channels = {"ops": hook, "console": console}
    await add_source(engine, "mofa", status="failing", last_error="HTTP 503", last_success_at=T0)

    # failing, but not for long enough yet
    assert await check_alarms(engine, config, channels, T0 + timedelta(minutes=30)) == []
    with caplog.at_level(logging.INFO, logger="tests.alarms"):
        events = await check_alarms(engine, config, channels, T0 + timedelta(hours=2))
    assert [(e.kind, e.action, e.delivered) for e in events] == [("failing", "raised", True)]
    assert [v.rule_id for v in hook.sent] == ["alarm:failing"]
    assert hook.sent[0].title == "MOFA: failing for 2h: HTTP 503"
    assert hook.sent[0].alert_id.startswith("alarm-")
    assert any("MOFA: failing for 2h" in r.getMessage() for r in caplog.records)

    # still failing: the same episode, no second notice
    for hours in (3, 30):
        assert await check_alarms(engine, config, channels, T0 + timedelta(hours=hours)) == []
    assert len(hook.sent) == 1

    await _set(
        engine, "mofa", status="ok", last_error=None, last_success_at=T0 + timedelta(hours=31)
    )
    events = await check_alarms(engine, config, channels, T0 + timedelta(hours=31))
    assert [(e.kind, e.action) for e in events] == [("failing", "cleared")]
    assert hook.sent[1].title == "MOFA: recovered, polls succeed again"
    assert hook.sent[1].alert_id == hook.sent[0].alert_id + "-cleared"
    assert await check_alarms(engine, config, channels, T0 + timedelta(hours=32)) == []

    # a new failure is a new episode, with a new notice
    await _set(engine, "mofa", status="failing", last_error="timeout")
    events = await check_alarms(engine, config, channels, T0 + timedelta(hours=40))
    assert [(e.kind, e.action) for e in events] == [("failing", "raised")]
    assert len(hook.sent) == 3 and hook.sent[2].alert_id != hook.sent[0].alert_id
    async with engine.connect() as connection:
        episodes = (await connection.execute(sa.select(ALARMS).order_by(ALARMS.c.id))).all()
    assert [(e.kind, e.cleared_at is None) for e in episodes] == [
        ("failing", False),
        ("failing", True),
    ]


async def test_refused_notice_is_retried_at_the_next_check(engine: AsyncEngine) -> None:
    config = _config(LISTING, channels=("ops",))
    hook = Recorder("ops")
    hook.refuse = True
    await add_source(
        engine,
        "moi",
        kind="html",
        status="ok",
        last_warning="item selector 'div.news' matched nothing",
    )
    events = await check_alarms(engine, config, {"ops": hook}, T0)
    assert [(e.kind, e.delivered) for e in events] == [("empty", False)]
    hook.refuse = False
    events = await check_alarms(engine, config, {"ops": hook}, T0 + timedelta(minutes=1))
    assert [(e.kind, e.action, e.delivered) for e in events] == [("empty", "raised", True)]
    assert [v.rule_id for v in hook.sent] == ["alarm:empty"]
    assert await check_alarms(engine, config, {"ops": hook}, T0 + timedelta(minutes=2)) == []

    await _set(engine, "moi", last_warning=None)
    events = await check_alarms(engine, config, {"ops": hook}, T0 + timedelta(minutes=3))
    assert [(e.kind, e.action) for e in events] == [("empty", "cleared")]


async def test_silent_source_alarm_and_recovery(engine: AsyncEngine) -> None:
    config = _config(FEED, channels=("ops",))
    hook = Recorder("ops")
    await add_source(engine, "mofa", status="ok", last_success_at=T0)
    moment = T0 + timedelta(days=40)
    # six releases dated in the month before the silence, none since
    await add_rows(
        engine,
        RELEASES,
        *(
            {
                "source_id": "mofa",
                "identity": f"g{i}",
                "published_at": moment - timedelta(days=8 + i * 3),
                "first_seen_at": moment - timedelta(days=8 + i * 3),
            }
            for i in range(6)
        ),
    )
    events = await check_alarms(engine, config, {"ops": hook}, moment)
    assert [(e.kind, e.action) for e in events] == [("silent", "raised")]
    assert hook.sent[0].title == "MOFA: nothing new for 7d (it published 6 in the 30 days before)"
    await add_rows(
        engine,
        RELEASES,
        {"source_id": "mofa", "identity": "new", "first_seen_at": moment + timedelta(hours=1)},
    )
    events = await check_alarms(engine, config, {"ops": hook}, moment + timedelta(hours=2))
    assert [(e.kind, e.action) for e in events] == [("silent", "cleared")]
    assert hook.sent[1].title == "MOFA: recovered, publishes again"


async def test_an_alarm_cleared_before_its_notice_went_out_sends_no_recovery(
    engine: AsyncEngine,
) -> None:
    config = _config(FEED, channels=("ops",))
    hook = Recorder("ops")
    hook.refuse = True
    await add_source(engine, "mofa", status="failing", last_error="x", last_success_at=T0)
    await check_alarms(engine, config, {"ops": hook}, T0 + timedelta(hours=2))
    hook.refuse = False
    await _set(engine, "mofa", status="ok")
    assert await check_alarms(engine, config, {"ops": hook}, T0 + timedelta(hours=3)) == []
    assert hook.sent == []


async def test_without_alarm_channels_episodes_are_still_kept_and_logged(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    config = _config(FEED, channels=())
    await add_source(engine, "mofa", status="failing", last_error="x", last_success_at=T0)
    with caplog.at_level(logging.WARNING, logger="monitor.alarms"):
        events = await check_alarms(engine, config, {}, T0 + timedelta(hours=2))
    assert [(e.kind, e.delivered) for e in events] == [("failing", True)]
    assert [r.getMessage() for r in caplog.records if r.name == "monitor.alarms"] == [
        "MOFA: failing for 2h: x"
    ]


async def test_notices_through_a_real_webhook_on_loopback(
    engine: AsyncEngine, http_server: LoopbackServer
) -> None:
    answers = iter([Response(500), Response(200), Response(204)])
    http_server.route("/hook", lambda _request: next(answers))
    config = _config(FEED, channels=("ops",))
    await add_source(engine, "mofa", status="failing", last_error="HTTP 503", last_success_at=T0)
    async with httpx.AsyncClient(trust_env=False) as client:
        channels = {"ops": WebhookChannel("ops", http_server.url("/hook"), client, timeout=5.0)}
        refused = await check_alarms(engine, config, channels, T0 + timedelta(hours=2))
        taken = await check_alarms(engine, config, channels, T0 + timedelta(hours=2, minutes=1))
        await _set(engine, "mofa", status="ok")
        cleared = await check_alarms(engine, config, channels, T0 + timedelta(hours=3))
    assert [(e.action, e.delivered) for e in [*refused, *taken, *cleared]] == [
        ("raised", False),
        ("raised", True),
        ("cleared", True),
    ]
    bodies = [json.loads(r.body) for r in http_server.requests_to("/hook")]
    # never a "release.matched": a receiver routing on type must not take it for a release
    assert [b["type"] for b in bodies] == ["source.alarm"] * 3
    assert [b["alarm"] for b in bodies] == [
        {"kind": "failing", "state": "raised"},
        {"kind": "failing", "state": "raised"},
        {"kind": "failing", "state": "cleared"},
    ]
    assert bodies[0]["id"] == bodies[1]["id"] != bodies[2]["id"]  # a retry keeps its id
    assert bodies[1]["message"] == "MOFA: failing for 2h: HTTP 503"
    assert bodies[2]["message"] == "MOFA: recovered, polls succeed again"
    assert bodies[1]["source"] == {"id": "mofa", "name": "MOFA", "url": FEED.url}
    assert bodies[1]["at"] == (T0 + timedelta(hours=2, minutes=1)).isoformat()
    assert "release" not in bodies[1] and "rule" not in bodies[1]


class Dies(Recorder):
    """A channel whose send never returns: the sender is cancelled (SIGTERM) or killed."""

    async def send(self, alert: AlertView) -> None:
        self.sent.append(alert)
        raise asyncio.CancelledError


async def _alarm_row(engine: AsyncEngine) -> sa.Row[Any]:
    async with engine.connect() as connection:
        return (await connection.execute(sa.select(ALARMS))).one()


async def _sender_dies_then_source_recovers(
    engine: AsyncEngine, config: Config, moment: datetime
) -> None:
    """A failing source's notice, claimed at ``moment`` by a sender that dies; then the
    source polls fine again."""
    await add_source(engine, "mofa", status="failing", last_error="x", last_success_at=T0)
    with pytest.raises(asyncio.CancelledError):
        await check_alarms(engine, config, {"ops": Dies("ops")}, moment)
    await _set(engine, "mofa", status="ok")


async def test_a_notice_whose_sender_died_is_sent_once_its_lease_runs_out(
    engine: AsyncEngine,
) -> None:
    config = _config(FEED, channels=("ops",))
    await add_source(engine, "mofa", status="failing", last_error="x", last_success_at=T0)
    dying = Dies("ops")
    with pytest.raises(asyncio.CancelledError):
        await check_alarms(engine, config, {"ops": dying}, T0 + timedelta(hours=2))
    assert (await _alarm_row(engine)).notified_at is None  # not lost: never marked as sent

    hook = Recorder("ops")
    soon = T0 + timedelta(hours=2) + NOTICE_LEASE / 2
    assert await check_alarms(engine, config, {"ops": hook}, soon) == []  # it may be sending
    later = T0 + timedelta(hours=2) + NOTICE_LEASE + timedelta(seconds=1)
    events = await check_alarms(engine, config, {"ops": hook}, later)
    assert [(e.kind, e.action, e.delivered) for e in events] == [("failing", "raised", True)]
    assert [a.alert_id for a in hook.sent] == [a.alert_id for a in dying.sent]  # the same id
    assert await check_alarms(engine, config, {"ops": hook}, later + timedelta(minutes=1)) == []
    row = await _alarm_row(engine)
    assert (row.notified_at, row.notice_lease_until) == (later, None)


async def test_recovery_while_the_failing_notice_is_being_sent_is_still_told(
    engine: AsyncEngine,
) -> None:
    config = _config(FEED, channels=("ops",))
    hook = Recorder("ops")
    moment = T0 + timedelta(hours=2)
    await _sender_dies_then_source_recovers(engine, config, moment)  # its lease still held
    assert await check_alarms(engine, config, {"ops": hook}, moment + timedelta(minutes=1)) == []
    row = await _alarm_row(engine)
    assert row.cleared_at is not None and row.recovery_notified_at is None  # not dropped
    async with engine.begin() as connection:  # that sender finishes: the alarm was announced
        await connection.execute(
            sa.update(ALARMS).values(notified_at=moment, notice_lease_until=None)
        )
    events = await check_alarms(engine, config, {"ops": hook}, moment + timedelta(minutes=2))
    assert [(e.action, e.delivered) for e in events] == [("cleared", True)]
    assert [a.title for a in hook.sent] == ["MOFA: recovered, polls succeed again"]


async def test_a_sender_that_died_on_an_alarm_since_cleared_leaves_no_notice_due(
    engine: AsyncEngine,
) -> None:
    config = _config(FEED, channels=("ops",))
    hook = Recorder("ops")
    moment = T0 + timedelta(hours=2)
    await _sender_dies_then_source_recovers(engine, config, moment)
    later = moment + NOTICE_LEASE + timedelta(seconds=1)
    # never announced, now over: neither the stale failing notice nor a recovery is sent
    assert await check_alarms(engine, config, {"ops": hook}, later) == []
    assert hook.sent == []
