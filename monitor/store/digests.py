"""Durable digests: gathering queued alerts into one message, then delivering it like one.

A digest row (``digests``) is created in the same transaction that assigns its alerts
(``alerts.digest_id``), so an alert is in at most one live digest and a digest's content
never changes: a retry, or a resend after a crash, carries the same alerts under the same
id (the webhook-id and the email Message-ID). Its delivery mirrors the alert outbox: a
lease while it is being sent, owner-checked outcomes, backoff on failure, then ``dead``.
Its alerts take its status (sent, failed, dead) in the transaction that records it.

An alert is free to be gathered, or sent on its own, while it has no digest or its digest
is dead (``alerts retry`` of such an alert makes it due again: it travels in a new one).

An attempt is counted when it starts (``start_attempt``), on the digest and its alerts, so
one cut off by a crash counts too. The rate limit counts messages: digests, and the
messages that alerts sent on their own went out in (one per story on email, chat and the
log: ``alerts.message_id``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.store import leases
from monitor.store.session import one_statement, reading, writing
from monitor.store.tables import ALERTS, DIGESTS, AlertRow, DigestRow

MAX_ALERTS_PER_DIGEST = 200  # a bigger backlog goes out as several digests
# the order alerts leave in: due first, then as queued (release ids break a tie in one batch)
QUEUE_ORDER = (ALERTS.c.next_attempt_at, ALERTS.c.created_at, ALERTS.c.release_id, ALERTS.c.id)


def unassigned() -> ColumnElement[bool]:
    """The alert is carried by no live digest."""
    dead = select(DIGESTS.c.id).where(DIGESTS.c.status == "dead")
    return or_(ALERTS.c.digest_id.is_(None), ALERTS.c.digest_id.in_(dead))


def due_alerts(channel_id: str, moment: datetime) -> ColumnElement[bool]:
    """Alerts of the channel that may be sent (or gathered) now."""
    return and_(
        ALERTS.c.channel_id == channel_id,
        ALERTS.c.status.in_(("pending", "failed")),
        ALERTS.c.next_attempt_at <= moment,
        or_(ALERTS.c.lease_until.is_(None), ALERTS.c.lease_until < moment),
        unassigned(),
    )


async def due_messages(
    engine: AsyncEngine, channel_id: str, moment: datetime, by_story: bool
) -> list[list[str]]:
    """The channel's due, unassigned alerts as the messages they would leave in, oldest
    first: one per story (``by_story``) or one per alert."""
    statement = (
        select(ALERTS.c.id, ALERTS.c.story_id)
        .where(due_alerts(channel_id, moment))
        .order_by(*QUEUE_ORDER)
    )
    async with reading(engine) as connection:
        rows = (await connection.execute(statement)).all()
    if not by_story:
        return [[row.id] for row in rows]
    messages: dict[int, list[str]] = {}
    for row in rows:
        messages.setdefault(row.story_id, []).append(row.id)
    return list(messages.values())


async def sent_in_window(engine: AsyncEngine, channel_id: str, since: datetime) -> int:
    """Messages the channel sent since ``since``: digests and summaries, and the messages
    that carried alerts sent on their own (an alert sent before schema 0008: one each)."""
    alone = (
        select(func.count(func.distinct(func.coalesce(ALERTS.c.message_id, ALERTS.c.id))))
        .select_from(ALERTS)
        .where(ALERTS.c.channel_id == channel_id, ALERTS.c.sent_at > since)
        .where(ALERTS.c.digest_id.is_(None))
    )
    batched = (
        select(func.count())
        .select_from(DIGESTS)
        .where(DIGESTS.c.channel_id == channel_id, DIGESTS.c.sent_at > since)
    )
    # one statement: every run of a channel with ``max_per_hour`` asks
    both = select(
        alone.scalar_subquery().label("alone"), batched.scalar_subquery().label("batched")
    )
    async with reading(engine) as connection:
        row = (await connection.execute(both)).one()
    return int(row.alone) + int(row.batched)


async def unsent_digests(engine: AsyncEngine, channel_id: str) -> int:
    """The channel's digests and summaries that are still to be sent (pending or failed)."""
    statement = (
        select(func.count())
        .select_from(DIGESTS)
        .where(DIGESTS.c.channel_id == channel_id, DIGESTS.c.status.in_(("pending", "failed")))
    )
    async with reading(engine) as connection:
        return int((await connection.execute(statement)).scalar_one())


async def _create(
    connection: AsyncConnection,
    channel_id: str,
    kind: Literal["digest", "summary"],
    chosen: Any,
    moment: datetime,
    period_end: datetime | None,
) -> str | None:
    """Insert a digest and assign the ``chosen`` alerts (a subquery of ids) to it."""
    digest_id = uuid.uuid4().hex
    await connection.execute(
        insert(DIGESTS).values(
            id=digest_id,
            channel_id=channel_id,
            kind=kind,
            status="pending",
            attempts=0,
            created_at=moment,
            period_end=period_end,
            next_attempt_at=moment,
        )
    )
    # the guards again: on PostgreSQL a concurrent gatherer may have taken a row meanwhile
    result = await connection.execute(
        update(ALERTS)
        .where(ALERTS.c.id.in_(chosen))
        .where(due_alerts(channel_id, moment))
        .values(digest_id=digest_id)
        .returning(ALERTS.c.id)
    )
    if not result.all():
        await connection.execute(delete(DIGESTS).where(DIGESTS.c.id == digest_id))
        return None
    return digest_id


def _lock(statement: Any, engine: AsyncEngine) -> Any:
    return (
        statement.with_for_update(skip_locked=True)
        if engine.dialect.name == "postgresql"
        else statement
    )


async def gather_period(
    engine: AsyncEngine,
    channel_id: str,
    period_end: datetime,
    moment: datetime,
    limit: int | None = None,
) -> list[str]:
    """Digests of the due alerts queued before ``period_end``, at most ``limit`` of them (the
    oldest alerts first; the rest stay queued); their ids (none: nothing)."""
    made: list[str] = []
    while limit is None or len(made) < limit:
        chosen = _lock(
            select(ALERTS.c.id)
            .where(due_alerts(channel_id, moment))
            .where(ALERTS.c.created_at < period_end)
            .order_by(ALERTS.c.created_at, ALERTS.c.release_id, ALERTS.c.id)
            .limit(MAX_ALERTS_PER_DIGEST),
            engine,
        )
        async with writing(engine) as connection:
            digest_id = await _create(
                connection, channel_id, "digest", chosen.scalar_subquery(), moment, period_end
            )
        if digest_id is None:
            return made
        made.append(digest_id)
    return made


async def gather_summary(
    engine: AsyncEngine, channel_id: str, alert_ids: Sequence[str], moment: datetime
) -> str | None:
    """One rate-limit summary of the given alerts (those still due); its id, or None."""
    if not alert_ids:
        return None
    async with writing(engine) as connection:
        return await _create(connection, channel_id, "summary", list(alert_ids), moment, None)


def _retried(channel_id: str, moment: datetime) -> Any:
    """Digests one of whose alerts the operator made due again (``alerts retry``)."""
    return (
        select(ALERTS.c.digest_id)
        .where(ALERTS.c.channel_id == channel_id, ALERTS.c.status == "failed")
        .where(ALERTS.c.next_attempt_at <= moment, ALERTS.c.digest_id.is_not(None))
    )


async def claim_due(
    engine: AsyncEngine, channel_id: str, owner: str, *, lease: timedelta, moment: datetime
) -> DigestRow | None:
    """Lease the channel's oldest due digest, if any."""
    due = _lock(
        select(DIGESTS.c.id)
        .where(DIGESTS.c.channel_id == channel_id)
        .where(DIGESTS.c.status.in_(("pending", "failed")))
        .where(
            or_(DIGESTS.c.next_attempt_at <= moment, DIGESTS.c.id.in_(_retried(channel_id, moment)))
        )
        .where(or_(DIGESTS.c.lease_until.is_(None), DIGESTS.c.lease_until < moment))
        .order_by(DIGESTS.c.created_at, DIGESTS.c.id)
        .limit(1),
        engine,
    )
    # every delivery run of every channel asks, and mostly nothing is due: one statement
    async with one_statement(engine) as connection:
        row = (
            await connection.execute(
                update(DIGESTS)
                .where(DIGESTS.c.id.in_(due.scalar_subquery()))
                .values(lease_owner=owner, lease_until=moment + lease)
                .returning(DIGESTS)
            )
        ).first()
    return DigestRow.model_validate(row._mapping) if row is not None else None


async def alerts_of(engine: AsyncEngine, digest_id: str) -> list[AlertRow]:
    statement = (
        select(ALERTS)
        .where(ALERTS.c.digest_id == digest_id)
        .order_by(ALERTS.c.created_at, ALERTS.c.release_id, ALERTS.c.id)
    )
    async with reading(engine) as connection:
        rows = (await connection.execute(statement)).all()
    return [AlertRow.model_validate(r._mapping) for r in rows]


async def start_attempt(engine: AsyncEngine, digest_id: str, owner: str, until: datetime) -> bool:
    """Count an attempt on the digest and its alerts, about to be sent, and hold it until
    ``until``; False (nothing counted) if this owner no longer holds it."""
    async with writing(engine) as connection:
        result = await connection.execute(
            update(DIGESTS)
            .where(DIGESTS.c.id == digest_id, DIGESTS.c.lease_owner == owner)
            .values(attempts=DIGESTS.c.attempts + 1, lease_until=until)
        )
        if not result.rowcount:
            return False
        await connection.execute(
            update(ALERTS)
            .where(ALERTS.c.digest_id == digest_id)
            .values(attempts=ALERTS.c.attempts + 1)
        )
        return True


async def _record(engine: AsyncEngine, digest_id: str, owner: str, values: dict[str, Any]) -> bool:
    """Apply an outcome to the digest (if this owner still holds it) and to its alerts."""
    async with writing(engine) as connection:
        result = await connection.execute(
            update(DIGESTS)
            .where(DIGESTS.c.id == digest_id, DIGESTS.c.lease_owner == owner)
            .values(**values, lease_owner=None, lease_until=None)
        )
        if not result.rowcount:
            return False
        await connection.execute(
            update(ALERTS).where(ALERTS.c.digest_id == digest_id).values(**values)
        )
        return True


async def record_sent(engine: AsyncEngine, digest_id: str, owner: str, moment: datetime) -> bool:
    return await _record(
        engine,
        digest_id,
        owner,
        {"status": "sent", "sent_at": moment, "last_error": None, "next_attempt_at": None},
    )


async def record_failure(
    engine: AsyncEngine, digest_id: str, owner: str, error: str, retry_at: datetime | None
) -> bool:
    """A failed attempt: ``retry_at`` schedules the next; None makes it and its alerts dead."""
    return await _record(
        engine,
        digest_id,
        owner,
        {
            "status": "failed" if retry_at else "dead",
            "last_error": error,
            "next_attempt_at": retry_at,
        },
    )


async def release_lease(engine: AsyncEngine, digest_id: str, owner: str) -> None:
    """Give back a claimed digest that was not attempted (shutdown): due again at once."""
    await leases.release(engine, DIGESTS, [digest_id], owner)
