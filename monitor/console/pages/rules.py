"""The rules list and the rule workbench: write a rule, check its query as it is typed,
"Test" it over the archive, save it (editors), mute and unmute it.

htmx asks ``/rules/check`` (the query alone) as the query is typed and ``/rules/try``
when "Test" is pressed: both GET, both read-only, so neither carries the CSRF token in
its URL. Saving is a plain form POST (it works without script); a refused save shows
the page again with the error at its field.
"""

from __future__ import annotations

from datetime import date
from math import ceil
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from monitor.console import items
from monitor.console.auth import EDITOR, VIEWER, ConsoleError, Invalid, address_of, context
from monitor.console.render import fragment, page
from monitor.errors import QuerySyntaxError
from monitor.store.people import Identity
from monitor.store.rule_test import rule_activity, try_rule
from monitor.store.shapes import RuleItem

router = APIRouter(include_in_schema=False)

SINCE = ("7d", "30d", "90d")
LEVELS = 8  # bar heights of the small charts: classes b0..b8 (the CSP allows no style="")


def bars(counts: list[int]) -> list[int]:
    """Each count as a bar height from 0 to ``LEVELS``, scaled to the largest."""
    top = max(counts, default=0)
    return [ceil(c * LEVELS / top) if top else 0 for c in counts]


@router.get("/rules", response_class=HTMLResponse)
async def rules(request: Request, me: Identity = VIEWER) -> Response:
    ctx = context(request)
    shown = await items.rule_items(ctx)
    days, activity = await rule_activity(ctx.engine, ctx.config.zone)
    charts = {r.id: _chart(days, activity.get(r.id, [0] * len(days))) for r in shown}
    return page(request, "rules.html", identity=me, title="Rules", rules=shown, charts=charts)


def _chart(days: list[date], counts: list[int]) -> dict[str, Any]:
    return {
        "days": list(zip(days, counts, bars(counts), strict=True)),
        "total": sum(counts),
        "first": days[0] if days else None,
    }


async def _choices(request: Request) -> dict[str, Any]:
    effective, _ = await items.live(context(request))
    config = effective.config
    return {
        "channels": [c.id for c in config.channels],
        "sources": [(s.id, s.display_name) for s in config.sources],
        "since_choices": SINCE,
    }


@router.get("/rules/new", response_class=HTMLResponse)
async def new_rule(request: Request, me: Identity = VIEWER) -> Response:
    blank = {"id": "", "name": "", "query": "", "channels": [], "sources": []}
    return page(
        request,
        "rule.html",
        identity=me,
        title="New rule",
        rule=None,
        form=blank,
        error=None,
        **await _choices(request),
    )


@router.get("/rules/check", response_class=HTMLResponse)
async def check_query(request: Request, query: str = "", me: Identity = VIEWER) -> Response:
    """The query as typed: fine, or its error at its column (a caret under it)."""
    from monitor.rules.query import parse

    error = None
    if query.strip():
        try:
            parse(query, {k: list(v) for k, v in context(request).config.concepts.items()})
        except QuerySyntaxError as exc:
            error = exc
    return fragment(request, "_query_check.html", query=query, error=error)


@router.get("/rules/try", response_class=HTMLResponse)
async def try_query(
    request: Request, query: str = "", since: str = "30d", me: Identity = VIEWER
) -> Response:
    """ "Test": what the query would have caught over the archive since ``since``."""
    ctx = context(request)
    sources = request.query_params.getlist("sources")
    if since not in SINCE:
        since = "30d"
    if not query.strip():
        return fragment(request, "_rule_test.html", result=None, error="Write a query first.")
    from monitor.console.api import since_time

    effective, _ = await items.live(ctx)
    start = since_time(since)
    assert start is not None
    try:
        result = await try_rule(ctx.engine, effective.config, query, since=start, sources=sources)
    except QuerySyntaxError as exc:
        return fragment(request, "_rule_test.html", result=None, error=str(exc))
    counts = [d.count for d in result.per_day]
    return fragment(
        request,
        "_rule_test.html",
        result=result,
        error=None,
        since=since,
        chart=list(zip(result.per_day, bars(counts), strict=True)),
    )


@router.get("/rules/{rule_id}", response_class=HTMLResponse)
async def rule_page(request: Request, rule_id: str, me: Identity = VIEWER) -> Response:
    rule = await items.rule_item(context(request), rule_id)
    return await _workbench(request, me, rule, _form_of(rule), None)


def _form_of(rule: RuleItem) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": "" if rule.name == rule.id else rule.name,
        "query": rule.query,
        "channels": rule.channels,
        "sources": rule.sources,
        "version": rule.version,
    }


async def _workbench(
    request: Request,
    me: Identity,
    rule: RuleItem | None,
    form: dict[str, Any],
    error: ConsoleError | None,
) -> Response:
    return page(
        request,
        "rule.html",
        identity=me,
        status=error.status if error else 200,
        title=rule.name if rule else "New rule",
        rule=rule,
        form=form,
        error=error,
        **await _choices(request),
    )


def _body(form: FormData) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(form.get("id") or "").strip(),
        "query": str(form.get("query") or ""),
        "channels": [str(c) for c in form.getlist("channels")],
    }
    name = str(form.get("name") or "").strip()
    if name:
        body["name"] = name
    sources = [str(s) for s in form.getlist("sources")]
    if sources:
        body["sources"] = sources
    return body


@router.post("/rules/new", response_class=HTMLResponse)
async def create_rule(request: Request, me: Identity = EDITOR) -> Response:
    form = await request.form()
    body = _body(form)
    try:
        made = await items.create(context(request), "rule", body, me, address_of(request))
    except ConsoleError as exc:
        return await _workbench(request, me, None, body, exc)
    return RedirectResponse(f"/rules/{made.id}?saved=1", status_code=303)


@router.post("/rules/{rule_id}", response_class=HTMLResponse)
async def save_rule(request: Request, rule_id: str, me: Identity = EDITOR) -> Response:
    ctx = context(request)
    form = await request.form()
    body = {**_body(form), "id": rule_id}
    try:
        version = int(str(form.get("version") or ""))
    except ValueError:
        version = None
    try:
        await items.update(ctx, "rule", rule_id, body, version, me, address_of(request))
    except ConsoleError as exc:
        rule = await items.rule_item(ctx, rule_id)
        return await _workbench(request, me, rule, {**body, "version": version}, exc)
    return RedirectResponse(f"/rules/{rule_id}?saved=1", status_code=303)


@router.post("/rules/{rule_id}/delete")
async def delete_rule(request: Request, rule_id: str, me: Identity = EDITOR) -> Response:
    await items.remove(context(request), "rule", rule_id, None, me, address_of(request))
    return RedirectResponse("/rules", status_code=303)


@router.post("/rules/{rule_id}/mute")
async def mute_rule(request: Request, rule_id: str, me: Identity = EDITOR) -> Response:
    form = await request.form()
    period = str(form.get("for") or "") or None
    until = str(form.get("until") or "") or None
    if until is not None and period is None:
        until = _local(until, context(request).config.zone)
    try:
        moment = items.mute_until(period, until)
    except Invalid as exc:
        rule = await items.rule_item(context(request), rule_id)
        return await _workbench(request, me, rule, _form_of(rule), exc)
    await items.mute(context(request), rule_id, moment, me, address_of(request))
    return RedirectResponse(f"/rules/{rule_id}", status_code=303)


def _local(value: str, zone: Any) -> str:
    """A ``datetime-local`` value (no zone) read in the config's zone, as ISO with it."""
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value  # mute_until names the field
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).isoformat()


@router.post("/rules/{rule_id}/unmute")
async def unmute_rule(request: Request, rule_id: str, me: Identity = EDITOR) -> Response:
    await items.unmute(context(request), rule_id, me, address_of(request))
    return RedirectResponse(f"/rules/{rule_id}", status_code=303)
