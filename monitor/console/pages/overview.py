"""The overview, sources and channels pages, and "Send test" (editor)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from monitor.console import actions, items
from monitor.console.auth import EDITOR, VIEWER, NotFound, address_of, context
from monitor.console.render import fragment, note_mutes, page
from monitor.notify.registry import shown_target
from monitor.store import archive, reads
from monitor.store.people import Identity

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def overview(request: Request, me: Identity = VIEWER) -> Response:
    ctx = context(request)
    data = await reads.overview(ctx.engine, ctx.config)
    await note_mutes(request)
    return page(request, "overview.html", identity=me, title="Overview", data=data)


@router.get("/sources", response_class=HTMLResponse)
async def sources(request: Request, deleted: str = "", me: Identity = VIEWER) -> Response:
    ctx = context(request)
    # what is in force now, console sources included: a save shows at once
    effective, _ = await items.live(ctx)
    rows = await reads.source_health(ctx.engine, effective.config)
    console = effective.console.get("source", frozenset())
    return page(
        request,
        "sources.html",
        identity=me,
        title="Sources",
        sources=rows,
        console=console,
        deleted=deleted,
        notices=[n for n in effective.notices() if n.startswith("console source")],
    )


@router.get("/sources/{source_id}", response_class=HTMLResponse)
async def source(
    request: Request, source_id: str, cursor: str | None = None, me: Identity = VIEWER
) -> Response:
    ctx = context(request)
    effective, stored = await items.live(ctx)
    config = effective.config
    found = await reads.source_health(ctx.engine, config, only=source_id)
    if not found:
        raise NotFound(f"no source {source_id!r}")
    releases = await archive.release_page(
        ctx.engine, config, archive.ReleaseFilter(source=source_id), cursor=cursor, limit=25
    )
    return page(
        request,
        "source.html",
        identity=me,
        title=found[0].name,
        source=found[0],
        spec=config.source(source_id),
        interval=config.interval_of(config.source(source_id)),
        alarms=await reads.source_alarms(ctx.engine, source_id),
        releases=releases,
        origin=effective.origin("source", source_id),
        stored=stored.get(f"source:{source_id}"),
    )


@router.get("/channels", response_class=HTMLResponse)
async def channels(request: Request, me: Identity = VIEWER) -> Response:
    return await _channels(request, me)


async def _channels(
    request: Request, me: Identity, tested: tuple[str, str | None] | None = None
) -> Response:
    ctx = context(request)
    rows = await reads.channel_list(ctx.engine, ctx.config, shown_target)
    return page(
        request, "channels.html", identity=me, title="Channels", channels=rows, tested=tested
    )


@router.post("/channels/{channel_id}/test", response_class=HTMLResponse)
async def send_test(request: Request, channel_id: str, me: Identity = EDITOR) -> Response:
    error = await actions.send_test(context(request), channel_id, me, address_of(request))
    if request.headers.get("hx-request"):
        return fragment(request, "_test_result.html", channel=channel_id, error=error)
    return await _channels(request, me, tested=(channel_id, error))
