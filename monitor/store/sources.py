"""Source rows: created from the config, and the polling state the CLI shows."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.model import Config
from monitor.redact import redact_url
from monitor.store.session import insert, writing
from monitor.store.tables import SOURCES, SourceRow, now


def startup_jitter(interval: timedelta) -> timedelta:
    """At most 10 % of the interval and at most 30 s (SPEC: a new source is due at start-up)."""
    return timedelta(seconds=random.uniform(0, min(interval.total_seconds() * 0.1, 30.0)))


async def sync_sources(engine: AsyncEngine, config: Config) -> None:
    """Create rows for configured sources that have none; keep existing rows' state. The
    row keeps the URL without its credentials (the fetcher reads the config's)."""
    if not config.sources:
        return
    moment = now()
    async with writing(engine) as connection:
        stored = {
            row.id: (row.url, row.kind)
            for row in (
                await connection.execute(select(SOURCES.c.id, SOURCES.c.url, SOURCES.c.kind))
            ).all()
        }
        # only the new ones: every command syncs, and 10,000 rows of an insert that does
        # nothing cost `monitor sources` a fifth of a second
        values = [
            {
                "id": s.id,
                "url": redact_url(s.url),
                "kind": s.type,
                "created_at": moment,
                "status": "never",
                "next_poll_at": moment + startup_jitter(config.interval_of(s)),
            }
            for s in config.sources
            if s.id not in stored
        ]
        if values:  # another instance may have made some meanwhile: theirs are kept
            statement = insert(engine, SOURCES).on_conflict_do_nothing(index_elements=["id"])
            await connection.execute(statement, values)
        for source in config.sources:
            place = (redact_url(source.url), source.type)
            if stored.get(source.id, place) != place:
                # a changed URL or type is a new place to read: forget validators and hash
                await connection.execute(
                    update(SOURCES)
                    .where(SOURCES.c.id == source.id)
                    .values(
                        url=place[0],
                        kind=source.type,
                        etag=None,
                        last_modified=None,
                        body_sha256=None,
                    )
                )


async def source_ids(engine: AsyncEngine) -> set[str]:
    """Every source that has a row, configured or not (rows outlive their config)."""
    async with engine.connect() as connection:
        return set((await connection.execute(select(SOURCES.c.id))).scalars())


async def list_sources(engine: AsyncEngine) -> dict[str, SourceRow]:
    async with engine.connect() as connection:
        rows = (await connection.execute(select(SOURCES))).all()
    return {row.id: SourceRow.model_validate(row._mapping) for row in rows}
