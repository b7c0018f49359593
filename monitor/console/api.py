"""The read API, ``/api/v1`` (SPEC section 5), and ``POST /alerts/{id}/retry``.

Bearer tokens (``monitor tokens create``); the console's own htmx calls may use their
session and CSRF token instead. Every answer is a shape of ``store.shapes``; errors are
``{"error": {"code", "message", "field"?, "column"?}}`` with 400, 401, 403, 404, 409 or
422 — a query that does not parse is a 422 carrying its ``column``. Listings take
``limit`` (at most 200) and ``cursor`` (the previous page's ``next``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from monitor.console import actions
from monitor.console.auth import ADMIN, EDITOR, VIEWER, Invalid, NotFound, address_of, context
from monitor.errors import QuerySyntaxError
from monitor.notify.registry import shown_target
from monitor.store import archive, audit, reads
from monitor.store.keyset import MAX_PAGE, BadCursor
from monitor.store.people import Identity
from monitor.store.shapes import (
    AlertDetail,
    AlertItem,
    AlertPage,
    AuditPage,
    ChannelItem,
    ReleaseDetail,
    ReleasePage,
)
from monitor.store.tables import now

ERRORS = {
    400: {"description": "Bad request (e.g. an invalid cursor)"},
    401: {"description": "No or bad credentials"},
    403: {"description": "Role too low, or a missing CSRF token"},
    422: {"description": "Invalid parameter; a query error carries its column"},
}
router = APIRouter(prefix="/api/v1", responses=ERRORS)  # type: ignore[arg-type]

Limit = Annotated[int | None, Query(ge=1, le=MAX_PAGE, description="At most this many items")]
Cursor = Annotated[str | None, Query(description="The previous page's 'next'")]
Since = Annotated[
    str | None, Query(description="A duration such as 7d, or an ISO 8601 time", examples=["7d"])
]


T = TypeVar("T")


class Items(BaseModel, Generic[T]):
    items: list[T]


def since_time(value: str | None) -> datetime | None:
    """``7d`` (that long ago) or an ISO 8601 time; a 422 naming ``since`` otherwise."""
    if not value:
        return None
    from monitor.config.durations import parse_duration

    try:
        return now() - parse_duration(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(
            "since: use a duration such as 7d or an ISO 8601 time", field="since"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@router.get("/releases", response_model=ReleasePage, summary="Browse and search the archive")
async def releases(
    request: Request,
    q: Annotated[str | None, Query(description="The rule language")] = None,
    source: str | None = None,
    language: str | None = None,
    since: Since = None,
    limit: Limit = None,
    cursor: Cursor = None,
    me: Identity = VIEWER,
) -> ReleasePage:
    ctx = context(request)
    if source is not None and source not in {s.id for s in ctx.config.sources}:
        raise Invalid(f"unknown source {source!r}", field="source")
    filters = archive.ReleaseFilter(q=q, source=source, language=language, since=since_time(since))
    try:
        return await archive.release_page(
            ctx.engine, ctx.config, filters, cursor=cursor, limit=limit
        )
    except QuerySyntaxError as exc:
        raise Invalid(
            f"q: {exc.message} at column {exc.column}", field="q", column=exc.column
        ) from None
    except BadCursor as exc:
        raise _bad_cursor(exc) from None


def _bad_cursor(exc: BadCursor) -> Invalid:
    error = Invalid(str(exc), field="cursor")
    error.status, error.code = 400, "bad_request"
    return error


@router.get("/releases/{release_id}", response_model=ReleaseDetail, summary="One release")
async def release(request: Request, release_id: int, me: Identity = VIEWER) -> ReleaseDetail:
    ctx = context(request)
    found = await archive.release_detail(ctx.engine, ctx.config, release_id)
    if found is None:
        raise NotFound(f"no release {release_id}")
    return found


@router.get("/alerts", response_model=AlertPage, summary="The delivery log")
async def alerts(
    request: Request,
    status: Annotated[str | None, Query(pattern="^(pending|sent|failed|dead|muted)$")] = None,
    rule: str | None = None,
    channel: str | None = None,
    since: Since = None,
    limit: Limit = None,
    cursor: Cursor = None,
    me: Identity = VIEWER,
) -> AlertPage:
    try:
        return await reads.alert_page(
            context(request).engine,
            status=status,
            rule=rule,
            channel=channel,
            since=since_time(since),
            cursor=cursor,
            limit=limit,
        )
    except BadCursor as exc:
        raise _bad_cursor(exc) from None


@router.get("/alerts/{alert_id}", response_model=AlertDetail, summary="One alert, its payload")
async def alert(request: Request, alert_id: str, me: Identity = VIEWER) -> AlertDetail:
    ctx = context(request)
    found = await reads.alert_detail(ctx.engine, ctx.config, alert_id)
    if found is None:
        raise NotFound(f"no alert {alert_id!r}")
    return found


@router.post(
    "/alerts/{alert_id}/retry",
    response_model=AlertItem,
    summary="Make a failed or dead alert due now (editor)",
    responses={404: {"description": "No such alert"}, 409: {"description": "Not failed or dead"}},
)
async def retry(request: Request, alert_id: str, me: Identity = EDITOR) -> AlertItem:
    ctx = context(request)
    await actions.retry(ctx, alert_id, me, address_of(request))
    found = await reads.alert_detail(ctx.engine, ctx.config, alert_id)
    assert found is not None
    return AlertItem(**found.model_dump(include=set(AlertItem.model_fields)))


@router.get("/channels", response_model=Items[ChannelItem], summary="Channels, without secrets")
async def channels(request: Request, me: Identity = VIEWER) -> Items[ChannelItem]:
    ctx = context(request)
    return Items(items=await reads.channel_list(ctx.engine, ctx.config, shown_target))


class TestResult(BaseModel):
    channel: str
    sent: bool
    error: str | None


@router.post(
    "/channels/{channel_id}/test",
    response_model=TestResult,
    summary="Send a test message through a channel now (editor)",
)
async def send_test(request: Request, channel_id: str, me: Identity = EDITOR) -> TestResult:
    error = await actions.send_test(context(request), channel_id, me, address_of(request))
    return TestResult(channel=channel_id, sent=error is None, error=error)


@router.get("/audit", response_model=AuditPage, summary="The audit log (admin)")
async def audit_log(
    request: Request, limit: Limit = None, cursor: Cursor = None, me: Identity = ADMIN
) -> AuditPage:
    try:
        return await audit.entries(context(request).engine, cursor=cursor, limit=limit)
    except BadCursor as exc:
        raise _bad_cursor(exc) from None
