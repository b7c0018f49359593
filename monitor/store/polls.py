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
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store.session import writing
from monitor.store.tables import SourceRow, now


async def load_state(engine: AsyncEngine, source_id: str) -> SourceRow:
    async with engine.connect() as connection:
        row = (await connection.execute(select(SourceRow).where(SourceRow.id == source_id))).one()  # type: ignore[arg-type]
    return SourceRow.model_validate(row._mapping)


async def claim_due_sources(
    engine: AsyncEngine, owner: str, *, lease: timedelta, limit: int, only: Sequence[str] | None = None,
    force: bool = False,
) -> list[str]:
    """Lease sources that are due (or, with ``force``, every unleased one) and return their ids."""
    moment = now()
    due = select(SourceRow.id).where(
        or_(SourceRow.lease_until.is_(None), SourceRow.lease_until < moment)  # type: ignore[union-attr,operator]
    )
    if not force:
        due = due.where(SourceRow.next_poll_at <= moment)  # type: ignore[arg-type,operator]
    if only is not None:
        due = due.where(SourceRow.id.in_(only))  # type: ignore[attr-defined]
    due = due.order_by(SourceRow.next_poll_at).limit(limit)  # type: ignore[arg-type]
    if engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    async with writing(engine) as connection:
        result = await connection.execute(
            update(SourceRow)
            .where(SourceRow.id.in_(due.scalar_subquery()))  # type: ignore[attr-defined]
            .values(lease_owner=owner, lease_until=moment + lease)
            .returning(SourceRow.id)  # type: ignore[arg-type]
        )
        return [r[0] for r in result.all()]


async def release_source(engine: AsyncEngine, source_id: str, owner: str) -> None:
    async with writing(engine) as connection:
        await connection.execute(
            update(SourceRow)
            .where(SourceRow.id == source_id, SourceRow.lease_owner == owner)  # type: ignore[arg-type]
            .values(lease_owner=None, lease_until=None)
        )


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
    async with writing(engine) as connection:
        await connection.execute(
            update(SourceRow)
            .where(SourceRow.id == source_id)  # type: ignore[arg-type]
            .where(or_(SourceRow.lease_owner == owner, SourceRow.lease_owner.is_(None)))  # type: ignore[union-attr,arg-type]
            .values(**values)
        )


async def record_failure(
    engine: AsyncEngine, source_id: str, owner: str, *, kind: str, error: str, next_poll_at: datetime
) -> None:
    moment = now()
    async with writing(engine) as connection:
        await connection.execute(
            update(SourceRow)
            .where(SourceRow.id == source_id)  # type: ignore[arg-type]
            .where(or_(SourceRow.lease_owner == owner, SourceRow.lease_owner.is_(None)))  # type: ignore[union-attr,arg-type]
            .values(
                status="failing",
                last_poll_at=moment,
                last_error=error,
                last_error_kind=kind,
                last_error_at=moment,
                consecutive_failures=SourceRow.consecutive_failures + 1,
                next_poll_at=next_poll_at,
                lease_owner=None,
                lease_until=None,
            )
        )
