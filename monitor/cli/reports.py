"""``sources``, ``releases``, ``alerts``, ``alerts retry`` and ``db upgrade``."""

from __future__ import annotations

from datetime import timedelta

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.cli.common import (
    EXIT_USAGE,
    emit_json,
    fail,
    iso,
    run_async,
    table,
)
from monitor.cli.common import (
    since as since_time,
)
from monitor.config.model import Config
from monitor.ops.health import overdue
from monitor.store import queries
from monitor.store.session import open_store
from monitor.store.sources import list_sources, sync_sources
from monitor.store.tables import ReleaseRow, now

ALERT_STATUSES = ("pending", "sent", "failed", "dead")


async def _store(config: Config) -> AsyncEngine:
    engine = await open_store(config.database)
    await sync_sources(engine, config)
    return engine


def sources_command(config: Config, *, as_json: bool) -> None:
    async def gather() -> list[dict[str, object]]:
        engine = await _store(config)
        try:
            rows = await list_sources(engine)
            totals = await queries.release_counts(engine)
            recent = await queries.release_counts(engine, now() - timedelta(days=1))
        finally:
            await engine.dispose()
        out: list[dict[str, object]] = []
        moment = now()
        for source in config.sources:
            row = rows[source.id]
            out.append(
                {
                    "id": source.id,
                    "name": source.display_name,
                    "url": source.url,
                    "type": source.type,
                    "status": row.status,
                    "last_error": row.last_error,
                    "last_warning": row.last_warning,
                    "last_poll_at": iso(row.last_poll_at),
                    "last_success_at": iso(row.last_success_at),
                    "next_poll_at": iso(row.next_poll_at),
                    "overdue": overdue(row.next_poll_at, moment),
                    "releases": totals.get(source.id, 0),
                    "new_24h": recent.get(source.id, 0),
                    "items_seen": row.items_seen,
                    "items_skipped": row.items_skipped,
                    "consecutive_failures": row.consecutive_failures,
                    "moved_to": row.moved_to,
                }
            )
        return out

    result = run_async(gather())
    if as_json:
        emit_json(result)
        return
    table(
        [
            [
                str(s["id"]),
                f"{s['status']}, overdue" if s["overdue"] else str(s["status"]),
                _short(s["last_success_at"]),
                _short(s["next_poll_at"]),
                str(s["releases"]),
                str(s["new_24h"]),
                str(s["last_error"] or s["last_warning"] or ""),
            ]
            for s in result
        ],
        ["SOURCE", "STATUS", "LAST SUCCESS", "NEXT POLL", "RELEASES", "NEW 24H", "PROBLEM"],
    )


def _short(value: object) -> str:
    return str(value)[:19].replace("T", " ") if value else "-"


def release_json(release: ReleaseRow) -> dict[str, object]:
    return {
        "id": release.id,
        "source": release.source_id,
        "title": release.title,
        "url": release.url,
        "published_at": iso(release.published_at),
        "first_seen_at": iso(release.first_seen_at),
        "story": release.story_id,
        "language": release.language,
    }


def releases_command(
    config: Config,
    *,
    since: str | None,
    query: str | None,
    source: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    from monitor.search import search_releases

    start = since_time(since) if since else None
    if source is not None and source not in {s.id for s in config.sources}:
        fail(f"unknown source {source!r}", EXIT_USAGE)

    async def gather() -> list[ReleaseRow]:
        engine = await _store(config)
        try:
            if query:
                return await search_releases(
                    engine, config, query, since=start, source=source, limit=limit
                )
            return await queries.list_releases(engine, since=start, source=source, limit=limit)
        finally:
            await engine.dispose()

    rows = run_async(gather())
    if as_json:
        emit_json(release_json(r) for r in rows)
        return
    table(
        [
            [
                str(r.id),
                r.source_id,
                _short(iso(r.published_at)),
                str(r.story_id or "-"),
                r.title[:80],
            ]
            for r in rows
        ],
        ["ID", "SOURCE", "PUBLISHED", "STORY", "TITLE"],
    )


def alerts_command(config: Config, *, status: str | None, as_json: bool) -> None:
    if status is not None and status not in ALERT_STATUSES:
        fail(f"unknown status {status!r}: use {', '.join(ALERT_STATUSES)}", EXIT_USAGE)

    async def gather() -> list[dict[str, object]]:
        engine = await open_store(config.database)
        try:
            rows = await queries.list_alerts(engine, status)
        finally:
            await engine.dispose()
        return [
            {
                "id": a.id,
                "rule": a.rule_id,
                "channel": a.channel_id,
                "release": a.release_id,
                "story": a.story_id,
                "status": a.status,
                "attempts": a.attempts,
                "last_error": a.last_error,
                "created_at": iso(a.created_at),
                "next_attempt_at": iso(a.next_attempt_at),
                "sent_at": iso(a.sent_at),
            }
            for a in rows
        ]

    result = run_async(gather())
    if as_json:
        emit_json(result)
        return
    table(
        [
            [
                str(a["id"]),
                str(a["rule"]),
                str(a["channel"]),
                str(a["release"]),
                str(a["status"]),
                str(a["attempts"]),
                str(a["last_error"] or ""),
            ]
            for a in result
        ],
        ["ID", "RULE", "CHANNEL", "RELEASE", "STATUS", "ATTEMPTS", "LAST ERROR"],
    )


def retry_command(config: Config, alert_id: str) -> None:
    async def act() -> str | None:
        engine = await open_store(config.database)
        try:
            return await queries.retry_alert(engine, alert_id)
        finally:
            await engine.dispose()

    previous = run_async(act())
    if previous is None:
        fail(f"no alert {alert_id!r}")
    if previous not in ("failed", "dead"):
        fail(f"alert {alert_id} is {previous}; only failed or dead alerts can be retried")
    typer.echo(f"alert {alert_id}: due now (was {previous})")


def upgrade_command(config: Config) -> None:
    from monitor.store.migrate import HEAD

    async def act() -> None:
        engine = await open_store(config.database)
        await engine.dispose()

    run_async(act())
    typer.echo(f"database at schema {HEAD}")
