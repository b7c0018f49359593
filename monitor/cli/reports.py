"""``sources``, ``releases`` and ``db upgrade`` (the alerts: ``alerts_cmd``).

Tables show times in the config's time zone with their offset (``2019-03-13 18:00 +03``,
``monitor.times.local_time``); ``--json`` keeps ISO 8601 with the offset. URLs and error
texts go through ``monitor.redact`` first: a source URL's credentials are never shown.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

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
from monitor.redact import redact_text, redact_url
from monitor.store import queries
from monitor.store.session import open_store
from monitor.store.sources import list_sources, sync_sources
from monitor.store.tables import ReleaseRow, now
from monitor.times import local_time


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
                    "url": redact_url(source.url),
                    "type": source.type,
                    "status": row.status,
                    "last_error": _redacted(row.last_error),
                    "last_warning": _redacted(row.last_warning),
                    "last_poll_at": iso(row.last_poll_at),
                    "last_success_at": iso(row.last_success_at),
                    "next_poll_at": iso(row.next_poll_at),
                    "overdue": overdue(row.next_poll_at, moment),
                    "releases": totals.get(source.id, 0),
                    "new_24h": recent.get(source.id, 0),
                    "items_seen": row.items_seen,
                    "items_skipped": row.items_skipped,
                    "consecutive_failures": row.consecutive_failures,
                    "moved_to": _redacted(row.moved_to),
                }
            )
        return out

    result = run_async(gather())
    if as_json:
        emit_json(result)
        return
    zone = config.zone
    table(
        [
            [
                str(s["id"]),
                f"{s['status']}, overdue" if s["overdue"] else str(s["status"]),
                _local(s["last_success_at"], zone),
                _local(s["next_poll_at"], zone),
                str(s["releases"]),
                str(s["new_24h"]),
                str(s["last_error"] or s["last_warning"] or ""),
            ]
            for s in result
        ],
        ["SOURCE", "STATUS", "LAST SUCCESS", "NEXT POLL", "RELEASES", "NEW 24H", "PROBLEM"],
    )


def _local(value: object, zone: ZoneInfo) -> str:
    """An ISO time of the JSON above, as people read it (``monitor.times.local_time``)."""
    return local_time(datetime.fromisoformat(value) if isinstance(value, str) else None, zone)


def _redacted(text: str | None) -> str | None:
    return redact_text(text) if text else text


def release_json(release: ReleaseRow) -> dict[str, object]:
    return {
        "id": release.id,
        "source": release.source_id,
        "title": release.title,
        "url": _redacted(release.url),
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
                local_time(r.published_at, config.zone),
                str(r.story_id or "-"),
                r.title[:80],
            ]
            for r in rows
        ],
        ["ID", "SOURCE", "PUBLISHED", "STORY", "TITLE"],
    )


def upgrade_command(config: Config) -> None:
    from monitor.store.migrate import HEAD

    async def act() -> None:
        engine = await open_store(config.database)
        await engine.dispose()

    run_async(act())
    typer.echo(f"database at schema {HEAD}")
