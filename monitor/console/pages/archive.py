"""The archive: ``/releases`` (search with the rule language, filters, stories, keyset
paging) and ``/releases/{id}`` (the text with its matches marked, revisions, copies and
the story's alerts). A query that does not parse is shown at its column, not a 500."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from monitor.console.auth import VIEWER, Invalid, NotFound, context
from monitor.console.render import note_mutes, page
from monitor.errors import QuerySyntaxError
from monitor.store import archive
from monitor.store.keyset import BadCursor
from monitor.store.people import Identity
from monitor.store.shapes import ReleasePage

router = APIRouter(include_in_schema=False)


def day_start(value: str | None, zone: object, *, field: str) -> datetime | None:
    """A ``YYYY-MM-DD`` from a date field, as the start of that day in the config's zone."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{field}: use a date such as 2019-03-13", field=field) from None
    return datetime.combine(day, time(), tzinfo=zone)  # type: ignore[arg-type]


@router.get("/releases", response_class=HTMLResponse)
async def releases(
    request: Request,
    q: str = "",
    source: str = "",
    language: str = "",
    since: str = "",
    until: str = "",
    cursor: str | None = None,
    me: Identity = VIEWER,
) -> Response:
    ctx = context(request)
    config = ctx.config
    error: QuerySyntaxError | None = None
    problem: str | None = None
    result = ReleasePage(items=[], next=None)
    try:
        end = day_start(until, config.zone, field="until")
        filters = archive.ReleaseFilter(
            q=q or None,
            source=source or None,
            language=language or None,
            since=day_start(since, config.zone, field="since"),
            until=end + timedelta(days=1) if end else None,
        )
        result = await archive.release_page(ctx.engine, config, filters, cursor=cursor)
    except QuerySyntaxError as exc:
        error = exc
    except (Invalid, BadCursor) as exc:
        problem = str(exc)
    languages = sorted({s.language for s in config.sources if s.language} | {"ar", "en"})
    return page(
        request,
        "releases.html",
        identity=me,
        status=422 if error or problem else 200,
        title="Releases",
        page_data=result,
        form={"q": q, "source": source, "language": language, "since": since, "until": until},
        sources=[(s.id, s.display_name) for s in config.sources],
        languages=languages,
        query_error=error,
        problem=problem,
    )


@router.get("/releases/{release_id}", response_class=HTMLResponse)
async def release(
    request: Request, release_id: int, q: str = "", me: Identity = VIEWER
) -> Response:
    ctx = context(request)
    try:
        found = await archive.release_detail(ctx.engine, ctx.config, release_id, q=q or None)
    except QuerySyntaxError:
        found = await archive.release_detail(ctx.engine, ctx.config, release_id)
    if found is None:
        raise NotFound(f"no release {release_id}")
    names = {s.id: s.display_name for s in ctx.config.sources}
    await note_mutes(request)
    return page(
        request,
        "release.html",
        identity=me,
        title=found.title,
        r=found,
        source_name=names.get(found.source, found.source),
        q=q,
    )
