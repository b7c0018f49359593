"""Source alarms: the silent failures, told to ``alarm_channels`` once per episode.

Three kinds, checked against each configured source's stored state:

- ``failing``: the source's last poll failed and it has had no successful poll for
  ``alarms.failing_for`` (counted from its last success, or from when it was added).
- ``empty``: an html source whose item selector matched nothing on its last poll (the
  listing page changed its layout; the poll itself "succeeds" with a warning).
- ``silent``: a source that polls fine and usually publishes — at least ``USUAL_RELEASES``
  releases dated in the ``USUAL_WINDOW`` before the silence — has stored nothing new for
  ``alarms.silent_for``.

An episode is a row of ``alarms``, open until its condition clears. Its notice is sent
when it opens and a recovery notice when it clears. A partial unique index allows one
open episode per (source, kind), and each notice is claimed with a lease
(``notice_lease_until``, ``NOTICE_LEASE``) before it is sent, so several instances never
send it at once; it is marked notified only after the send. A notice that a channel
refused is un-claimed and retried at the next check (a channel that took it may get it
again, with the same id); one whose sender died (a crash, SIGKILL) is sent again once its
lease has run out, under the same id: at least once, as alerts are. Notices
travel as ``AlertView`` with rule ``alarm:<kind>``, a one-line title and an
``AlarmNotice``, through the ordinary channels; a webhook gets them as ``source.alarm``
(``notify.payload``), never as a matched release.

A fourth kind, ``flood``, is an event rather than a condition (``monitor.flood``): one poll
of a source yielded more alertable releases than ``max_alerts_per_poll``. Its rows are
written by ``record_flood`` in the transaction that holds those releases' alerts back, one
per channel of the rules that watch the source (``channel_id``), closed from the start (no
episode to clear, no recovery notice). ``send_floods`` sends them — right after the poll
that raised them (a poll that stores anything also retries those left, when this process
knows of some), by ``monitor poll`` and at every alarm check — each claimed with the same
lease and sent to its one channel under a stable id (``alarm-<id>``); one its channel
refused is due again ``FLOOD_RETRY`` later.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.model import Alarms, Config, Source
from monitor.notify.base import Channel, one_line
from monitor.notify.payload import AlarmNotice, AlertView
from monitor.redact import redact_url
from monitor.store.session import PerEngine, insert, writing
from monitor.store.tables import ALARMS, RELEASES, SOURCES

log = logging.getLogger("monitor.alarms")

USUAL_RELEASES = 5
USUAL_WINDOW = timedelta(days=30)
EMPTY_MARK = "matched nothing"  # monitor.parse.listing's warning when the item selector fails
# longer than sending one notice to every alarm channel in turn takes (each send has its
# channel's deadline: 15 s for a webhook, 30 s for SMTP by default); after a crash, the
# notice goes out that much later at most
NOTICE_LEASE = timedelta(minutes=10)
FLOOD = "flood"
FLOOD_RETRY = timedelta(minutes=1)  # a flood notice its channel refused waits this long


@dataclass(frozen=True, slots=True)
class SourceFacts:
    """What the alarm conditions look at, for one source."""

    source: Source
    status: str  # never | ok | failing
    last_error: str | None
    last_warning: str | None
    last_success_at: datetime | None
    created_at: datetime
    recent: int  # releases first seen within silent_for
    usual: int  # releases dated in the USUAL_WINDOW before that


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    source_id: str
    kind: str  # failing | empty | silent
    action: str  # raised | cleared
    title: str
    delivered: bool  # every alarm channel took the notice (True when there are none)


def human(delta: timedelta) -> str:
    """``3d 4h``, ``2h 5m``, ``45m``, ``30s``: the two largest units."""
    seconds = int(delta.total_seconds())
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2])


def conditions(facts: SourceFacts, alarms: Alarms, moment: datetime) -> dict[str, str]:
    """The alarms ``facts`` call for now: kind → one-line description (pure)."""
    name = facts.source.display_name
    out: dict[str, str] = {}
    if facts.status == "failing":
        since = facts.last_success_at or facts.created_at
        if moment - since >= alarms.failing_for:
            error = one_line(facts.last_error or "unknown error", 200)
            out["failing"] = f"{name}: failing for {human(moment - since)}: {error}"
    if facts.status != "ok":
        return out
    if facts.source.type == "html" and EMPTY_MARK in (facts.last_warning or ""):
        out["empty"] = f"{name}: the listing page's items matched nothing (layout changed?)"
    if facts.recent == 0 and facts.usual >= USUAL_RELEASES:
        out["silent"] = (
            f"{name}: nothing new for {human(alarms.silent_for)} "
            f"(it published {facts.usual} in the {USUAL_WINDOW.days} days before)"
        )
    return out


_RECOVERED = {
    "failing": "polls succeed again",
    "empty": "the listing page's items are found again",
    "silent": "publishes again",
}


async def load_facts(engine: AsyncEngine, config: Config, moment: datetime) -> list[SourceFacts]:
    quiet_since = moment - config.alarms.silent_for
    dated = func.coalesce(RELEASES.c.published_at, RELEASES.c.first_seen_at)
    async with engine.connect() as connection:
        rows = {r.id: r for r in (await connection.execute(select(SOURCES))).all()}
        recent = await _counts(connection, RELEASES.c.first_seen_at >= quiet_since)
        usual = await _counts(
            connection, and_(dated >= quiet_since - USUAL_WINDOW, dated < quiet_since)
        )
    return [
        SourceFacts(
            source=source,
            status=row.status,
            last_error=row.last_error,
            last_warning=row.last_warning,
            last_success_at=row.last_success_at,
            created_at=row.created_at,
            recent=recent.get(source.id, 0),
            usual=usual.get(source.id, 0),
        )
        for source in config.sources
        if (row := rows.get(source.id)) is not None
    ]


async def _counts(connection: Any, condition: Any) -> dict[str, int]:
    statement = (
        select(RELEASES.c.source_id, func.count()).where(condition).group_by(RELEASES.c.source_id)
    )
    return {source: int(n) for source, n in (await connection.execute(statement)).all()}


async def check_alarms(
    engine: AsyncEngine, config: Config, channels: Mapping[str, Channel], now: datetime
) -> list[AlarmEvent]:
    """Open and clear episodes as the sources' state says; send the notices that are due."""
    wanted: dict[tuple[str, str], str] = {}
    for facts in await load_facts(engine, config, now):
        for kind, title in conditions(facts, config.alarms, now).items():
            wanted[(facts.source.id, kind)] = title
    configured = {s.id for s in config.sources}
    async with writing(engine) as connection:
        open_rows = (
            await connection.execute(select(ALARMS).where(ALARMS.c.cleared_at.is_(None)))
        ).all()
        for row in open_rows:
            if (row.source_id, row.kind) in wanted:
                continue
            # a source removed from the config is no longer watched: close quietly
            quiet = now if row.source_id not in configured else None
            await connection.execute(
                update(ALARMS)
                .where(ALARMS.c.id == row.id, ALARMS.c.cleared_at.is_(None))
                .values(cleared_at=now, recovery_notified_at=quiet)
            )
        opened = {(r.source_id, r.kind) for r in open_rows}
        for (source_id, kind), title in wanted.items():
            if (source_id, kind) not in opened:
                await connection.execute(
                    insert(engine, ALARMS)
                    .values(source_id=source_id, kind=kind, detail=title, raised_at=now)
                    .on_conflict_do_nothing(
                        index_elements=["source_id", "kind"],
                        index_where=ALARMS.c.cleared_at.is_(None),
                    )
                )
        # an alarm never announced needs no recovery notice (one whose notice is being sent
        # will have been announced)
        await connection.execute(
            update(ALARMS)
            .where(
                ALARMS.c.cleared_at.is_not(None),
                ALARMS.c.notified_at.is_(None),
                ALARMS.c.recovery_notified_at.is_(None),
                _unleased(now),
            )
            .values(recovery_notified_at=ALARMS.c.cleared_at)
        )
    targets = [channels[c] for c in config.alarm_channels if c in channels]
    events = await _send_due(engine, config, targets, now)
    return events + await send_floods(engine, config, channels, now)


async def record_flood(
    connection: Any, source_id: str, detail: str, channel_ids: Sequence[str], moment: datetime
) -> None:
    """One flood notice per channel, durable with the caller's transaction (the one that
    holds the releases' alerts back), due to be sent."""
    rows = [
        {
            "source_id": source_id,
            "kind": FLOOD,
            "channel_id": channel_id,
            "detail": detail,
            "raised_at": moment,
            "cleared_at": moment,  # an event: never open, never recovered
            "recovery_notified_at": moment,
        }
        for channel_id in channel_ids
    ]
    if rows:
        await connection.execute(insert(connection, ALARMS), rows)
        _waiting(connection.engine).maybe = True


class _Waiting:
    """Whether flood notices may be waiting to be sent (one per engine): a poll asks the
    database only then. Every poll asking cost a cold poll of 244 feeds half a second."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.maybe = True  # at start: a crashed run may have left some


_waiting: PerEngine[_Waiting] = PerEngine(_Waiting)


async def send_floods(
    engine: AsyncEngine,
    config: Config,
    channels: Mapping[str, Channel],
    now: datetime,
    *,
    if_waiting: bool = False,
) -> list[AlarmEvent]:
    """Send every flood notice that is due, each to its own channel, once. With
    ``if_waiting``, only when this process has reason to think one is waiting (it started,
    raised one, or one was refused or sent elsewhere since) — what a poll asks."""
    waiting = _waiting(engine)
    if if_waiting and not waiting.maybe:
        return []
    async with engine.connect() as connection:
        unsent = (
            await connection.execute(
                select(ALARMS)
                .where(ALARMS.c.kind == FLOOD, ALARMS.c.notified_at.is_(None))
                .order_by(ALARMS.c.id)
            )
        ).all()
    events = []
    left = False  # a notice not sent here: refused, or leased by another sender
    for row in unsent:
        leased = row.notice_lease_until is not None and row.notice_lease_until >= now
        if leased or not await _claim(engine, row.id, ALARMS.c.notified_at, now):
            left = True  # waiting for its retry, or another poll or instance sends it
            continue
        view = _view(config, row, "raised", now)
        channel = channels.get(row.channel_id or "")
        if channel is None:  # gone from the config since: nobody left to tell
            log.warning(
                "flood notice dropped: channel %s is no longer configured",
                row.channel_id,
                extra={"source": row.source_id, "action": view.rule_id},
            )
            delivered = True
        else:
            delivered = await _deliver([channel], view, row.source_id)
        sent = {"notified_at": now} if delivered else {}
        await _settle(engine, row.id, sent, None if delivered else now + FLOOD_RETRY)
        events.append(AlarmEvent(row.source_id, FLOOD, "raised", view.title, delivered))
        left = left or not delivered
    waiting.maybe = left
    return events


async def unsent_floods(engine: AsyncEngine) -> int:
    """Flood notices still waiting for their channel: ``poll`` fails (exit 1) when one
    could not be sent, as it does for an alert."""
    async with engine.connect() as connection:
        count = await connection.execute(
            select(func.count())
            .select_from(ALARMS)
            .where(ALARMS.c.kind == FLOOD, ALARMS.c.notified_at.is_(None))
        )
        return int(count.scalar_one())


async def _send_due(
    engine: AsyncEngine, config: Config, targets: Sequence[Channel], now: datetime
) -> list[AlarmEvent]:
    async with engine.connect() as connection:
        raise_due = (
            await connection.execute(
                select(ALARMS)
                .where(ALARMS.c.cleared_at.is_(None), ALARMS.c.notified_at.is_(None))
                .order_by(ALARMS.c.id)
            )
        ).all()
        clear_due = (
            await connection.execute(
                select(ALARMS)
                .where(ALARMS.c.cleared_at.is_not(None), ALARMS.c.recovery_notified_at.is_(None))
                .order_by(ALARMS.c.id)
            )
        ).all()
    events = []
    for row, action in [*((r, "raised") for r in raise_due), *((r, "cleared") for r in clear_due)]:
        column = ALARMS.c.notified_at if action == "raised" else ALARMS.c.recovery_notified_at
        if not await _claim(engine, row.id, column, now):
            continue  # another instance is sending it
        view = _view(config, row, action, now)
        # a crash (or cancellation) from here on leaves the lease, which runs out: resent
        delivered = await _deliver(targets, view, row.source_id)
        await _settle(engine, row.id, {column.name: now} if delivered else {})
        events.append(AlarmEvent(row.source_id, row.kind, action, view.title, delivered))
    return events


def _unleased(now: datetime) -> Any:
    return or_(ALARMS.c.notice_lease_until.is_(None), ALARMS.c.notice_lease_until < now)


async def _claim(engine: AsyncEngine, alarm_id: int, column: Any, now: datetime) -> bool:
    async with writing(engine) as connection:
        result = await connection.execute(
            update(ALARMS)
            .where(ALARMS.c.id == alarm_id, column.is_(None), _unleased(now))
            .values(notice_lease_until=now + NOTICE_LEASE)
        )
    return bool(result.rowcount)


async def _settle(
    engine: AsyncEngine,
    alarm_id: int,
    sent: dict[str, datetime],
    due_at: datetime | None = None,
) -> None:
    """The lease released (or held until ``due_at``); with ``sent``, the notice marked as
    sent (else due again)."""
    async with writing(engine) as connection:
        await connection.execute(
            update(ALARMS).where(ALARMS.c.id == alarm_id).values(notice_lease_until=due_at, **sent)
        )


def _view(config: Config, row: Any, action: str, now: datetime) -> AlertView:
    source = next((s for s in config.sources if s.id == row.source_id), None)
    name = source.display_name if source else row.source_id
    raised = action == "raised"
    title = row.detail if raised else f"{name}: recovered, {_RECOVERED.get(row.kind, 'cleared')}"
    return AlertView(
        alert_id=f"alarm-{row.id}" if raised else f"alarm-{row.id}-cleared",
        rule_id=f"alarm:{row.kind}",
        rule_name="Source alarm" if raised else "Source recovered",
        release_id="",
        source_id=row.source_id,
        source_name=name,
        title=one_line(title),
        url=redact_url(source.url) if source else "",
        published_at=now,
        language=None,
        summary=one_line(row.detail),
        matches=(),
        alarm=AlarmNotice(row.kind, "raised" if raised else "cleared"),
    )


async def _deliver(targets: Sequence[Channel], view: AlertView, source_id: str) -> bool:
    level = logging.WARNING if view.rule_name == "Source alarm" else logging.INFO
    log.log(level, "%s", view.title, extra={"source": source_id, "action": view.rule_id})
    delivered = True
    for channel in targets:
        try:
            await channel.send(view)
        except Exception as exc:  # DeliveryError, or a channel's bug: never stop the check
            delivered = False
            log.warning(
                "alarm not delivered: %s",
                one_line(str(exc)),
                extra={"source": source_id, "channel": channel.id, "action": view.rule_id},
            )
    return delivered
