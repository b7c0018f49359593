"""``sources``, ``releases`` and ``db upgrade`` (the alerts: ``alerts_cmd``).

Tables show times in the config's time zone with their offset (``2019-03-13 18:00 +03``,
``monitor.times.local_time``); ``--json`` keeps ISO 8601 with the offset. URLs and error
texts go through ``monitor.redact`` first: a source URL's credentials are never shown.
Both read through the console's and the API's functions (``store.reads.source_health``,
``store.archive.every_release``), never a query of their own.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

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
from monitor.redact import redact_text
from monitor.store.session import open_store
from monitor.store.shapes import ReleaseCard, ReleaseItem
from monitor.store.sources import sync_sources
from monitor.store.tables import now
from monitor.times import local_time


async def _store(config: Config) -> AsyncEngine:
    engine = await open_store(config.database)
    await sync_sources(engine, config)
    return engine


class SourceRow(NamedTuple):
    """``store.shapes.SourceHealth``'s fields as a plain tuple (``origin`` aside, which
    ``source_health`` leaves at ``file``): what the command prints and drops needs no
    validation, and 10,000 models cost more than their table (a test holds the two to the
    same output)."""

    id: str
    name: str
    url: str | None
    type: str
    status: str
    last_error: str | None
    last_warning: str | None
    last_poll_at: datetime | None
    last_success_at: datetime | None
    next_poll_at: datetime | None
    releases: int
    new_24h: int
    items_seen: int
    items_skipped: int
    consecutive_failures: int
    moved_to: str | None
    language: str | None


def sources_command(config: Config, *, as_json: bool) -> None:
    from monitor.store.reads import source_health

    async def gather() -> list[SourceRow]:
        from monitor.config.items import merge
        from monitor.store.items import list_items

        engine = await open_store(config.database)  # synced below, once, with the console's
        try:
            # the console's sources too
            stored = await list_items(engine, "source")
            effective = merge(config, [(i.kind, i.body) for i in stored]).config
            await sync_sources(engine, effective)
            return await source_health(engine, effective, shown=_redacted, shape=SourceRow)
        finally:
            await engine.dispose()

    found = run_async(gather())
    moment = now()
    if as_json:
        emit_json(_source_json(source, moment) for source in found)
        return
    # the table reads the rows' own values: no JSON dump and parse of 10,000 rows
    zone = config.zone
    table(
        [
            [
                s.id,
                f"{s.status}, overdue" if overdue(s.next_poll_at, moment) else s.status,
                local_time(s.last_success_at, zone),
                local_time(s.next_poll_at, zone),
                str(s.releases),
                str(s.new_24h),
                s.last_error or s.last_warning or "",
            ]
            for s in found
        ],
        ["SOURCE", "STATUS", "LAST SUCCESS", "NEXT POLL", "RELEASES", "NEW 24H", "PROBLEM"],
    )


def _source_json(source: SourceRow, moment: datetime) -> dict[str, object]:
    """``SourceHealth.model_dump(mode="json")`` without ``language`` and ``origin``, in
    SPEC section 1's order: ``overdue`` follows ``next_poll_at``."""
    return {
        "id": source.id,
        "name": source.name,
        "url": source.url,
        "type": source.type,
        "status": source.status,
        "last_error": source.last_error,
        "last_warning": source.last_warning,
        "last_poll_at": source.last_poll_at and source.last_poll_at.isoformat(),
        "last_success_at": source.last_success_at and source.last_success_at.isoformat(),
        "next_poll_at": source.next_poll_at and source.next_poll_at.isoformat(),
        "overdue": overdue(source.next_poll_at, moment),
        "releases": source.releases,
        "new_24h": source.new_24h,
        "items_seen": source.items_seen,
        "items_skipped": source.items_skipped,
        "consecutive_failures": source.consecutive_failures,
        "moved_to": source.moved_to,
    }


def _redacted(text: str | None) -> str | None:
    return redact_text(text) if text else text


def release_json(release: ReleaseItem) -> dict[str, object]:
    return {
        "id": release.id,
        "source": release.source,
        "title": release.title,
        "url": release.url,
        "published_at": iso(release.published_at),
        "first_seen_at": iso(release.first_seen_at),
        "story": release.story,
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
    from monitor.errors import QuerySyntaxError
    from monitor.store.archive import ReleaseFilter, every_release

    start = since_time(since) if since else None
    if source is not None and source not in {s.id for s in config.sources}:
        fail(f"unknown source {source!r}", EXIT_USAGE)
    # every release, copies too: the console's listing without its grouping into stories
    filters = ReleaseFilter(q=query or None, source=source, since=start, stories=False)

    async def gather() -> list[ReleaseCard]:
        engine = await _store(config)
        try:
            return await every_release(engine, config, filters, limit=limit, shown=_redacted)
        finally:
            await engine.dispose()

    try:
        rows = run_async(gather())
    except QuerySyntaxError as exc:
        fail(f"--query: {exc.message} at column {exc.column}", EXIT_USAGE)
    if as_json:
        emit_json(release_json(r) for r in rows)
        return
    table(
        [
            [
                str(r.id),
                r.source,
                local_time(r.published_at, config.zone),
                str(r.story or "-"),
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
