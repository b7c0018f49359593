"""Story assignment: a release joins the story of a recent near-copy from another source.

Runs inside the serialised match step (``store.matching``), so two copies arriving at
once cannot both found a story. Candidates are the releases of other sources, first seen
in the last 7 days, that share an LSH band (``story_bands``); the exact Jaccard over
4-word shingles (``monitor.stories``) decides, and the oldest matching story wins.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.store.session import insert
from monitor.store.tables import BANDS, RELEASES, STORIES, ReleaseRow

STORY_WINDOW = timedelta(days=7)


@functools.lru_cache(maxsize=4096)
def _cached_shingles(content_hash: str, body: str) -> frozenset[int]:
    from monitor import stories

    return stories.shingles(body)


def _shingles(content_hash: str, summary: str, content: str) -> frozenset[int]:
    """Shingles of a stored release; the same candidates come up again and again."""
    return _cached_shingles(content_hash, story_body(summary, content))


def story_body(summary: str, content: str) -> str:
    """The text copies are compared on: the body, title excluded (SPEC section 4)."""
    if content and summary and summary in content:
        return content
    return f"{summary}\n{content}".strip()


async def assign_story(connection: AsyncConnection, release: ReleaseRow, moment: datetime) -> int:
    from monitor import stories

    assert release.id is not None
    signature = stories.signature(story_body(release.summary, release.content))
    story_id = None
    if signature is not None:
        story_id = await _copy_of(
            connection, release, signature.shingles, list(signature.bands), moment
        )
    if story_id is None:
        result = await connection.execute(
            insert(connection, STORIES).values(created_at=moment).returning(STORIES.c.id)
        )
        story_id = int(result.scalar_one())
    if signature is not None:
        await connection.execute(
            insert(connection, BANDS).on_conflict_do_nothing(),
            [
                {
                    "band_key": key,
                    "release_id": release.id,
                    "story_id": story_id,
                    "first_seen_at": moment,
                }
                for key in signature.bands
            ],
        )
    return story_id


async def _copy_of(
    connection: AsyncConnection,
    release: ReleaseRow,
    mine: frozenset[int],
    keys: list[str],
    moment: datetime,
) -> int | None:
    from monitor import stories

    rows = (
        await connection.execute(
            select(
                RELEASES.c.id,
                RELEASES.c.story_id,
                RELEASES.c.summary,
                RELEASES.c.content,
                RELEASES.c.content_hash,
            )
            .where(
                RELEASES.c.id.in_(
                    select(BANDS.c.release_id)
                    .where(BANDS.c.band_key.in_(keys))
                    .where(BANDS.c.first_seen_at >= moment - STORY_WINDOW)
                )
            )
            .where(RELEASES.c.source_id != release.source_id)
            .where(RELEASES.c.story_id.is_not(None))
        )
    ).all()
    best: int | None = None
    for row in rows:
        theirs = _shingles(row.content_hash, row.summary, row.content)
        if stories.is_copy(mine, theirs) and (best is None or row.story_id < best):
            best = row.story_id
    return best
