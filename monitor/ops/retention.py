"""Retention: prune old alerts and releases without breaking what is kept.

``retention: {releases: 365d, alerts: 90d}``. The order matters:

1. Alerts created before the alert cutoff go, but only finished ones (``sent`` or
   ``dead``): a pending or retrying alert is never dropped, whatever its age.
2. Releases first seen before the release cutoff go, unless a kept alert refers to them
   (as its release, or through its match). With each release go its revisions, matches
   and story bands, and its mark as founder of its story (``stories.founder_release_id``;
   SQLite may give its id to a new release); SQLite's full-text index follows by trigger.
3. Stories that no release, match, alert or band refers to any more go.

Deletes run in batches, each its own short write transaction, so a daemon polling beside
the pruning (SQLite has one writer) is delayed by one batch at most.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import ColumnElement, Table, delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.config.model import Retention
from monitor.store.session import writing
from monitor.store.tables import ALERTS, BANDS, MATCHES, RELEASES, REVISIONS, STORIES

BATCH = 500
FINISHED = ("sent", "dead")


@dataclass
class PruneCounts:
    alerts: int = 0
    releases: int = 0
    revisions: int = 0
    matches: int = 0
    bands: int = 0
    stories: int = 0

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))


async def prune(engine: AsyncEngine, retention: Retention, now: datetime) -> PruneCounts:
    """Delete what ``retention`` no longer keeps, as of ``now``; returns what went."""
    counts = PruneCounts()
    if retention.alerts is not None:
        counts.alerts = await _prune_alerts(engine, now - retention.alerts)
    if retention.releases is not None:
        await _prune_releases(engine, now - retention.releases, counts)
    if counts.releases or counts.alerts:
        counts.stories = await _prune_stories(engine)
    return counts


async def _prune_alerts(engine: AsyncEngine, cutoff: datetime) -> int:
    total = 0
    while True:
        async with writing(engine) as connection:
            ids = (
                (
                    await connection.execute(
                        select(ALERTS.c.id)
                        .where(ALERTS.c.created_at < cutoff, ALERTS.c.status.in_(FINISHED))
                        .limit(BATCH)
                    )
                )
                .scalars()
                .all()
            )
            if not ids:
                return total
            await connection.execute(delete(ALERTS).where(ALERTS.c.id.in_(ids)))
        total += len(ids)


async def _prune_releases(engine: AsyncEngine, cutoff: datetime, counts: PruneCounts) -> None:
    referenced_by_alert = exists().where(ALERTS.c.release_id == RELEASES.c.id)
    match_of_alert = exists().where(
        MATCHES.c.release_id == RELEASES.c.id, ALERTS.c.match_id == MATCHES.c.id
    )
    candidates = (
        select(RELEASES.c.id)
        .where(RELEASES.c.first_seen_at < cutoff, ~referenced_by_alert, ~match_of_alert)
        .order_by(RELEASES.c.id)
        .limit(BATCH)
    )
    while True:
        async with writing(engine) as connection:
            ids = (await connection.execute(candidates)).scalars().all()
            if not ids:
                return
            counts.bands += await _delete(connection, BANDS, BANDS.c.release_id.in_(ids))
            counts.revisions += await _delete(
                connection, REVISIONS, REVISIONS.c.release_id.in_(ids)
            )
            counts.matches += await _delete(connection, MATCHES, MATCHES.c.release_id.in_(ids))
            await connection.execute(
                update(STORIES)
                .where(STORIES.c.founder_release_id.in_(ids))
                .values(founder_release_id=None)
            )
            counts.releases += await _delete(connection, RELEASES, RELEASES.c.id.in_(ids))


async def _prune_stories(engine: AsyncEngine) -> int:
    orphan = (
        select(STORIES.c.id)
        .where(
            ~exists().where(RELEASES.c.story_id == STORIES.c.id),
            ~exists().where(ALERTS.c.story_id == STORIES.c.id),
            ~exists().where(MATCHES.c.story_id == STORIES.c.id),
            ~exists().where(BANDS.c.story_id == STORIES.c.id),
        )
        .limit(BATCH)
    )
    total = 0
    while True:
        async with writing(engine) as connection:
            ids = (await connection.execute(orphan)).scalars().all()
            if not ids:
                return total
            total += await _delete(connection, STORIES, STORIES.c.id.in_(ids))


async def _delete(connection: AsyncConnection, table: Table, condition: ColumnElement[bool]) -> int:
    result = await connection.execute(delete(table).where(condition))
    return int(result.rowcount or 0)
