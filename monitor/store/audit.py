"""The audit log: every change with who, when, what, and the state before and after.

Writers call ``record`` inside the transaction that makes the change, so an entry exists
exactly when the change does. ``before`` and ``after`` are JSON of plain values; callers
never pass a secret (a password change records that it happened, not the hash).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.store import keyset
from monitor.store.session import writing
from monitor.store.shapes import AuditEntry, AuditPage
from monitor.store.tables import AUDIT, now


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


async def record(
    connection: AsyncConnection,
    *,
    actor: str,
    action: str,
    target: str = "",
    before: Any = None,
    after: Any = None,
    address: str | None = None,
    moment: datetime | None = None,
) -> None:
    """Write one entry in the caller's transaction."""
    await connection.execute(
        insert(AUDIT).values(
            at=moment or now(),
            actor=actor[:100],
            action=action[:50],
            target=target[:200],
            before=_json(before),
            after=_json(after),
            address=address,
        )
    )


async def write(engine: AsyncEngine, **entry: Any) -> None:
    """``record`` in a transaction of its own (for an action with no row of its own)."""
    async with writing(engine) as connection:
        await record(connection, **entry)


async def entries(
    engine: AsyncEngine, *, cursor: str | None = None, limit: int | None = None
) -> AuditPage:
    """The log, newest first, a page at a time (``ix_audit_at``)."""
    size = keyset.clamp(limit)
    statement = select(AUDIT).order_by(AUDIT.c.at.desc(), AUDIT.c.id.desc()).limit(size + 1)
    after = keyset.older_than(AUDIT.c.at, AUDIT.c.id, cursor)
    if after is not None:
        statement = statement.where(after)
    async with engine.connect() as connection:
        rows = (await connection.execute(statement)).all()
    items = [
        AuditEntry(
            id=row.id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            target=row.target,
            before=json.loads(row.before) if row.before else None,
            after=json.loads(row.after) if row.after else None,
            address=row.address,
        )
        for row in rows[:size]
    ]
    more = len(rows) > size
    return AuditPage(items=items, next=keyset.encode(items[-1].at, items[-1].id) if more else None)
