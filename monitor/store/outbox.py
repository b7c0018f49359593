"""The alert outbox: claiming due alerts with a lease, recording the outcome.

An alert is due when it is ``pending`` or ``failed`` with ``next_attempt_at`` reached and no
live lease. Claiming sets an owner and an expiry longer than a send's deadline; only the
owner may record the outcome, so a late result from an instance that lost its lease
changes nothing. On PostgreSQL the claim skips rows another instance is claiming.

An alert carried by a live digest (``store.digests``) is never claimed here: its digest is
delivered instead. A batch is claimed at once; the worker renews the lease of what is
left of it before each send (``extend_lease``), so a lease never needs to cover a whole
batch and a crashed instance's alerts are due again soon after it died.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.model import Hit
from monitor.store import leases
from monitor.store.digests import QUEUE_ORDER, due_alerts
from monitor.store.session import writing
from monitor.store.tables import ALERTS, MATCHES, RELEASES, AlertRow, ReleaseRow, now


@dataclass(frozen=True, slots=True)
class Claimed:
    alert: AlertRow
    release: ReleaseRow
    hits: tuple[Hit, ...]
    copies: tuple[tuple[str, str], ...]


async def claim_due(
    engine: AsyncEngine,
    channel_id: str,
    owner: str,
    *,
    lease: timedelta,
    limit: int = 50,
    moment: datetime | None = None,
) -> list[AlertRow]:
    moment = moment or now()
    due = (
        select(ALERTS.c.id)
        .where(due_alerts(channel_id, moment))
        .order_by(*QUEUE_ORDER)
        .limit(limit)
    )
    if engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    async with writing(engine) as connection:
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


async def load_claimed(engine: AsyncEngine, alerts: Sequence[AlertRow]) -> list[Claimed]:
    """The release, the hits and the story's other copies of each claimed alert."""
    out: list[Claimed] = []
    async with engine.connect() as connection:
        for alert in alerts:
            release_row = (
                await connection.execute(select(RELEASES).where(RELEASES.c.id == alert.release_id))
            ).one()
            release = ReleaseRow.model_validate(release_row._mapping)
            hits_json = (
                await connection.execute(
                    select(MATCHES.c.hits).where(MATCHES.c.id == alert.match_id)
                )
            ).scalar_one_or_none()
            hits = tuple(Hit(**h) for h in json.loads(hits_json or "[]"))
            copies = (
                await connection.execute(
                    select(RELEASES.c.source_id, RELEASES.c.url)
                    .where(RELEASES.c.story_id == alert.story_id)
                    .where(RELEASES.c.id != alert.release_id)
                    .order_by(RELEASES.c.id)
                )
            ).all()
            out.append(Claimed(alert, release, hits, tuple((c[0], c[1] or "") for c in copies)))
    return out


def _owned(alert_id: str, owner: str) -> ColumnElement[bool]:
    return and_(ALERTS.c.id == alert_id, ALERTS.c.lease_owner == owner)


async def record_sent(
    engine: AsyncEngine, alert_id: str, owner: str, moment: datetime | None = None
) -> bool:
    async with writing(engine) as connection:
        result = await connection.execute(
            update(ALERTS)
            .where(_owned(alert_id, owner))
            .values(
                status="sent",
                sent_at=moment or now(),
                attempts=ALERTS.c.attempts + 1,
                last_error=None,
                next_attempt_at=None,
                lease_owner=None,
                lease_until=None,
            )
        )
        return bool(result.rowcount)


async def record_failure(
    engine: AsyncEngine, alert_id: str, owner: str, error: str, retry_at: datetime | None
) -> bool:
    """A failed attempt: ``retry_at`` schedules the next one; None makes the alert dead."""
    async with writing(engine) as connection:
        result = await connection.execute(
            update(ALERTS)
            .where(_owned(alert_id, owner))
            .values(
                status="failed" if retry_at else "dead",
                attempts=ALERTS.c.attempts + 1,
                last_error=error,
                next_attempt_at=retry_at,
                lease_owner=None,
                lease_until=None,
            )
        )
        return bool(result.rowcount)


async def extend_lease(
    engine: AsyncEngine, alert_ids: Sequence[str], owner: str, until: datetime
) -> None:
    """Push the lease of alerts this owner still holds to ``until``."""
    await leases.update_held(engine, ALERTS, alert_ids, owner, lease_until=until)


async def release_lease(engine: AsyncEngine, alert_ids: Sequence[str], owner: str) -> None:
    """Give back claimed alerts that were not attempted (shutdown): due again at once."""
    await leases.release(engine, ALERTS, alert_ids, owner)
