"""Singleton jobs (digests, retention, alarms) run on one instance at a time.

On PostgreSQL an instance becomes the leader by taking a session advisory lock
(``pg_try_advisory_lock``) on a dedicated connection it keeps open; the lock is released
by the server when that connection dies, so leadership moves to another instance when its
holder crashes. On SQLite there is only ever one instance (see ``ops.instance``): it leads.
"""

from __future__ import annotations

import contextlib
import logging

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("monitor.leader")

LEADER_KEY = 0x6C656164  # "lead"


class Leadership:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._connection: AsyncConnection | None = None

    async def is_leader(self) -> bool:
        """True while this instance holds the lock; tries to take it when nobody does."""
        if self.engine.dialect.name != "postgresql":
            return True
        if self._connection is not None:
            try:
                await self._connection.execute(text("SELECT 1"))
                return True
            except DBAPIError:
                # the connection died, and the lock with it: somebody else may lead now
                await self._drop()
        try:
            connection = await self.engine.connect()
        except DBAPIError:
            return False
        try:
            result = await connection.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_KEY}
            )
            await connection.commit()
            if result.scalar_one():
                self._connection = connection
                log.info("this instance now runs the singleton jobs", extra={"action": "leader"})
                return True
        except DBAPIError:
            pass
        await connection.close()
        return False

    async def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(DBAPIError):
                await self._connection.close()
            self._connection = None

    async def close(self) -> None:
        await self._drop()
