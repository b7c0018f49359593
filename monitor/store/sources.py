"""Source rows: created from the config, and the polling state the CLI shows."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.config.model import Config, Source
from monitor.redact import redact_url
from monitor.store.session import insert, reading, writing
from monitor.store.tables import SOURCES, SourceRow, now


def startup_jitter(interval: timedelta) -> timedelta:
    """At most 10 % of the interval and at most 30 s (SPEC: a new source is due at start-up)."""
    return timedelta(seconds=random.uniform(0, min(interval.total_seconds() * 0.1, 30.0)))


async def sync_sources(engine: AsyncEngine, config: Config) -> None:
    """Create rows for configured sources that have none; keep existing rows' state. The
    row keeps the URL without its credentials (the fetcher reads the config's).

    Every command syncs, and the rows almost always match already: one read decides, and
    only a difference opens the write transaction (on SQLite, the process's writer lock and
    the file's write lock, which ``monitor sources`` beside a polling daemon would queue for;
    0.035-0.045 s of the command at 10,000 sources)."""
    if not config.sources:
        return
    async with reading(engine) as connection:
        if not _differences(config, await _stored(connection)):
            return
    async with writing(engine) as connection:
        # again, in the transaction that writes: another instance may have synced since
        found = _differences(config, await _stored(connection))
        if found is None:
            return
        new, moved = found
        moment = now()
        if new:  # another instance may have made some meanwhile: theirs are kept
            statement = insert(engine, SOURCES).on_conflict_do_nothing(index_elements=["id"])
            await connection.execute(
                statement,
                [
                    {
                        "id": s.id,
                        "url": redact_url(s.url),
                        "kind": s.type,
                        "created_at": moment,
                        "status": "never",
                        "next_poll_at": moment + startup_jitter(config.interval_of(s)),
                    }
                    for s in new
                ],
            )
        for source in moved:
            # a changed URL or type is a new place to read: forget validators and hash
            await connection.execute(
                update(SOURCES)
                .where(SOURCES.c.id == source.id)
                .values(
                    url=redact_url(source.url),
                    kind=source.type,
                    etag=None,
                    last_modified=None,
                    body_sha256=None,
                )
            )


async def _stored(connection: AsyncConnection) -> dict[str, tuple[str, str]]:
    """Each stored source's URL and kind, by id."""
    rows = await connection.execute(select(SOURCES.c.id, SOURCES.c.url, SOURCES.c.kind))
    return {id_: (url, kind) for id_, url, kind in rows.all()}


def _differences(
    config: Config, stored: dict[str, tuple[str, str]]
) -> tuple[list[Source], list[Source]] | None:
    """The configured sources without a row, and those whose row has another URL or type;
    None when there are neither."""
    new: list[Source] = []
    moved: list[Source] = []
    for source in config.sources:
        place = stored.get(source.id)
        if place is None:
            new.append(source)
        elif place != (redact_url(source.url), source.type):
            moved.append(source)
    return (new, moved) if new or moved else None


async def source_ids(engine: AsyncEngine) -> set[str]:
    """Every source that has a row, configured or not (rows outlive their config)."""
    async with engine.connect() as connection:
        return set((await connection.execute(select(SOURCES.c.id))).scalars())


async def list_sources(engine: AsyncEngine) -> dict[str, SourceRow]:
    async with engine.connect() as connection:
        rows = (await connection.execute(select(SOURCES))).all()
    return {row.id: SourceRow.model_validate(row._mapping) for row in rows}
