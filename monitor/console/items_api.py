"""The write API of rules and sources, the rule test and mutes (SPEC section 5).

A body is the item as the config file holds it (``{"id", "query", "channels", ...}``); a
change (PUT) carries the ``version`` it read — in the body or as ``If-Match`` — and a
delete may (``?version=``). Errors: 404 no such item; 409 a file item (read-only here, the
reason given) or a stale version; 422 what the config checks refuse, with its ``field``
and, for a query, its ``column``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Request, Response
from pydantic import BaseModel

from monitor.console import items
from monitor.console.api import ERRORS, Items, since_time
from monitor.console.auth import EDITOR, VIEWER, Invalid, NotFound, address_of, context
from monitor.errors import QuerySyntaxError
from monitor.store import reads
from monitor.store.items import ConsoleItem, generation, without_credentials
from monitor.store.people import Identity
from monitor.store.rule_test import RuleTest, try_rule
from monitor.store.shapes import RuleItem, SourceHealth

WRITES: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such item"},
    409: {"description": "A file item (read-only), or a stale version"},
}
router = APIRouter(prefix="/api/v1", responses={**ERRORS, **WRITES})  # type: ignore[dict-item]

Item = Annotated[dict[str, Any], Body(description="The item as the config file holds it")]
IfMatch = Annotated[str | None, Header(description="The version read (or 'version' in the body)")]


class Stored(BaseModel):
    """A console item as stored: its config mapping and its version."""

    kind: str
    id: str
    version: int
    item: dict[str, Any]
    origin: str = "console"

    @classmethod
    def of(cls, stored: ConsoleItem) -> Stored:
        # credentials in a URL are shown as *** (SPEC 5: secrets never reach the API)
        shown = without_credentials(stored.body)
        return cls(kind=stored.kind, id=stored.id, version=stored.version, item=shown)


def _version(body: dict[str, Any], header: str | None) -> tuple[dict[str, Any], int | None]:
    given = body.pop("version", None) if isinstance(body, dict) else None
    if given is None and header:
        given = header.strip().strip('"')
    if given is None:
        return body, None
    try:
        return body, int(given)
    except (TypeError, ValueError):
        raise Invalid("version: a whole number, as read", field="version") from None


# --- rules -------------------------------------------------------------------------------


@router.get("/rules", response_model=Items[RuleItem], summary="Every rule, its origin and mute")
async def rules(request: Request, response: Response, me: Identity = VIEWER) -> Items[RuleItem]:
    """Headers: ``X-Config-Generation``, the generation of the rules and sources stored;
    ``X-Config-Generation-Applied``, the one in force on this instance (a change is in
    force here once it caught up, within seconds)."""
    ctx = context(request)
    response.headers["X-Config-Generation"] = str(await generation(ctx.engine))
    applied = ctx.applied_generation() if ctx.applied_generation else None
    if applied is not None:
        response.headers["X-Config-Generation-Applied"] = str(applied)
    return Items(items=await items.rule_items(ctx))


@router.get("/rules/{rule_id}", response_model=RuleItem, summary="One rule")
async def rule(request: Request, rule_id: str, me: Identity = VIEWER) -> RuleItem:
    return await items.rule_item(context(request), rule_id)


@router.post("/rules", response_model=RuleItem, status_code=201, summary="A new rule (editor)")
async def create_rule(request: Request, body: Item, me: Identity = EDITOR) -> RuleItem:
    ctx = context(request)
    body, _ = _version(body, None)
    made = await items.create(ctx, "rule", body, me, address_of(request))
    return await items.rule_item(ctx, made.id)


@router.put("/rules/{rule_id}", response_model=RuleItem, summary="Change a rule (editor)")
async def update_rule(
    request: Request, rule_id: str, body: Item, if_match: IfMatch = None, me: Identity = EDITOR
) -> RuleItem:
    ctx = context(request)
    body, version = _version(body, if_match)
    await items.update(ctx, "rule", rule_id, body, version, me, address_of(request))
    return await items.rule_item(ctx, rule_id)


@router.delete("/rules/{rule_id}", status_code=204, summary="Delete a rule (editor)")
async def delete_rule(
    request: Request, rule_id: str, version: int | None = None, me: Identity = EDITOR
) -> Response:
    await items.remove(context(request), "rule", rule_id, version, me, address_of(request))
    return Response(status_code=204)


class TestRequest(BaseModel):
    query: str
    since: str | None = "30d"
    sources: list[str] = []


@router.post("/rules/test", response_model=RuleTest, summary="What a query would have caught")
async def test_query(request: Request, body: TestRequest, me: Identity = VIEWER) -> RuleTest:
    """Releases, stories and alerts per day over the archive, and samples with their
    hits and why they matched; stores and sends nothing."""
    return await run_test(request, body.query, body.since, body.sources)


async def run_test(request: Request, query: str, since: str | None, sources: list[str]) -> RuleTest:
    ctx = context(request)
    effective, _ = await items.live(ctx)
    known = {s.id for s in effective.config.sources}
    for index, source in enumerate(sources):
        if source not in known:
            raise Invalid(f"sources: unknown source {source!r}", field=f"sources.{index}")
    start = since_time(since or "30d")
    assert start is not None
    try:
        return await try_rule(ctx.engine, effective.config, query, since=start, sources=sources)
    except QuerySyntaxError as exc:
        raise Invalid(
            f"query: {exc.message} at column {exc.column}", field="query", column=exc.column
        ) from None


@router.post("/rules/{rule_id}/mute", response_model=RuleItem, summary="Mute a rule (editor)")
async def mute(
    request: Request,
    rule_id: str,
    body: Annotated[dict[str, Any], Body(examples=[{"for": "2h"}])],
    me: Identity = EDITOR,
) -> RuleItem:
    """``{"for": "2h"}`` or ``{"until": ISO time}``: the rule still matches and records;
    its alerts are recorded as ``muted`` and never sent."""
    unknown = set(body) - {"for", "until"}
    if unknown:
        raise Invalid(f"{sorted(unknown)[0]}: unknown key; use for or until", field="for")
    until = items.mute_until(_text(body.get("for")), _text(body.get("until")))
    return await items.mute(context(request), rule_id, until, me, address_of(request))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@router.delete("/rules/{rule_id}/mute", response_model=RuleItem, summary="Unmute (editor)")
async def unmute(request: Request, rule_id: str, me: Identity = EDITOR) -> RuleItem:
    return await items.unmute(context(request), rule_id, me, address_of(request))


# --- sources -----------------------------------------------------------------------------


@router.get("/sources", response_model=Items[SourceHealth], summary="Every source's health")
async def sources(request: Request, me: Identity = VIEWER) -> Items[SourceHealth]:
    return Items(items=await _health(request))


@router.get("/sources/{source_id}", response_model=SourceHealth, summary="One source's health")
async def source(request: Request, source_id: str, me: Identity = VIEWER) -> SourceHealth:
    found = await _health(request, source_id)
    if not found:
        raise NotFound(f"no source {source_id!r}")
    return found[0]


async def _health(request: Request, only: str | None = None) -> list[SourceHealth]:
    ctx = context(request)
    effective, _ = await items.live(ctx)
    found = await reads.source_health(ctx.engine, effective.config, only)
    return [s.model_copy(update={"origin": effective.origin("source", s.id)}) for s in found]


@router.post("/sources", response_model=Stored, status_code=201, summary="A new source (editor)")
async def create_source(request: Request, body: Item, me: Identity = EDITOR) -> Stored:
    body, _ = _version(body, None)
    return Stored.of(await items.create(context(request), "source", body, me, address_of(request)))


@router.put("/sources/{source_id}", response_model=Stored, summary="Change a source (editor)")
async def update_source(
    request: Request, source_id: str, body: Item, if_match: IfMatch = None, me: Identity = EDITOR
) -> Stored:
    body, version = _version(body, if_match)
    changed = await items.update(
        context(request), "source", source_id, body, version, me, address_of(request)
    )
    return Stored.of(changed)


@router.delete(
    "/sources/{source_id}",
    status_code=204,
    summary="Delete a source (editor); its releases stay in the archive",
)
async def delete_source(
    request: Request, source_id: str, version: int | None = None, me: Identity = EDITOR
) -> Response:
    await items.remove(context(request), "source", source_id, version, me, address_of(request))
    return Response(status_code=204)
