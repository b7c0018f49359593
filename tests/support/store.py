"""A store with sources in it, and releases to save there, for the store's tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.model import ReleaseData
from monitor.parse.identity import content_hash
from monitor.store.session import open_store
from monitor.store.tables import SOURCES


async def store_with_sources(url: str, source_ids: Sequence[str], at: datetime) -> AsyncEngine:
    """A migrated store at ``url`` holding a feed source row for each of ``source_ids``."""
    engine = await open_store(url)
    async with engine.begin() as connection:
        await connection.execute(
            sa.insert(SOURCES),
            [
                {"id": s, "url": f"https://{s}.example/rss", "kind": "feed", "created_at": at}
                for s in source_ids
            ],
        )
    return engine


def release(
    identity: str,
    content: str,
    title: str = "t",
    *,
    published: datetime | None = None,
    language: str | None = "ar",
) -> ReleaseData:
    """A release as the parse step gives it, its content hash computed."""
    return ReleaseData(
        identity=identity,
        title=title,
        summary="",
        content=content,
        summary_raw="",
        content_raw=content,
        url=f"https://ministry.example/{identity}",
        published=published,
        published_raw=None,
        language=language,
        content_hash=content_hash(title, "", content),
        author=None,
    )
