"""Rows held under a lease (sources, alerts, digests: ``lease_owner``/``lease_until``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store.session import one_statement


async def update_held(
    engine: AsyncEngine, table: Any, ids: Sequence[str], owner: str, **values: Any
) -> None:
    """Set ``values`` on those of ``ids`` whose lease ``owner`` still holds (a lease that
    expired and was taken over by another instance is left alone)."""
    if not ids:
        return
    async with one_statement(engine) as connection:
        await connection.execute(
            update(table)
            .where(table.c.id.in_(list(ids)), table.c.lease_owner == owner)
            .values(**values)
        )


async def release(engine: AsyncEngine, table: Any, ids: Sequence[str], owner: str) -> None:
    """Give back rows claimed but not worked on: due again at once, for anyone."""
    await update_held(engine, table, ids, owner, lease_owner=None, lease_until=None)
