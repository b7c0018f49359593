"""The alert outbox: claiming due alerts with a lease, recording the outcome.

An alert is due when it is ``pending`` or ``failed`` with ``next_attempt_at`` reached and no
live lease. Claiming sets an owner and an expiry longer than a send's deadline; only the
owner may record the outcome, so a late result from an instance that lost its lease
changes nothing. On PostgreSQL the claim skips rows another instance is claiming.
``by_story`` claims whole stories (every due alert of each), so the alerts of one story
that fall due together leave as one message.

An alert carried by a live digest (``store.digests``) is never claimed here: its digest is
delivered instead. A batch is claimed at once; the worker renews the lease of what is
left of it before each send (``extend_lease``), so a lease never needs to cover a whole
batch and a crashed instance's alerts are due again soon after it died. What a batch's
messages show is read for the batch at once (``load_claimed``: one statement).

Attempts are counted when they start (``start_attempt``), not when their outcome is
recorded: an attempt cut off by a crash still counts, so the resend after the lease runs
out backs off as a retry should. The outcome is recorded for every alert of a message at
once, with the message's id (``message_id``: what the rate limit counts).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, or_, select, update
from sqlalchemy.exc import NoResultFound
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.config.model import Config
from monitor.model import Hit
from monitor.notify.bounds import WEBHOOK_BYTES
from monitor.notify.payload import AlertView
from monitor.store import leases
from monitor.store.digests import QUEUE_ORDER, due_alerts
from monitor.store.session import one_statement, reading, writing
from monitor.store.tables import ALERTS, MATCHES, RELEASES, AlertRow, now

HITS_LOADED = 100  # hits read per alert (the store keeps a total when it keeps fewer)
# Characters of title and summary read for a message: every message and body cuts them to
# WEBHOOK_BYTES characters or fewer (``notify.bounds``), and a cut depends only on that
# many characters and on whether there are more. Reading the whole row of a 9.5 MB item
# (30 MB with content and the raw forms) twice took the poll to 258 MB (issue 22).
TEXT_READ = WEBHOOK_BYTES + 1
# alerts loaded a statement: their ids stay well under the bound parameters of a statement
# (SQLite 32,766, PostgreSQL 65,535), and a batch (``delivery.BATCH``) or a digest is one
LOAD_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Shown:
    """What a message shows of a release: ``title`` and ``summary`` are cut to
    ``TEXT_READ`` characters."""

    id: int
    source_id: str
    title: str
    summary: str
    url: str | None
    published_at: datetime | None
    language: str | None


@dataclass(frozen=True, slots=True)
class Claimed:
    alert: AlertRow
    release: Shown
    hits: tuple[Hit, ...]
    copies: tuple[tuple[str, str], ...]
    hit_total: int | None = None  # all the rule's hits in the release, when more than ``hits``


class NotHeld(Exception):
    """An alert's lease was lost (another instance took it over): roll back."""


async def claim_due(
    engine: AsyncEngine,
    channel_id: str,
    owner: str,
    *,
    lease: timedelta,
    limit: int = 50,
    moment: datetime | None = None,
    by_story: bool = False,
) -> list[AlertRow]:
    """Lease up to ``limit`` due alerts (``by_story``: every due alert of up to ``limit``
    stories), in queue order."""
    moment = moment or now()
    due = select(ALERTS.c.id).where(due_alerts(channel_id, moment))
    if by_story:
        stories = (
            select(ALERTS.c.story_id)
            .where(due_alerts(channel_id, moment))
            .group_by(ALERTS.c.story_id)
            .order_by(*(func.min(column) for column in QUEUE_ORDER))
            .limit(limit)
        )
        due = due.where(ALERTS.c.story_id.in_(stories.scalar_subquery()))
    else:
        due = due.order_by(*QUEUE_ORDER).limit(limit)
    if engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    async with one_statement(engine) as connection:
        result = await connection.execute(
            update(ALERTS)
            .where(ALERTS.c.id.in_(due.scalar_subquery()))
            .values(lease_owner=owner, lease_until=moment + lease)
            .returning(ALERTS)
        )
        rows = [AlertRow.model_validate(r._mapping) for r in result.all()]
    return sorted(
        rows, key=lambda a: (a.next_attempt_at or moment, a.created_at, a.release_id, a.id)
    )


def parse_hits(raw: str | None) -> tuple[tuple[Hit, ...], int | None]:
    """The first ``HITS_LOADED`` hits of a match's hits JSON and the total, if it says more.

    Reads a list of hits, or ``{"hits": [...], "total": n}`` (a store that caps the hits
    it keeps and counts the rest).
    """
    data = json.loads(raw or "[]")
    total: int | None = None
    if isinstance(data, dict):
        found = data.get("total", data.get("count"))
        total = found if isinstance(found, int) else None
        data = data.get("hits", [])
    if not isinstance(data, list):
        return (), total
    hits = tuple(
        Hit(
            str(h.get("field", "")),
            str(h.get("term", "")),
            int(h.get("start", 0)),
            int(h.get("end", 0)),
            str(h.get("snippet", "")),
        )
        for h in data[:HITS_LOADED]
        if isinstance(h, dict)
    )
    if len(data) > len(hits):
        total = max(total or 0, len(data))
    return hits, total


async def load_claimed(engine: AsyncEngine, alerts: Sequence[AlertRow]) -> list[Claimed]:
    """The release, the hits and the story's other copies of each claimed alert, in the
    order given: one statement a ``LOAD_CHUNK`` of alerts, not three an alert (issue 23:
    they were half the daemon's statements, each ~4 trips into aiosqlite's thread)."""
    out: list[Claimed] = []
    async with reading(engine) as connection:
        for start in range(0, len(alerts), LOAD_CHUNK):
            out += await _load_chunk(connection, alerts[start : start + LOAD_CHUNK])
    return out


async def _load_chunk(connection: AsyncConnection, alerts: Sequence[AlertRow]) -> list[Claimed]:
    """The alerts' releases with their hits, and their stories' copies, in one read: a
    release's text only for the alerts' own releases (a copy shows its source and URL); a
    release once for each of the alerts' matches of it."""
    match_ids = {a.match_id for a in alerts if a.match_id is not None}
    own = RELEASES.c.id.in_(sorted({a.release_id for a in alerts}))
    rows = await connection.execute(
        select(
            RELEASES.c.id,
            RELEASES.c.source_id,
            case((own, func.substr(RELEASES.c.title, 1, TEXT_READ))).label("title"),
            case((own, func.substr(RELEASES.c.summary, 1, TEXT_READ))).label("summary"),
            RELEASES.c.url,
            RELEASES.c.published_at,
            RELEASES.c.language,
            RELEASES.c.story_id,
            MATCHES.c.id.label("match_id"),
            MATCHES.c.hits,
        )
        .outerjoin(
            MATCHES,
            and_(MATCHES.c.release_id == RELEASES.c.id, MATCHES.c.id.in_(sorted(match_ids))),
        )
        .where(or_(own, RELEASES.c.story_id.in_(sorted({a.story_id for a in alerts}))))
        .order_by(RELEASES.c.id)
    )
    shown: dict[int, Shown] = {}
    hits_of: dict[int, str | None] = {}
    copies_of: dict[int | None, list[tuple[int, str, str]]] = {}
    last = None
    for row in rows:
        if row.match_id is not None:
            hits_of[row.match_id] = row.hits
        if row.id == last:
            continue  # the same release again, for another of its matches
        last = row.id
        if row.title is not None:
            shown[row.id] = Shown(*row[:7])
        copies_of.setdefault(row.story_id, []).append((row.id, row.source_id, row.url or ""))
    if match_ids - hits_of.keys():  # a match of another release than its alert's (none is)
        found = select(MATCHES.c.id, MATCHES.c.hits).where(
            MATCHES.c.id.in_(sorted(match_ids - hits_of.keys()))
        )
        hits_of.update({row.id: row.hits for row in await connection.execute(found)})
    out: list[Claimed] = []
    for alert in alerts:
        release = shown.get(alert.release_id)
        if release is None:
            raise NoResultFound(f"release {alert.release_id} of alert {alert.id}")
        hits, total = parse_hits(hits_of.get(alert.match_id) if alert.match_id else None)
        copies = tuple(
            (source, url)
            for release_id, source, url in copies_of.get(alert.story_id, ())
            if release_id != alert.release_id
        )
        out.append(Claimed(alert, release, hits, copies, total))
    return out


def _owned(alert_ids: Sequence[str], owner: str) -> ColumnElement[bool]:
    return and_(ALERTS.c.id.in_(list(alert_ids)), ALERTS.c.lease_owner == owner)


async def start_attempt(
    engine: AsyncEngine, alert_ids: Sequence[str], owner: str, until: datetime
) -> bool:
    """Count an attempt on each of the alerts, about to be sent as one message, and hold
    them until ``until``; False (and nothing counted) unless this owner holds them all.
    One alert (a JSON webhook's message) is one row's update, all or nothing by itself: on
    PostgreSQL in autocommit, without the BEGIN and COMMIT round trips."""
    try:
        held = one_statement if len(set(alert_ids)) == 1 else writing
        async with held(engine) as connection:
            result = await connection.execute(
                update(ALERTS)
                .where(_owned(alert_ids, owner))
                .values(attempts=ALERTS.c.attempts + 1, lease_until=until, retry_requested_at=None)
            )
            if result.rowcount != len(set(alert_ids)):
                raise NotHeld
    except NotHeld:
        return False
    return True


async def record_sent(
    engine: AsyncEngine,
    alert_ids: Sequence[str],
    owner: str,
    moment: datetime | None = None,
    message_id: str | None = None,
) -> bool:
    """The alerts went out together as the message ``message_id``."""
    async with one_statement(engine) as connection:
        result = await connection.execute(
            update(ALERTS)
            .where(_owned(alert_ids, owner))
            .values(
                status="sent",
                sent_at=moment or now(),
                message_id=message_id,
                last_error=None,
                next_attempt_at=None,
                lease_owner=None,
                lease_until=None,
            )
        )
        return bool(result.rowcount)


async def record_failure(
    engine: AsyncEngine,
    alert_ids: Sequence[str],
    owner: str,
    error: str,
    retry_at: datetime | None,
) -> bool:
    """A failed attempt: ``retry_at`` schedules the next one; None makes the alerts dead."""
    if not alert_ids:
        return False
    async with one_statement(engine) as connection:
        result = await connection.execute(
            update(ALERTS)
            .where(_owned(alert_ids, owner))
            .values(
                status="failed" if retry_at else "dead",
                last_error=error,
                next_attempt_at=retry_at,
                lease_owner=None,
                lease_until=None,
            )
        )
        return bool(result.rowcount)


async def retry_requested(engine: AsyncEngine, channel_id: str, since: datetime) -> bool:
    """Whether an operator asked, at ``since`` or later, to retry one of the channel's alerts
    that has not been attempted since (``alerts.retry_requested_at``)."""
    async with reading(engine) as connection:
        found = await connection.execute(
            select(ALERTS.c.id)
            .where(ALERTS.c.channel_id == channel_id)
            .where(ALERTS.c.retry_requested_at >= since)
            .limit(1)
        )
        return found.first() is not None


async def extend_lease(
    engine: AsyncEngine, alert_ids: Sequence[str], owner: str, until: datetime
) -> None:
    """Push the lease of alerts this owner still holds to ``until``."""
    await leases.update_held(engine, ALERTS, alert_ids, owner, lease_until=until)


async def release_lease(engine: AsyncEngine, alert_ids: Sequence[str], owner: str) -> None:
    """Give back claimed alerts that were not attempted (shutdown): due again at once."""
    await leases.release(engine, ALERTS, alert_ids, owner)


def alert_view(config: Config, item: Claimed) -> AlertView:
    """What a channel is given of a claimed alert: its rule's and source's names from
    ``config`` (the ids when they are gone from it), the release, its hits and copies. The
    delivery worker sends it; the console shows the webhook body built from it."""
    alert, release = item.alert, item.release
    source = next((s for s in config.sources if s.id == release.source_id), None)
    rule = next((r for r in config.rules if r.id == alert.rule_id), None)
    return AlertView(
        alert_id=alert.id,
        rule_id=alert.rule_id,
        rule_name=rule.display_name if rule else alert.rule_id,
        release_id=str(release.id),
        source_id=release.source_id,
        source_name=source.display_name if source else release.source_id,
        title=release.title,
        url=release.url or "",
        published_at=release.published_at,
        language=release.language,
        summary=release.summary,
        matches=item.hits,
        copies=item.copies,
        story_id=str(alert.story_id),
        match_total=item.hit_total,
    )
