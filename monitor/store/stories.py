"""Story assignment: a release joins the story of a recent near-copy from another source.

Runs inside the serialised match step (``store.matching``), so two copies arriving at
once cannot both found a story. Candidates are the releases of other sources, first seen
in the last 7 days, that share an LSH band (``story_bands``); the exact Jaccard over
4-word shingles (``monitor.stories``) decides, and the oldest matching story wins.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor import stories
from monitor.store.session import insert
from monitor.store.tables import BANDS, RELEASES, STORIES

if TYPE_CHECKING:
    from monitor.store.matching import Pending

STORY_WINDOW = timedelta(days=7)


_SHINGLES: OrderedDict[str, frozenset[int]] = OrderedDict()
_CACHED = 4096


def _shingles(content_hash: str, summary: str, content: str) -> frozenset[int]:
    """Shingles of a stored release, by content hash: the same candidates come up again and
    again (a wire story copied by many sites), and shingling is the expensive part."""
    found = _SHINGLES.get(content_hash)
    if found is None:
        found = _SHINGLES[content_hash] = stories.shingles(stories.story_body(summary, content))
        if len(_SHINGLES) > _CACHED:
            _SHINGLES.popitem(last=False)
    else:
        _SHINGLES.move_to_end(content_hash)
    return found


@dataclass
class _Candidate:
    release_id: int
    source_id: str
    story_id: int  # negative: a story founded in this batch, not inserted yet
    content_hash: str
    summary: str
    content: str


async def assign_stories(
    connection: AsyncConnection, releases: list[Pending], moment: datetime
) -> None:
    """Set ``story_id`` on every release that has none, in order (a copy may join a story
    founded earlier in the same batch). Three statements per batch, whatever its size."""
    todo = [r for r in releases if r.story_id is None]
    if not todo:
        return
    keys_of = {r.id: r.story_bands.split() if r.story_bands else [] for r in todo}
    by_band = await _recent_holders(
        connection, {k for keys in keys_of.values() for k in keys}, moment
    )
    founded: list[Pending] = []
    for release in todo:
        assert release.id is not None
        keys = keys_of[release.id]
        story = _copy_of(release, keys, by_band)
        if story is None:
            founded.append(release)
            story = -len(founded)
        release.story_id = story
        candidate = _Candidate(
            release.id,
            release.source_id,
            story,
            release.content_hash,
            release.summary,
            release.content,
        )
        for key in keys:
            by_band.setdefault(key, []).append(candidate)
    if founded:
        # one multi-row INSERT, its rows returned in any order: matched back by founder
        # (asking for parameter order makes SQLAlchemy insert row by row on SQLite)
        result = await connection.execute(
            insert(connection, STORIES).returning(STORIES.c.id, STORIES.c.founder_release_id),
            [{"created_at": moment, "founder_release_id": r.id} for r in founded],
        )
        story_of = {row.founder_release_id: row.id for row in result.all()}
        for release in todo:
            if release.story_id is not None and release.story_id < 0:
                release.story_id = story_of[founded[-release.story_id - 1].id]
    await _insert_bands(
        connection, ((k, r.id, r.story_id) for r in todo for k in keys_of[r.id]), moment
    )


_INSERT_BANDS = {
    "sqlite": "INSERT INTO story_bands (band_key, release_id, story_id, first_seen_at)"
    " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
    "postgresql": "INSERT INTO story_bands (band_key, release_id, story_id, first_seen_at)"
    " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
}


async def _insert_bands(
    connection: AsyncConnection, bands: Iterable[tuple[str, int, int | None]], moment: datetime
) -> None:
    """Insert (band_key, release_id, story_id) rows first seen at ``moment``. Handed to the
    driver's executemany as tuples: a cold poll inserts 105,000 bands (25 a release), and
    SQLAlchemy's handling of each row's parameters cost about as much as inserting it."""
    dialect = connection.dialect
    convert = BANDS.c.first_seen_at.type.dialect_impl(dialect).bind_processor(dialect)
    stamp = convert(moment) if convert is not None else moment
    rows = [(*band, stamp) for band in bands]
    if rows:
        await connection.exec_driver_sql(_INSERT_BANDS[dialect.name], rows)


async def _recent_holders(
    connection: AsyncConnection, keys: set[str], moment: datetime
) -> dict[str, list[_Candidate]]:
    """Releases first seen within the window that hold any of ``keys``, by band key."""
    found: dict[str, list[_Candidate]] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), 2000):
        rows = (
            await connection.execute(
                select(
                    BANDS.c.band_key,
                    RELEASES.c.id,
                    RELEASES.c.source_id,
                    RELEASES.c.story_id,
                    RELEASES.c.content_hash,
                    RELEASES.c.summary,
                    RELEASES.c.content,
                )
                .join(RELEASES, RELEASES.c.id == BANDS.c.release_id)
                .where(BANDS.c.band_key.in_(ordered[start : start + 2000]))
                .where(BANDS.c.first_seen_at >= moment - STORY_WINDOW)
                .where(RELEASES.c.story_id.is_not(None))
            )
        ).all()
        for row in rows:
            found.setdefault(row.band_key, []).append(
                _Candidate(
                    row.id, row.source_id, row.story_id, row.content_hash, row.summary, row.content
                )
            )
    return found


def _copy_of(release: Pending, keys: list[str], by_band: dict[str, list[_Candidate]]) -> int | None:
    """The oldest story of a near-copy from another source, if any."""
    candidates = {
        c.release_id: c
        for key in keys
        for c in by_band.get(key, ())
        if c.source_id != release.source_id
    }
    if not candidates:
        return None
    mine = _shingles(release.content_hash, release.summary, release.content)
    best: int | None = None
    for candidate in candidates.values():
        theirs = _shingles(candidate.content_hash, candidate.summary, candidate.content)
        if stories.is_copy(mine, theirs) and (best is None or _older(candidate.story_id, best)):
            best = candidate.story_id
    return best


def _older(story: int, than: int) -> bool:
    # stored stories (positive ids) are older than those founded in this batch (negative,
    # numbered in founding order: -1 is the first)
    if (story > 0) != (than > 0):
        return story > 0
    return story < than if story > 0 else story > than
