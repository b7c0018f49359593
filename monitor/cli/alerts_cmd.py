"""``alerts`` (the delivery log), ``alerts show ID`` and ``alerts retry ID``.

The table: time (created, in the config's zone), id (its first 8 characters: any unique
prefix of 6 or more will do wherever an id is asked for), rule, channel, title, status,
attempts, next attempt, last error. ``--json`` has SPEC section 1's fields (``id, rule,
channel, release, status, attempts, last_error``) and the rest, times in ISO 8601.
The queries are ``store.queries``' (the console will use the same).
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
from monitor.store import queries
from monitor.store.session import open_store
from monitor.times import local_time

T = TypeVar("T")
ALERT_STATUSES = ("pending", "sent", "failed", "dead")
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

    async def gather(engine: AsyncEngine) -> list[queries.AlertSummary]:
        return await queries.find_alerts(
            engine, status=status, rule=rule, channel=channel, since=start, limit=limit
        )

    found = _with_store(config, gather)
    if as_json:
        emit_json(_summary_json(s) for s in found)
        return
    zone = config.zone
    table(
        [
            [
                local_time(s.alert.created_at, zone),
                s.alert.id[:_SHORT_ID],
                s.alert.rule_id,
                s.alert.channel_id,
                _cut(s.title, _TITLE_WIDTH),
                s.alert.status,
                str(s.alert.attempts),
                local_time(s.alert.next_attempt_at, zone),
                _cut(redact_text(s.alert.last_error or ""), _ERROR_WIDTH),
            ]
            for s in found
        ],
        ["TIME", "ID", "RULE", "CHANNEL", "TITLE", "STATUS", "TRIES", "NEXT", "LAST ERROR"],
    )


def show_command(config: Config, given: str, *, as_json: bool) -> None:
    async def gather(engine: AsyncEngine) -> queries.AlertDetail:
        return await queries.alert_detail(engine, await _resolve(engine, given))

    detail = _with_store(config, gather)
    if as_json:
        emit_json([_detail_json(detail)])
        return
    alert, release, zone = detail.alert, detail.release, config.zone
    rule = next((r for r in config.rules if r.id == alert.rule_id), None)
    source = next((s for s in config.sources if s.id == release.source_id), None)
    rows = [
        ("alert", alert.id),
        ("status", alert.status),
        ("rule", _named(alert.rule_id, rule.display_name if rule else None)),
        ("channel", alert.channel_id),
        ("title", _one_line(release.title)),
        ("url", redact_text(release.url or "-")),
        ("source", _named(release.source_id, source.display_name if source else None)),
        ("published", local_time(release.published_at, zone)),
        ("created", local_time(alert.created_at, zone)),
        ("attempts", str(alert.attempts)),
        ("next attempt", local_time(alert.next_attempt_at, zone)),
        ("sent", local_time(alert.sent_at, zone)),
        ("last error", redact_text(alert.last_error or "-")),
        ("release", str(release.id)),
        ("story", str(alert.story_id)),
    ]
    if alert.digest_id:
        rows.append(("digest", alert.digest_id))
    for source_id, url in detail.copies:
        rows.append(("copy", f"{source_id} {redact_text(url)}"))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        typer.echo(f"{name + ':':{width + 1}} {value}")
    typer.echo(f"matches: {len(detail.hits)}")
    for hit in detail.hits[:_SNIPPETS]:
        typer.echo(f"  {hit.field}: {_one_line(hit.term)} — {_one_line(hit.snippet)}")
    if len(detail.hits) > _SNIPPETS:
        typer.echo(f"  + {len(detail.hits) - _SNIPPETS} more")


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


def _summary_json(summary: queries.AlertSummary) -> dict[str, object]:
    a = summary.alert
    return {
        "id": a.id,
        "rule": a.rule_id,
        "channel": a.channel_id,
        "release": a.release_id,
        "story": a.story_id,
        "status": a.status,
        "attempts": a.attempts,
        "last_error": redact_text(a.last_error) if a.last_error else None,
        "title": summary.title,
        "source": summary.source,
        "url": redact_text(summary.url) if summary.url else None,
        "created_at": iso(a.created_at),
        "next_attempt_at": iso(a.next_attempt_at),
        "sent_at": iso(a.sent_at),
        "digest": a.digest_id,
    }


def _detail_json(detail: queries.AlertDetail) -> dict[str, object]:
    out = _summary_json(
        queries.AlertSummary(
            detail.alert, detail.release.title, detail.release.source_id, detail.release.url
        )
    )
    out["published_at"] = iso(detail.release.published_at)
    out["matches"] = [
        {"field": h.field, "term": h.term, "start": h.start, "end": h.end, "snippet": h.snippet}
        for h in detail.hits[:_SNIPPETS]
    ]
    out["matches_total"] = len(detail.hits)
    out["copies"] = [{"source": s, "url": redact_text(u)} for s, u in detail.copies]
    return out


def _named(ident: str, name: str | None) -> str:
    return f"{ident} ({name})" if name and name != ident else ident


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _cut(text: str, width: int) -> str:
    text = _one_line(text)
    return text if len(text) <= width else text[: width - 1] + "…"
