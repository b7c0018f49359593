"""Story assignment: a release joins the story of a recent near-copy, and learns its copies.

Runs inside the serialised match step (``store.matching``), so two copies arriving at
once cannot both found a story. Candidates are the other releases — of any source, the
release's own included (a re-post under a new URL is a copy) — first seen in the last
7 days, that share an LSH band (``story_bands``), and those earlier in the same batch; the
exact Jaccard over 4-word shingles (``monitor.stories``) decides. A new release joins the
oldest story among its copies; stories are assigned at first sight and never merged.

Copies are not always in one story (A and C can both be copies of B without being copies
of each other, and stories made before same-source re-posts counted as copies kept them
apart), so ``assign_stories`` also returns, for every release of the batch, the stories its
copies were filed under: the match step alerts on none of a release's copies twice.
"""

from __future__ import annotations

import functools
from array import array
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Text, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor import stories
from monitor.store.arrays import (
    any_of,
    execute_columns,
    execute_rows,
    insert_arrays,
    params_of,
    selecting,
)
from monitor.store.session import insert
from monitor.store.tables import BANDS, RELEASES, STORIES

STORY_WINDOW = timedelta(days=7)


# The cache is bounded by the shingles it holds, not by releases: 4,096 long releases (up
# to MAX_STORY_WORDS shingles each) held 262 MB in a cold poll of the corpus. 250,000
# shingles are hundreds of ordinary releases, the wire copies that recur. They are held as
# 8-byte values (``array('Q')``), made a set again on a hit: as frozensets of ints (~90 B a
# shingle) the full cache was 24 MB of a daemon's ~250 MB at 100,000 sources, filled
# within its first hour; as arrays 2 MB, and a hit costs a set built from integers, far
# less than the folding and hashing it saves.
_SHINGLES: OrderedDict[str, array[int]] = OrderedDict()
_CACHED_SHINGLES = 250_000
_cached_total = 0


def _shingles(content_hash: str, summary: str, content: str) -> frozenset[int]:
    """Shingles of a release, by content hash: the same candidates come up again and again
    (a wire story copied by many sites), and shingling is the expensive part."""
    global _cached_total
    found = _cached_shingles(content_hash)
    if found is None:
        body = stories.story_body(summary, content)
        found = stories.shingles_of_words(first_words(body))
        _SHINGLES[content_hash] = array("Q", tuple(found))  # sized once, not grown
        _cached_total += len(found)
        while _cached_total > _CACHED_SHINGLES and len(_SHINGLES) > 1:
            _cached_total -= len(_SHINGLES.popitem(last=False)[1])
    return found


_SLICE = 1 << 20  # characters of a long body folded at once


class StoryRelease(Protocol):
    """What filing a release into a story reads of it, and ``story_id``, which it sets.
    The match step's ``Pending`` is one; a protocol here, so that this module need not
    import the match step that calls it."""

    id: int
    story_id: int | None
    story_bands: str | None
    content_hash: str
    summary: str
    content: str


def first_words(text: str, count: int | None = None) -> list[str]:
    """The first ``count`` (``MAX_STORY_WORDS``) folded words of ``text``: copies are
    compared on them, as their band keys were computed (``parse.prepare``). A long body is
    folded a slice at a time, cut at a space (folding never joins words across one): the
    shingles of a 9.5 MB body's every word took 260 MB in the match step."""
    from monitor.rules.normalize import words

    count = stories.MAX_STORY_WORDS if count is None else count
    found: list[str] = []
    start = 0
    while start < len(text) and len(found) < count:
        end = text.find(" ", start + _SLICE) + 1 or len(text)
        found += words(text[start:end])
        start = end
    return found[:count]


def _cached_shingles(content_hash: str) -> frozenset[int] | None:
    held = _SHINGLES.get(content_hash)
    if held is None:
        return None
    _SHINGLES.move_to_end(content_hash)
    return frozenset(held)


@dataclass
class _Candidate:
    release_id: int
    story_id: int  # negative: a story founded in this batch, not inserted yet
    content_hash: str


@functools.cache
def _insert_stories(dialect: str) -> Any:
    """The stories' insert, built once per dialect: on PostgreSQL from one array."""
    if dialect == "postgresql":
        statement = insert_arrays(STORIES, ("founder_release_id",), ("created_at",))
    else:
        statement = insert(dialect, STORIES)
    return statement.returning(STORIES.c.id, STORIES.c.founder_release_id)


async def assign_stories(
    connection: AsyncConnection,
    releases: Sequence[StoryRelease],
    moment: datetime,
    *,
    revised: Collection[int] = (),
) -> dict[int, frozenset[int]]:
    """Set ``story_id`` on every release that has none, in order (a copy may join a story
    founded earlier in the same batch). Four statements per batch, whatever its size.

    Returns, by release id, the stories its copies were filed under (the stored copies and
    those earlier in the batch), for the new releases and for those of ``revised`` (ids of
    releases that have a story already, whose copies are wanted too). A release without
    copies is left out.
    """
    todo = [r for r in releases if r.story_id is None]
    keys_of = {
        r.id: r.story_bands.split() if r.story_bands else []
        for r in releases
        if r.story_id is None or r.id in revised
    }
    by_band = await _recent_holders(
        connection, {k for keys in keys_of.values() for k in keys}, moment
    )
    shingles_of = await _stored_shingles(connection, by_band)
    founded: list[StoryRelease] = []
    copies_of: dict[int, set[int]] = {}
    for release in releases:
        if release.id not in keys_of:
            continue
        keys = keys_of[release.id]
        if keys:
            shingles_of[release.content_hash] = _shingles(
                release.content_hash, release.summary, release.content
            )
        copies = _copy_stories(release, keys, by_band, shingles_of)
        if copies:
            copies_of[release.id] = copies
        if release.story_id is not None:
            continue  # a revision keeps its story and the bands it was first seen with
        story = _oldest(copies)
        if story is None:
            founded.append(release)
            story = -len(founded)
        release.story_id = story
        candidate = _Candidate(release.id, story, release.content_hash)
        for key in keys:
            by_band.setdefault(key, []).append(candidate)
    story_of: dict[int, int] = {}  # the stories founded in this batch: temporary id -> id
    if founded:
        # one multi-row INSERT, its rows returned in any order: matched back by founder
        # (asking for parameter order makes SQLAlchemy insert row by row on SQLite)
        rows = [{"created_at": moment, "founder_release_id": r.id} for r in founded]
        dialect = connection.dialect.name
        if dialect == "postgresql":  # one array: psycopg parsed 500 rows' VALUES each batch
            params = params_of(rows, ("founder_release_id",), ("created_at",))
            returned = (await connection.execute(_insert_stories(dialect), params)).all()
        else:
            returned = await execute_rows(connection, _insert_stories(dialect), rows)
        by_founder = {founder: id_ for id_, founder in returned}  # RETURNING's order
        story_of = {-n: by_founder[r.id] for n, r in enumerate(founded, start=1)}
        for release in todo:
            assert release.story_id is not None
            release.story_id = story_of.get(release.story_id, release.story_id)
    await _insert_bands(connection, todo, keys_of, moment)
    return {
        release_id: frozenset(story_of.get(s, s) for s in stories)
        for release_id, stories in copies_of.items()
    }


# PostgreSQL: a release's band keys as one string, split by the server on spaces (a key
# is ``NN:hex``, ``stories.band_keys``: never a space). A batch's bands
# are ~12,500 rows; one array element per band had psycopg dump each in Python (0.9 s of
# 3.5 s CPU draining 8,000 releases), one per release is 25 times fewer.
_INSERT_BANDS_PG = text(
    "INSERT INTO story_bands (band_key, release_id, story_id, first_seen_at)"
    " SELECT k.band_key, u.release_id, u.story_id, :at"
    " FROM unnest(:releases, :stories, :keys) AS u(release_id, story_id, keys)"
    " CROSS JOIN LATERAL unnest(string_to_array(u.keys, ' ')) AS k(band_key)"
    " ON CONFLICT DO NOTHING"
).bindparams(
    bindparam("releases", type_=ARRAY(BANDS.c.release_id.type)),
    bindparam("stories", type_=ARRAY(BANDS.c.story_id.type)),
    bindparam("keys", type_=ARRAY(Text())),
    bindparam("at", type_=BANDS.c.first_seen_at.type),
)


@functools.cache
def _insert_bands_sqlite() -> Any:
    return insert("sqlite", BANDS).on_conflict_do_nothing()


async def _insert_bands(
    connection: AsyncConnection,
    releases: Sequence[StoryRelease],
    keys_of: dict[int, list[str]],
    moment: datetime,
) -> None:
    """Insert the bands of these releases (``keys_of``), with their stories, first seen at
    ``moment``: ~25 a release. An executemany had psycopg dump and send every row apart,
    the match step's largest cost on PostgreSQL (issue 23): there one array element per
    release; on SQLite the driver's executemany, converted a column at a time."""
    holding = [r for r in releases if keys_of[r.id]]
    if not holding:
        return
    if connection.dialect.name == "postgresql":
        params = {
            "releases": [r.id for r in holding],
            "stories": [r.story_id for r in holding],
            "keys": [" ".join(keys_of[r.id]) for r in holding],
            "at": moment,
        }
        await connection.execute(_INSERT_BANDS_PG, params)
        return
    columns: dict[str, list[Any]] = {"band_key": [], "release_id": [], "story_id": []}
    for release in holding:
        keys = keys_of[release.id]
        columns["band_key"] += keys
        columns["release_id"] += [release.id] * len(keys)
        columns["story_id"] += [release.story_id] * len(keys)
    await execute_columns(connection, _insert_bands_sqlite(), columns, {"first_seen_at": moment})


def _holders(keys: Any, since: datetime) -> Any:
    """The holders of the band keys that ``keys`` selects, first seen ``since`` (SQLite)."""
    return (
        select(BANDS.c.band_key, RELEASES.c.id, RELEASES.c.story_id, RELEASES.c.content_hash)
        .join(RELEASES, RELEASES.c.id == BANDS.c.release_id)
        .where(keys)
        .where(BANDS.c.first_seen_at >= since)
        .where(RELEASES.c.story_id.is_not(None))
    )


# PostgreSQL: the bands holding any of the keys, each key probed through the primary key.
# As ``band_key IN (…)`` or ``= ANY(…)`` of a batch's ~12,500 keys the planner scanned the
# whole table (a hash join: 340–440 ms a batch at 2 million bands, growing with the
# table); joined to the keys unnested it probes the index, and the holders' releases are
# read apart by id (86 ms for both at 2 million, load 6; issue 23). The probe is a LATERAL
# subquery that ``OFFSET 0`` keeps from being flattened into a join: as a plain join, the
# plan psycopg's prepared statement settled on (a generic one, which counts 10 keys) or
# statistics older than the table's growth made a hash join over the whole table — 69 ms
# a match run at 2,000 sources, 83 % of the server's time a poll (bench.scale); probed,
# 0.4 ms (issue 23, pg_stat_statements).
_BAND_HITS_PG = text(
    "SELECT k.band_key, b.release_id"
    " FROM unnest(string_to_array(:keys, ' ')) AS k(band_key)"
    " CROSS JOIN LATERAL (SELECT s.release_id FROM story_bands s"
    " WHERE s.band_key = k.band_key AND s.first_seen_at >= :since OFFSET 0) AS b"
).bindparams(bindparam("keys", type_=Text()), bindparam("since", type_=BANDS.c.first_seen_at.type))


async def _recent_holders(
    connection: AsyncConnection, keys: set[str], moment: datetime
) -> dict[str, list[_Candidate]]:
    """Releases first seen within the window that hold any of ``keys``, by band key. Their
    texts are read apart (``_stored_shingles``): a candidate holds up to 25 of the keys."""
    found: dict[str, list[_Candidate]] = {}
    since = moment - STORY_WINDOW
    if connection.dialect.name != "postgresql":
        for condition in selecting(connection.dialect.name, BANDS.c.band_key, keys):
            for row in (await connection.execute(_holders(condition, since))).all():
                found.setdefault(row.band_key, []).append(
                    _Candidate(row.id, row.story_id, row.content_hash)
                )
        return found
    if not keys:
        return found
    params = {"keys": " ".join(sorted(keys)), "since": since}
    hits = (await connection.execute(_BAND_HITS_PG, params)).all()
    holders = select(RELEASES.c.id, RELEASES.c.story_id, RELEASES.c.content_hash).where(
        any_of(RELEASES.c.id, sorted({hit.release_id for hit in hits})),
        RELEASES.c.story_id.is_not(None),
    )
    candidates = {
        row.id: _Candidate(row.id, row.story_id, row.content_hash)
        for row in (await connection.execute(holders) if hits else ())
    }
    for band_key, release_id in hits:
        if release_id in candidates:
            found.setdefault(band_key, []).append(candidates[release_id])
    return found


async def _stored_shingles(
    connection: AsyncConnection, by_band: dict[str, list[_Candidate]]
) -> dict[str, frozenset[int]]:
    """The shingles of every candidate, by content hash; only the texts not shingled yet
    in this process are read, each once."""
    found: dict[str, frozenset[int]] = {}
    missing: set[int] = set()
    for holders in by_band.values():
        for candidate in holders:
            if candidate.content_hash in found:
                continue
            cached = _cached_shingles(candidate.content_hash)
            if cached is None:
                missing.add(candidate.release_id)
            else:
                found[candidate.content_hash] = cached
    for condition in selecting(connection.dialect.name, RELEASES.c.id, missing):
        rows = await connection.execute(
            select(RELEASES.c.content_hash, RELEASES.c.summary, RELEASES.c.content).where(condition)
        )
        for row in rows:
            found[row.content_hash] = _shingles(row.content_hash, row.summary, row.content)
    return found


def _copy_stories(
    release: StoryRelease,
    keys: list[str],
    by_band: dict[str, list[_Candidate]],
    shingles_of: dict[str, frozenset[int]],
) -> set[int]:
    """The stories of the candidates that are near-copies of ``release`` (SPEC section 4)."""
    candidates = {
        c.release_id: c
        for key in keys
        for c in by_band.get(key, ())
        if c.release_id != release.id  # a revision finds the bands it was first seen with
    }
    if not candidates:
        return set()
    mine = shingles_of[release.content_hash]
    return {
        c.story_id
        for c in candidates.values()
        if stories.is_copy(mine, shingles_of[c.content_hash])
    }


def _oldest(found: Collection[int]) -> int | None:
    """The oldest of these stories: stored ones (positive ids, in order of creation) come
    before those founded in this batch (negative, numbered in founding order: -1 first)."""
    stored = [s for s in found if s > 0]
    if stored:
        return min(stored)
    return max(found, default=None)
