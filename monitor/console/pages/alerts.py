"""The delivery log: ``/alerts`` (filters, keyset paging), ``/alerts/{id}`` (the payload
its channel gets, attempts, last error) and Retry (editor). The status block refreshes
itself through htmx while a send is imminent, so a retried alert is seen going out."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from monitor.console import actions
from monitor.console.auth import EDITOR, VIEWER, NotFound, address_of, context
from monitor.console.render import fragment, note_mutes, page
from monitor.store import reads
from monitor.store.keyset import BadCursor
from monitor.store.people import Identity
from monitor.store.shapes import AlertDetail, AlertPage

router = APIRouter(include_in_schema=False)
SINCE = {"24h": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30)}


@router.get("/alerts", response_class=HTMLResponse)
async def alerts(
    request: Request,
    status: str = "",
    rule: str = "",
    channel: str = "",
    since: str = "",
    cursor: str | None = None,
    me: Identity = VIEWER,
) -> Response:
    from monitor.store.tables import now

    ctx = context(request)
    problem = None
    await note_mutes(request)
    try:
        result = await reads.alert_page(
            ctx.engine,
            status=status or None,
            rule=rule or None,
            channel=channel or None,
            since=now() - SINCE[since] if since in SINCE else None,
            cursor=cursor,
        )
    except BadCursor as exc:
        result, problem = AlertPage(items=[], next=None), str(exc)
    return page(
        request,
        "alerts.html",
        identity=me,
        status=400 if problem else 200,
        title="Alerts",
        page_data=result,
        problem=problem,
        form={"status": status, "rule": rule, "channel": channel, "since": since},
        statuses=reads.ALERT_STATUSES,
        rules=[r.id for r in ctx.config.rules],
        channels=[c.id for c in ctx.config.channels],
        periods=list(SINCE),
    )


async def _detail(request: Request, alert_id: str) -> AlertDetail:
    ctx = context(request)
    found = await reads.alert_detail(ctx.engine, ctx.config, alert_id)
    if found is None:
        raise NotFound(f"no alert {alert_id!r}")
    return found


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
async def alert(request: Request, alert_id: str, me: Identity = VIEWER) -> Response:
    import json

    found = await _detail(request, alert_id)
    await note_mutes(request)
    payload = json.dumps(found.payload, ensure_ascii=False, indent=2)
    return page(request, "alert.html", identity=me, title="Alert", a=found, payload=payload)


@router.get("/alerts/{alert_id}/status", response_class=HTMLResponse)
async def alert_status(request: Request, alert_id: str, me: Identity = VIEWER) -> Response:
    return fragment(request, "_alert_status.html", a=await _detail(request, alert_id), me=me)


@router.post("/alerts/{alert_id}/retry", response_class=HTMLResponse)
async def retry(request: Request, alert_id: str, me: Identity = EDITOR) -> Response:
    await actions.retry(context(request), alert_id, me, address_of(request))
    if request.headers.get("hx-request"):
        return fragment(request, "_alert_status.html", a=await _detail(request, alert_id), me=me)
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)
