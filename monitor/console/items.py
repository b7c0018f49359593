"""Rules and sources written in the console or the API, and mutes: shared by the pages
and the API, each change checked, stored with its version and audited (``store.items``).

What is in force is read from the database at each request (``live``): this instance's
console shows a save at once, whatever the daemons' watch has seen yet. A file item is
refused with 409 and the reason; an item the config checks refuse is a 422 naming the
field (and the column of a query error); a stale version is a 409.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from monitor.config.items import Effective, Kind, check_item, merge
from monitor.console.auth import Conflict, ConsoleError, Invalid, NotFound
from monitor.console.context import ConsoleContext
from monitor.store import items
from monitor.store.people import Identity
from monitor.store.shapes import RuleItem
from monitor.store.sources import sync_sources
from monitor.store.tables import now


async def live(ctx: ConsoleContext) -> tuple[Effective, dict[str, items.ConsoleItem]]:
    """The effective config now, and the console's stored rules and sources by kind:id."""
    stored = await items.list_items(ctx.engine)
    effective = merge(ctx.file, [(i.kind, i.body) for i in stored])
    return effective, {f"{i.kind}:{i.id}": i for i in stored}


def _refused(error: items.ItemError) -> ConsoleError:
    kind: type[ConsoleError] = Conflict if isinstance(error, items.ItemConflict) else NotFound
    return kind(error.message)


def _provisioned(kind: Kind, ident: str) -> Conflict:
    return Conflict(
        f"{kind} {ident!r} is provisioned in the config file (origin: file) and read-only "
        "here: change it in the file"
    )


def _check(kind: Kind, body: Any, effective: Effective, ident: str | None) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Invalid(f"a {kind} is a JSON object of the config file's keys")
    if ident is not None:
        body = {**body, "id": body.get("id", ident)}
        if body["id"] != ident:
            raise Invalid("id: an item keeps its id; create a new one instead", field="id")
    config = effective.config
    if ident is not None:  # checked as it would stand: without its current self
        key = "rules" if kind == "rule" else "sources"
        others = tuple(i for i in getattr(config, key) if i.id != ident)
        config = config.model_copy(update={key: others})
    problems = check_item(kind, body, config)
    if problems:
        first = problems[0]
        raise Invalid("; ".join(str(p) for p in problems), field=first.field, column=first.column)
    checked: dict[str, Any] = body
    return checked


async def create(
    ctx: ConsoleContext, kind: Kind, body: Any, who: Identity, address: str
) -> items.ConsoleItem:
    effective, _ = await live(ctx)
    ident = body.get("id") if isinstance(body, dict) else None
    if isinstance(ident, str) and effective.origin(kind, ident) == "file":
        raise _provisioned(kind, ident)
    checked = _check(kind, body, effective, None)
    try:
        made = await items.create_item(ctx.engine, kind, checked, actor=who.name, address=address)
    except items.ItemError as exc:
        raise _refused(exc) from None
    await _schedule(ctx, kind)
    return made


async def _schedule(ctx: ConsoleContext, kind: Kind) -> None:
    """A new or moved source gets its polling row now (due at once, as at start-up), so
    its health shows before an instance's watch has seen it."""
    if kind == "source":
        effective, _ = await live(ctx)
        await sync_sources(ctx.engine, effective.config)


async def update(
    ctx: ConsoleContext,
    kind: Kind,
    ident: str,
    body: Any,
    version: int | None,
    who: Identity,
    address: str,
) -> items.ConsoleItem:
    effective, stored = await live(ctx)
    if effective.origin(kind, ident) == "file":
        raise _provisioned(kind, ident)
    current = stored.get(f"{kind}:{ident}")
    if current is None:
        raise NotFound(f"no console {kind} {ident!r}")
    if version is None:
        raise Invalid(
            "version: send the version you read, so that no one's change is lost",
            field="version",
        )
    checked = _check(kind, body, effective, ident)
    try:
        changed = await items.update_item(
            ctx.engine, kind, ident, checked, version=version, actor=who.name, address=address
        )
    except items.ItemError as exc:
        raise _refused(exc) from None
    await _schedule(ctx, kind)
    return changed


async def remove(
    ctx: ConsoleContext, kind: Kind, ident: str, version: int | None, who: Identity, address: str
) -> items.ConsoleItem:
    effective, stored = await live(ctx)
    if effective.origin(kind, ident) == "file":
        raise _provisioned(kind, ident)
    if kind == "source":
        users = [r.id for r in effective.config.rules if ident in r.sources]
        if users:
            raise Conflict(f"source {ident!r} is named by rules {', '.join(users)}: change them")
    if f"{kind}:{ident}" not in stored:
        raise NotFound(f"no console {kind} {ident!r}")
    try:
        return await items.delete_item(
            ctx.engine, kind, ident, actor=who.name, version=version, address=address
        )
    except items.ItemError as exc:
        raise _refused(exc) from None


# --- rules as shown ----------------------------------------------------------------------


async def rule_items(ctx: ConsoleContext) -> list[RuleItem]:
    """Every rule in force with its origin and mute, then console rules not in force
    (shadowed by the file, or no longer valid) so that the clash is visible."""
    effective, stored = await live(ctx)
    muted = await items.muted_rules(ctx.engine)
    shown = [
        _rule_item(body, effective.origin("rule", body["id"]) or "console", muted, stored)
        for body in (r.model_dump(exclude_defaults=False) for r in effective.config.rules)
    ]
    for _, item in sorted(stored.items()):
        if item.kind != "rule" or item.id in effective.console.get("rule", frozenset()):
            continue
        note = (
            "not in force: the config file has a rule with this id (the file wins)"
            if item.id in effective.shadowed.get("rule", frozenset())
            else "not in force: " + effective.invalid.get("rule", {}).get(item.id, "invalid")
        )
        shown.append(_rule_item(item.body, "console", muted, stored, note=note))
    return shown


def _rule_item(
    body: dict[str, Any],
    origin: str,
    muted: dict[str, datetime],
    stored: dict[str, items.ConsoleItem],
    note: str | None = None,
) -> RuleItem:
    item = stored.get(f"rule:{body.get('id')}")
    return RuleItem(
        id=str(body.get("id")),
        name=str(body.get("name") or body.get("id")),
        query=str(body.get("query", "")),
        channels=list(body.get("channels") or ()),
        sources=list(body.get("sources") or ()),
        languages=list(body.get("languages") or ()),
        origin="file" if origin == "file" else "console",
        muted_until=muted.get(str(body.get("id"))),
        version=item.version if item is not None and origin == "console" else None,
        notice=note,
    )


async def rule_item(ctx: ConsoleContext, ident: str) -> RuleItem:
    for item in await rule_items(ctx):
        if item.id == ident:
            return item
    raise NotFound(f"no rule {ident!r}")


# --- mutes -------------------------------------------------------------------------------


def mute_until(for_: str | None, until: str | None) -> datetime:
    """The end of a mute from ``{"for": "2h"}`` or ``{"until": ISO time}``."""
    from monitor.config.durations import parse_duration

    if bool(for_) == bool(until):
        raise Invalid('give either "for" (a duration such as 2h) or "until" (an ISO time)')
    if for_:
        try:
            return now() + parse_duration(for_)
        except ValueError:
            raise Invalid("for: use a duration such as 1h or 1d", field="for") from None
    assert until is not None
    try:
        moment = datetime.fromisoformat(until)
    except ValueError:
        raise Invalid("until: use an ISO 8601 time", field="until") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment <= now():
        raise Invalid("until: that time has passed", field="until")
    return moment


async def mute(
    ctx: ConsoleContext, ident: str, until: datetime, who: Identity, address: str
) -> RuleItem:
    await rule_item(ctx, ident)  # 404 for a rule that is nowhere
    await items.mute_rule(ctx.engine, ident, until, actor=who.name, address=address)
    return await rule_item(ctx, ident)


async def unmute(ctx: ConsoleContext, ident: str, who: Identity, address: str) -> RuleItem:
    await rule_item(ctx, ident)
    await items.unmute_rule(ctx.engine, ident, actor=who.name, address=address)
    return await rule_item(ctx, ident)
