"""Read-side queries for the CLI (and the console to come): releases, alerts, counts, ids.

Plain functions over an engine that return rows and dataclasses, never text for a
terminal: the CLI formats them, a web console will render the same values. Writes live
with their stage, except ``retry_alert``, an operator's command.

Ids: wherever an alert id is asked for, a unique prefix of at least ``MIN_ID_PREFIX``
characters will do (SPEC section 1); ``resolve_alert_id`` says which ids an ambiguous
prefix matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.model import Hit
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


@dataclass(frozen=True, slots=True)
class AlertSummary:
    """One line of the delivery log: the alert and what it is about."""

    alert: AlertRow
    title: str
    source: str
    url: str | None


@dataclass(frozen=True, slots=True)
class AlertDetail:
    """Everything about one alert: its release, the hits, the story's other copies."""

    alert: AlertRow
    release: ReleaseRow
    hits: tuple[Hit, ...]
    copies: tuple[tuple[str, str], ...]  # (source id, url)


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


async def find_alerts(
    engine: AsyncEngine,
    *,
    status: str | None = None,
    rule: str | None = None,
    channel: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> list[AlertSummary]:
    """The delivery log, newest first, with each alert's release title and source."""
    statement = (
        select(ALERTS, RELEASES.c.title, RELEASES.c.source_id, RELEASES.c.url)
        .join(RELEASES, RELEASES.c.id == ALERTS.c.release_id)
        .order_by(ALERTS.c.created_at.desc(), ALERTS.c.id)
    )
    for column, value in ((ALERTS.c.status, status), (ALERTS.c.rule_id, rule)):
        if value is not None:
            statement = statement.where(column == value)
    if channel is not None:
        statement = statement.where(ALERTS.c.channel_id == channel)
    if since is not None:
        statement = statement.where(ALERTS.c.created_at >= since)
    if limit is not None:
        statement = statement.limit(limit)
    async with engine.connect() as connection:
        rows = (await connection.execute(statement)).all()
    return [
        AlertSummary(
            AlertRow.model_validate({c.name: row._mapping[c.name] for c in ALERTS.columns}),
            row.title,
            row.source_id,
            row.url,
        )
        for row in rows
    ]


async def alert_detail(engine: AsyncEngine, alert_id: str) -> AlertDetail:
    """One alert in full (``alert_id`` as ``resolve_alert_id`` gives it)."""
    from monitor.store.outbox import load_claimed

    async with engine.connect() as connection:
        row = (await connection.execute(select(ALERTS).where(ALERTS.c.id == alert_id))).one()
    alert = AlertRow.model_validate(row._mapping)
    (claimed,) = await load_claimed(engine, [alert])  # as the delivery worker reads it
    return AlertDetail(alert, claimed.release, claimed.hits, claimed.copies)
