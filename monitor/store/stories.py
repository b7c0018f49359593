"""Story assignment: a release joins the story of a recent near-copy from another source.

Runs inside the serialised match step (see ``store.matching``), so two copies arriving at
once cannot both found a story. Candidates come from LSH band keys (``story_bands``,
primary key ``band_key``); the exact Jaccard threshold over 4-word shingles decides.
A band older than the window is taken over by the new release that collides with it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.store.session import insert
from monitor.store.tables import ReleaseRow, StoryBandRow, StoryRow

STORY_WINDOW = timedelta(days=7)


def story_body(summary: str, content: str) -> str:
    """The text copies are compared on: the body, title excluded (SPEC section 4)."""
    if content and summary and summary in content:
        return content
    return f"{summary}\n{content}".strip()


async def assign_story(
    connection: AsyncConnection, release: ReleaseRow, moment: datetime
) -> int:
    from monitor import stories
    from monitor.rules.normalize import words

    body = story_body(release.summary, release.content)
    keys: list[str] = []
    if len(words(body)) >= stories.MIN_WORDS:
        mine = stories.shingles(body)
        keys = stories.band_keys(stories.minhash(mine))
        story_id = await _copy_of(connection, release, mine, keys, moment)
        if story_id is not None:
            await _claim_bands(connection, keys, story_id, release, moment)
            return story_id
    result = await connection.execute(
        insert(connection, StoryRow.__table__).values(created_at=moment).returning(StoryRow.id)  # type: ignore[attr-defined]
    )
    story_id = int(result.scalar_one())
    await _claim_bands(connection, keys, story_id, release, moment)
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
            select(ReleaseRow.id, ReleaseRow.story_id, ReleaseRow.summary, ReleaseRow.content)
            .join(StoryBandRow, StoryBandRow.release_id == ReleaseRow.id)  # type: ignore[arg-type]
            .where(StoryBandRow.band_key.in_(keys))  # type: ignore[attr-defined]
            .where(StoryBandRow.first_seen_at >= moment - STORY_WINDOW)  # type: ignore[arg-type]
            .where(ReleaseRow.source_id != release.source_id)  # type: ignore[arg-type]
            .where(ReleaseRow.story_id.is_not(None))  # type: ignore[union-attr]
            .distinct()
        )
    ).all()
    best: int | None = None
    for row in rows:
        theirs = stories.shingles(story_body(row.summary, row.content))
        if stories.jaccard(mine, theirs) >= stories.THRESHOLD and (best is None or row.story_id < best):
            best = row.story_id
    return best


async def _claim_bands(
    connection: AsyncConnection, keys: list[str], story_id: int, release: ReleaseRow, moment: datetime
) -> None:
    if not keys:
        return
    assert release.id is not None
    statement = insert(connection, StoryBandRow.__table__)
    statement = statement.on_conflict_do_update(
        index_elements=["band_key"],
        set_={
            "story_id": statement.excluded.story_id,
            "release_id": statement.excluded.release_id,
            "first_seen_at": statement.excluded.first_seen_at,
        },
        where=StoryBandRow.__table__.c.first_seen_at < moment - STORY_WINDOW,  # type: ignore[attr-defined]
    )
    await connection.execute(
        statement,
        [{"band_key": k, "story_id": story_id, "release_id": release.id, "first_seen_at": moment} for k in keys],
    )
