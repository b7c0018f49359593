"""A source's polling state: leases on due sources, and the outcome of each poll.

Due sources are claimed with a lease (owner + expiry longer than a fetch's deadline), via
``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`` on PostgreSQL, so
several instances can share the work and a crashed instance's lease simply expires.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.expression import Executable

from monitor.store import leases
from monitor.store.coalesce import group_commit, source_reader
from monitor.store.session import writing
from monitor.store.tables import SOURCES, SourceRow, now


async def load_state(engine: AsyncEngine, source_id: str) -> SourceRow:
    """The source's row; the polls that start together share one query."""
    return await source_reader(engine).load(source_id)


async def claim_due_sources(
    engine: AsyncEngine,
    owner: str,
    *,
    lease: timedelta,
    limit: int,
    only: Sequence[str] | None = None,
    force: bool = False,
) -> list[str]:
    """Lease sources that are due (or, with ``force``, every unleased one) and return their ids."""
    moment = now()
    due = select(SOURCES.c.id).where(
        or_(SOURCES.c.lease_until.is_(None), SOURCES.c.lease_until < moment)
    )
    if not force:
        due = due.where(SOURCES.c.next_poll_at <= moment)
    if only is not None:
        due = due.where(SOURCES.c.id.in_(only))
    due = due.order_by(SOURCES.c.next_poll_at).limit(limit)
    if engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    async with writing(engine) as connection:
        result = await connection.execute(
            update(SOURCES)
            .where(SOURCES.c.id.in_(due.scalar_subquery()))
            .values(lease_owner=owner, lease_until=moment + lease)
            .returning(SOURCES.c.id)
        )
        return [r[0] for r in result.all()]


async def release_source(engine: AsyncEngine, source_id: str, owner: str) -> None:
    await leases.release(engine, SOURCES, [source_id], owner)


@dataclass(frozen=True, slots=True)
class Success:
    next_poll_at: datetime
    etag: str | None
    last_modified: str | None
    body_sha256: str | None
    warning: str | None
    items_seen: int | None = None  # None: unchanged body, keep the previous counts
    items_skipped: int | None = None
    moved_to: str | None = None


async def record_success(engine: AsyncEngine, source_id: str, owner: str, outcome: Success) -> None:
    moment = now()
    values: dict[str, object] = {
        "status": "ok",
        "last_poll_at": moment,
        "last_success_at": moment,
        "next_poll_at": outcome.next_poll_at,
        "last_error": None,
        "last_error_kind": None,
        "consecutive_failures": 0,
        "etag": outcome.etag,
        "last_modified": outcome.last_modified,
        "body_sha256": outcome.body_sha256,
        "baseline_done": True,
        "lease_owner": None,
        "lease_until": None,
    }
    if outcome.items_seen is not None:
        values["items_seen"] = outcome.items_seen
        values["items_skipped"] = outcome.items_skipped or 0
        values["last_warning"] = outcome.warning
    if outcome.moved_to:
        values["moved_to"] = outcome.moved_to
    statement = (
        update(SOURCES)
        .where(SOURCES.c.id == source_id)
        .where(or_(SOURCES.c.lease_owner == owner, SOURCES.c.lease_owner.is_(None)))
        .values(**values)
    )
    await _commit(engine, statement)


async def _commit(engine: AsyncEngine, statement: Executable) -> None:
    """One statement, committed with whatever other polls are recording at the same time."""

    async def work(connection: AsyncConnection) -> None:
        await connection.execute(statement)

    await group_commit(engine).write(work)


async def record_failure(
    engine: AsyncEngine,
    source_id: str,
    owner: str,
    *,
    kind: str,
    error: str,
    next_poll_at: datetime,
) -> None:
    moment = now()
    await _commit(
        engine,
        update(SOURCES)
        .where(SOURCES.c.id == source_id)
        .where(or_(SOURCES.c.lease_owner == owner, SOURCES.c.lease_owner.is_(None)))
        .values(
            status="failing",
            last_poll_at=moment,
            last_error=error,
            last_error_kind=kind,
            last_error_at=moment,
            consecutive_failures=SOURCES.c.consecutive_failures + 1,
            next_poll_at=next_poll_at,
            lease_owner=None,
            lease_until=None,
        ),
    )
