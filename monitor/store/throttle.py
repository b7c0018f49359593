"""Sign-in throttling (SPEC section 5): the fifth failed sign-in for a name, or from an
address, within ``THROTTLE_WINDOW`` locks that name and that address for ``LOCK_FOR``.

A lock is the ``locks_until`` of the failure that reached the limit, so it holds on every
instance. A sign-in refused while locked is not counted again (the lock does not grow by
itself), and the password is not even checked. Each failure is in the audit log.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store import audit
from monitor.store.session import writing
from monitor.store.tables import SIGN_IN_FAILURES, now

THROTTLE_WINDOW = timedelta(minutes=15)
THROTTLE_LIMIT = 5
LOCK_FOR = timedelta(minutes=15)


async def locked_until(
    engine: AsyncEngine, name: str, address: str, moment: datetime | None = None
) -> datetime | None:
    """When the lock on ``name`` or ``address`` ends; None when neither is locked."""
    moment = moment or now()
    statement = select(func.max(SIGN_IN_FAILURES.c.locks_until)).where(
        or_(SIGN_IN_FAILURES.c.name == name, SIGN_IN_FAILURES.c.address == address),
        SIGN_IN_FAILURES.c.at >= moment - LOCK_FOR,
        SIGN_IN_FAILURES.c.locks_until > moment,
    )
    async with engine.connect() as connection:
        until: datetime | None = (await connection.execute(statement)).scalar_one_or_none()
    return until


async def record_failure(
    engine: AsyncEngine, name: str, address: str, moment: datetime | None = None
) -> datetime | None:
    """Count a failed sign-in (and audit it); returns the lock's end when this one locks."""
    moment = moment or now()
    name = name[:100]
    window = SIGN_IN_FAILURES.c.at > moment - THROTTLE_WINDOW
    async with writing(engine) as connection:
        by_name, by_address = (
            await connection.execute(
                select(
                    func.count().filter(SIGN_IN_FAILURES.c.name == name),
                    func.count().filter(SIGN_IN_FAILURES.c.address == address),
                ).where(
                    window,
                    or_(SIGN_IN_FAILURES.c.name == name, SIGN_IN_FAILURES.c.address == address),
                )
            )
        ).one()
        # this failure is the n-th of the window: the fifth locks
        locks = max(by_name, by_address) + 1 >= THROTTLE_LIMIT
        until = moment + LOCK_FOR if locks else None
        await connection.execute(
            insert(SIGN_IN_FAILURES).values(
                name=name, address=address, at=moment, locks_until=until
            )
        )
        await audit.record(
            connection,
            actor=name or "(no name)",
            action="sign-in.failed",
            target=name,
            after={"locked_until": until.isoformat()} if until else None,
            address=address,
            moment=moment,
        )
    return until
