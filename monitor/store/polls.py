"""A source's polling state: leases on due sources, and the outcome of each poll.

Due sources are claimed with a lease (owner + expiry longer than a fetch's deadline), via
``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`` on PostgreSQL, so
several instances can share the work and a crashed instance's lease simply expires. The
claim's ``RETURNING`` hands each poll the state it starts from (``PollState``): no poll
reads its source's row again.

A poll that stores releases records its outcome in the same transaction
(``record_success_on``); the others' outcomes go through the group commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, and_, bindparam, case, column, func, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from monitor.store import leases
from monitor.store.group_commit import Row, group_commit
from monitor.store.session import one_statement
from monitor.store.tables import SOURCES, now


@dataclass(frozen=True, slots=True)
class PollState:
    """What a poll needs of its source's row, as the claim returns it."""

    id: str
    etag: str | None
    last_modified: str | None
    body_sha256: str | None
    baseline_done: bool
    consecutive_failures: int


# plain values, not the SQLModel row: validating a whole SourceRow cost 0.35 ms a source,
# a tenth of a warm poll's event loop
_STATE = tuple(SOURCES.c[name] for name in PollState.__dataclass_fields__)


async def claim_due_sources(
    engine: AsyncEngine,
    owner: str,
    *,
    lease: timedelta,
    limit: int,
    only: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    force: bool = False,
) -> list[PollState]:
    """Lease sources that are due (or, with ``force``, every unleased one): their states.

    ``only`` names the sources that may be claimed, ``exclude`` those that may not: the
    daemon excludes the few rows its config no longer has, rather than binding every
    source it has on every claim (10,000 parameters a second at scale)."""
    moment = now()
    due = select(SOURCES.c.id).where(
        or_(SOURCES.c.lease_until.is_(None), SOURCES.c.lease_until < moment)
    )
    if not force:
        due = due.where(SOURCES.c.next_poll_at <= moment)
    if only is not None:
        due = due.where(SOURCES.c.id.in_(only))
    if exclude:
        due = due.where(SOURCES.c.id.not_in(exclude))
    due = due.order_by(SOURCES.c.next_poll_at).limit(limit)
    if engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    async with one_statement(engine) as connection:
        result = await connection.execute(
            update(SOURCES)
            .where(SOURCES.c.id.in_(due.scalar_subquery()))
            .values(lease_owner=owner, lease_until=moment + lease)
            .returning(*_STATE)
        )
        return [PollState(*row) for row in result.all()]


async def release_source(engine: AsyncEngine, source_id: str, owner: str) -> None:
    await leases.release(engine, SOURCES, [source_id], owner)


async def release_sources(engine: AsyncEngine, source_ids: Sequence[str], owner: str) -> None:
    await leases.release(engine, SOURCES, source_ids, owner)


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
    await group_commit(engine).write(
        Row(_SUCCESS, _success_params(source_id, owner, outcome), _SUCCESS_ARRAYS)
    )


async def record_success_on(
    connection: AsyncConnection, source_id: str, owner: str, outcome: Success
) -> None:
    """``record_success`` in the caller's transaction (the one that stores the releases)."""
    await connection.execute(_SUCCESS, _success_params(source_id, owner, outcome))


def _success_params(source_id: str, owner: str, outcome: Success) -> dict[str, Any]:
    return {
        "b_id": source_id,
        "b_owner": owner,
        "b_moment": now(),
        "b_next": outcome.next_poll_at,
        "b_etag": outcome.etag,
        "b_last_modified": outcome.last_modified,
        "b_body": outcome.body_sha256,
        # counts and warning are those of the last body parsed: kept when unchanged
        "b_parsed": outcome.items_seen is not None,
        "b_seen": outcome.items_seen,
        "b_skipped": outcome.items_skipped or 0,
        # a warning may quote the feed: the caller made it storable (``parse.clean``)
        "b_warning": outcome.warning,
        "b_moved_to": outcome.moved_to or None,
    }


async def record_failure(
    engine: AsyncEngine,
    source_id: str,
    owner: str,
    *,
    kind: str,
    error: str,
    next_poll_at: datetime,
) -> None:
    await group_commit(engine).write(
        Row(
            _FAILURE,
            {
                "b_id": source_id,
                "b_owner": owner,
                "b_moment": now(),
                "b_next": next_poll_at,
                "b_error": error,  # storable: the caller's (it may quote the feed)
                "b_kind": kind,
            },
            _FAILURE_ARRAYS,
        )
    )


# Each outcome is one constant statement, so the outcomes recorded together are one
# executemany; on PostgreSQL also an arrays form (``Row.arrays``), the same outcome for many
# sources as one statement, each parameter the list of the rows' values unnested into one
# row per source. Both forms are built from one description of the outcome: ``value(name)``
# is the parameter ``name``, a bind parameter or the unnested row's column.
Value = Callable[[str], Any]

_TYPES = {
    "b_id": SOURCES.c.id.type,
    "b_owner": SOURCES.c.lease_owner.type,
    "b_moment": SOURCES.c.last_poll_at.type,
    "b_next": SOURCES.c.next_poll_at.type,
    "b_etag": SOURCES.c.etag.type,
    "b_last_modified": SOURCES.c.last_modified.type,
    "b_body": SOURCES.c.body_sha256.type,
    "b_parsed": Boolean(),
    "b_seen": SOURCES.c.items_seen.type,
    "b_skipped": SOURCES.c.items_skipped.type,
    "b_warning": SOURCES.c.last_warning.type,
    "b_moved_to": SOURCES.c.moved_to.type,
    "b_error": SOURCES.c.last_error.type,
    "b_kind": SOURCES.c.last_error_kind.type,
}
_FAILURE_NAMES = ("b_id", "b_owner", "b_moment", "b_next", "b_error", "b_kind")
_SUCCESS_NAMES = tuple(name for name in _TYPES if name not in ("b_error", "b_kind"))


def _bound(name: str) -> BindParameter[Any]:
    return bindparam(name, type_=_TYPES[name])


def _leased_by_caller(value: Value) -> ColumnElement[bool]:
    """The source's row, unless another instance has leased it since (ours expired)."""
    return and_(
        SOURCES.c.id == value("b_id"),
        or_(SOURCES.c.lease_owner == value("b_owner"), SOURCES.c.lease_owner.is_(None)),
    )


def _success(value: Value) -> Any:
    parsed = value("b_parsed")
    return (
        update(SOURCES)
        .where(_leased_by_caller(value))
        .values(
            status="ok",
            last_poll_at=value("b_moment"),
            last_success_at=value("b_moment"),
            next_poll_at=value("b_next"),
            last_error=None,
            last_error_kind=None,
            consecutive_failures=0,
            etag=value("b_etag"),
            last_modified=value("b_last_modified"),
            body_sha256=value("b_body"),
            baseline_done=True,
            lease_owner=None,
            lease_until=None,
            items_seen=case((parsed, value("b_seen")), else_=SOURCES.c.items_seen),
            items_skipped=case((parsed, value("b_skipped")), else_=SOURCES.c.items_skipped),
            last_warning=case((parsed, value("b_warning")), else_=SOURCES.c.last_warning),
            moved_to=func.coalesce(value("b_moved_to"), SOURCES.c.moved_to),
        )
    )


def _failure(value: Value) -> Any:
    return (
        update(SOURCES)
        .where(_leased_by_caller(value))
        .values(
            status="failing",
            last_poll_at=value("b_moment"),
            last_error=value("b_error"),
            last_error_kind=value("b_kind"),
            last_error_at=value("b_moment"),
            consecutive_failures=SOURCES.c.consecutive_failures + 1,
            next_poll_at=value("b_next"),
            lease_owner=None,
            lease_until=None,
        )
    )


def _unnested(names: tuple[str, ...]) -> Value:
    """``unnest(:name, …) AS u(name, …)``, each parameter an array of its column's type:
    its columns by name."""
    rows = (
        func.unnest(*(bindparam(name, type_=ARRAY(_TYPES[name])) for name in names))
        .table_valued(*(column(name, _TYPES[name]) for name in names))
        .render_derived()
    )
    return lambda name: rows.c[name]


_SUCCESS = _success(_bound)
_FAILURE = _failure(_bound)
_SUCCESS_ARRAYS = _success(_unnested(_SUCCESS_NAMES))
_FAILURE_ARRAYS = _failure(_unnested(_FAILURE_NAMES))
