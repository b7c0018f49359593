"""Read-side queries for the CLI: releases, alerts, counts. Writes live with their stage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store.session import writing
from monitor.store.tables import ALERTS, RELEASES, AlertRow, ReleaseRow, now


async def release_counts(engine: AsyncEngine, since: datetime | None = None) -> dict[str, int]:
    statement = select(RELEASES.c.source_id, func.count()).group_by(RELEASES.c.source_id)
    if since is not None:
        statement = statement.where(RELEASES.c.first_seen_at >= since)
    async with engine.connect() as connection:
        return {row[0]: row[1] for row in (await connection.execute(statement)).all()}


async def list_releases(
    engine: AsyncEngine,
    *,
    since: datetime | None = None,
    source: str | None = None,
    limit: int | None = None,
    ids: Sequence[int] | None = None,
) -> list[ReleaseRow]:
    statement = select(RELEASES).order_by(RELEASES.c.first_seen_at.desc(), RELEASES.c.id.desc())
    if since is not None:
        statement = statement.where(RELEASES.c.first_seen_at >= since)
    if source is not None:
        statement = statement.where(RELEASES.c.source_id == source)
    if ids is not None:
        statement = statement.where(RELEASES.c.id.in_(ids))
    if limit is not None:
        statement = statement.limit(limit)
    async with engine.connect() as connection:
        rows = (await connection.execute(statement)).all()
    return [ReleaseRow.model_validate(row._mapping) for row in rows]


async def list_alerts(engine: AsyncEngine, status: str | None = None) -> list[AlertRow]:
    statement = select(ALERTS).order_by(ALERTS.c.created_at, ALERTS.c.id)
    if status is not None:
        statement = statement.where(ALERTS.c.status == status)
    async with engine.connect() as connection:
        rows = (await connection.execute(statement)).all()
    return [AlertRow.model_validate(row._mapping) for row in rows]


async def retry_alert(engine: AsyncEngine, alert_id: str) -> str | None:
    """Make a failed or dead alert due now. Returns its previous status, or None if unknown."""
    async with writing(engine) as connection:
        current = (
            await connection.execute(select(ALERTS.c.status).where(ALERTS.c.id == alert_id))
        ).scalar_one_or_none()
        if current in ("failed", "dead"):
            await connection.execute(
                update(ALERTS)
                .where(ALERTS.c.id == alert_id)
                .values(status="failed", next_attempt_at=now(), lease_owner=None, lease_until=None)
            )
        return current
