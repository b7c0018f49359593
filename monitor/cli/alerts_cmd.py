"""``alerts`` (the delivery log), ``alerts show ID`` and ``alerts retry ID``.

The table: time (created, in the config's zone), id (its first 8 characters: any unique
prefix of 6 or more will do wherever an id is asked for), rule, channel, title, status,
attempts, next attempt, last error. ``--json`` has SPEC section 1's fields (``id, rule,
channel, release, status, attempts, last_error``) and the rest, times in ISO 8601.
The queries are the console's and the API's (``store.reads.alert_page`` and
``alert_detail``), read a page at a time; URLs are shown with ``***`` for credentials.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.cli.common import EXIT_USAGE, emit_json, fail, iso, run_async, table
from monitor.cli.common import since as since_time
from monitor.config.model import Config
from monitor.redact import redact_text
from monitor.store import queries, reads
from monitor.store.keyset import MAX_PAGE
from monitor.store.session import open_store
from monitor.store.shapes import AlertDetail, AlertItem
from monitor.times import local_time

T = TypeVar("T")
ALERT_STATUSES = reads.ALERT_STATUSES
_SHORT_ID = 8
_SNIPPETS = 3  # SPEC section 4: at most 3 snippets per rule wherever they are shown
_TITLE_WIDTH = 60
_ERROR_WIDTH = 60


def alerts_command(
    config: Config,
    *,
    status: str | None,
    rule: str | None,
    channel: str | None,
    since: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    if status is not None and status not in ALERT_STATUSES:
        fail(f"unknown status {status!r}: use {', '.join(ALERT_STATUSES)}", EXIT_USAGE)
    start = since_time(since) if since else None

    async def gather(engine: AsyncEngine) -> list[AlertItem]:
        found: list[AlertItem] = []
        cursor: str | None = None
        while limit is None or len(found) < limit:
            page = await reads.alert_page(
                engine,
                status=status,
                rule=rule,
                channel=channel,
                since=start,
                cursor=cursor,
                limit=MAX_PAGE if limit is None else min(MAX_PAGE, limit - len(found)),
                shown=_shown,
            )
            found.extend(page.items)
            if page.next is None:
                break
            cursor = page.next
        return found

    found = _with_store(config, gather)
    if as_json:
        emit_json(_summary_json(s) for s in found)
        return
    zone = config.zone
    table(
        [
            [
                local_time(s.created_at, zone),
                s.id[:_SHORT_ID],
                s.rule,
                s.channel,
                _cut(s.title, _TITLE_WIDTH),
                s.status,
                str(s.attempts),
                local_time(s.next_attempt_at, zone),
                _cut(redact_text(s.last_error or ""), _ERROR_WIDTH),
            ]
            for s in found
        ],
        ["TIME", "ID", "RULE", "CHANNEL", "TITLE", "STATUS", "TRIES", "NEXT", "LAST ERROR"],
    )


def show_command(config: Config, given: str, *, as_json: bool) -> None:
    async def gather(engine: AsyncEngine) -> AlertDetail:
        alert_id = await _resolve(engine, given)
        found = await reads.alert_detail(engine, config, alert_id, shown=_shown)
        if found is None:  # removed between the two reads
            fail(f"no alert {alert_id!r}", EXIT_USAGE)
        return found

    detail = _with_store(config, gather)
    if as_json:
        emit_json([_detail_json(detail)])
        return
    zone = config.zone
    rule = next((r for r in config.rules if r.id == detail.rule), None)
    source = next((s for s in config.sources if s.id == detail.source), None)
    rows = [
        ("alert", detail.id),
        ("status", detail.status),
        ("rule", _named(detail.rule, rule.display_name if rule else None)),
        ("channel", detail.channel),
        ("title", _one_line(detail.title)),
        ("url", detail.url or "-"),
        ("source", _named(detail.source, source.display_name if source else None)),
        ("published", local_time(detail.published_at, zone)),
        ("created", local_time(detail.created_at, zone)),
        ("attempts", str(detail.attempts)),
        ("next attempt", local_time(detail.next_attempt_at, zone)),
        ("sent", local_time(detail.sent_at, zone)),
        ("last error", redact_text(detail.last_error or "-")),
        ("release", str(detail.release)),
        ("story", str(detail.story)),
    ]
    if detail.digest:
        rows.append(("digest", detail.digest))
    for copy in detail.copies:
        rows.append(("copy", f"{copy.source} {copy.url}"))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        typer.echo(f"{name + ':':{width + 1}} {value}")
    typer.echo(f"matches: {detail.hit_total}")
    for hit in detail.hits[:_SNIPPETS]:
        typer.echo(f"  {hit.field}: {_one_line(hit.term)} — {_one_line(hit.snippet)}")
    if detail.hit_total > _SNIPPETS:
        typer.echo(f"  + {detail.hit_total - _SNIPPETS} more")


def retry_command(config: Config, given: str) -> None:
    async def act(engine: AsyncEngine) -> tuple[str, str | None]:
        alert_id = await _resolve(engine, given)
        return alert_id, await queries.retry_alert(engine, alert_id)

    alert_id, previous = _with_store(config, act)
    if previous not in ("failed", "dead"):
        fail(f"alert {alert_id} is {previous}; only failed or dead alerts can be retried")
    typer.echo(f"alert {alert_id}: due now (was {previous})")


def _with_store(config: Config, work: Callable[[AsyncEngine], Coroutine[Any, Any, T]]) -> T:
    async def run() -> T:
        engine = await open_store(config.database)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return run_async(run())


async def _resolve(engine: AsyncEngine, given: str) -> str:
    try:
        return await queries.resolve_alert_id(engine, given)
    except queries.IdLookupError as exc:
        fail(exc.message, EXIT_USAGE)


def _shown(url: str | None) -> str | None:
    return redact_text(url) if url else None


def _summary_json(a: AlertItem) -> dict[str, object]:
    return {
        "id": a.id,
        "rule": a.rule,
        "channel": a.channel,
        "release": a.release,
        "story": a.story,
        "status": a.status,
        "attempts": a.attempts,
        "last_error": redact_text(a.last_error) if a.last_error else None,
        "title": a.title,
        "source": a.source,
        "url": a.url,
        "created_at": iso(a.created_at),
        "next_attempt_at": iso(a.next_attempt_at),
        "sent_at": iso(a.sent_at),
        "digest": a.digest,
    }


def _detail_json(detail: AlertDetail) -> dict[str, object]:
    out = _summary_json(detail)
    out["published_at"] = iso(detail.published_at)
    out["matches"] = [h.model_dump() for h in detail.hits[:_SNIPPETS]]
    out["matches_total"] = detail.hit_total
    out["copies"] = [{"source": c.source, "url": c.url} for c in detail.copies]
    return out


def _named(ident: str, name: str | None) -> str:
    return f"{ident} ({name})" if name and name != ident else ident


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _cut(text: str, width: int) -> str:
    text = _one_line(text)
    return text if len(text) <= width else text[: width - 1] + "…"
