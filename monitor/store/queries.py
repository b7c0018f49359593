"""Whole rows for the CLI's other commands, an operator's retry, and alert ids.

The listings people read (``sources``, ``releases``, ``alerts`` and the console's pages
and API) are ``store.reads`` and ``store.archive``; here are the stored rows entire
(``rules test --archive`` matches them, the demo and tests look at them), ``retry_alert``
(the CLI's and the console's Retry) and the id prefixes only the CLI takes.

Ids: wherever an alert id is asked for, a unique prefix of at least ``MIN_ID_PREFIX``
characters will do (SPEC section 1); ``resolve_alert_id`` says which ids an ambiguous
prefix matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store.session import writing
from monitor.store.tables import ALERTS, RELEASES, AlertRow, ReleaseRow, now

MIN_ID_PREFIX = 6
_SHOWN_MATCHES = 5  # ids an ambiguous prefix lists


class IdLookupError(LookupError):
    """An id that names no alert, or a prefix too short or matching several. ``message`` is
    one line for a person."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


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


async def retry_alert(
    engine: AsyncEngine, alert_id: str, moment: datetime | None = None
) -> str | None:
    """Make a failed or dead alert due now (``moment``). Returns its previous status, or
    None if unknown. A channel backing off after failures tries again at once."""
    async with writing(engine) as connection:
        current = (
            await connection.execute(select(ALERTS.c.status).where(ALERTS.c.id == alert_id))
        ).scalar_one_or_none()
        if current in ("failed", "dead"):
            moment = moment or now()
            await connection.execute(
                update(ALERTS)
                .where(ALERTS.c.id == alert_id)
                .values(
                    status="failed",
                    next_attempt_at=moment,
                    retry_requested_at=moment,  # a backing-off channel probes now
                    lease_owner=None,
                    lease_until=None,
                )
            )
        return current


async def resolve_alert_id(engine: AsyncEngine, given: str) -> str:
    """The full id of the alert ``given`` names: the id, or a unique prefix of it."""
    given = given.strip().lower()
    async with engine.connect() as connection:
        exact = (
            await connection.execute(select(ALERTS.c.id).where(ALERTS.c.id == given))
        ).scalar_one_or_none()
        if exact is not None:
            return str(exact)
        if len(given) < MIN_ID_PREFIX:
            raise IdLookupError(
                f"alert id {given!r} is too short: give at least {MIN_ID_PREFIX} characters"
            )
        found = (
            await connection.execute(
                select(ALERTS.c.id)
                .where(ALERTS.c.id.startswith(given, autoescape=True))
                .order_by(ALERTS.c.id)
                .limit(_SHOWN_MATCHES + 1)
            )
        ).scalars()
        ids = [str(i) for i in found]
    if not ids:
        raise IdLookupError(f"no alert {given!r}")
    if len(ids) > 1:
        more = ", …" if len(ids) > _SHOWN_MATCHES else ""
        listed = ", ".join(ids[:_SHOWN_MATCHES])
        raise IdLookupError(f"alert id {given!r} is ambiguous: it matches {listed}{more}")
    return ids[0]
