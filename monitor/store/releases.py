"""Writing releases: new ones inserted once, revised ones updated, in one statement (per
1,000 rows).

``INSERT … ON CONFLICT (source_id, identity) DO UPDATE … WHERE content_hash changed
RETURNING`` yields exactly the new rows (revision 1) and the revised rows (revision > 1);
an unchanged release yields nothing. The stored content hashes are read first, so that
only new and changed releases are sent (a changed feed body mostly repeats stored items).

Where each version lives: the current one in ``releases`` only; the versions it superseded
in ``release_revisions``, copied there server-side (``INSERT … SELECT``) just before the
upsert overwrites them. A new release writes nothing there.

One item never costs the others (``store_releases``): text is made storable where it
enters (``parse.clean``), but should a row still be refused for what it holds (a data
error, an encoding error, a database limit such as PostgreSQL's 1 MB tsvector), the batch
is written again one release at a time, each in a savepoint, and the refused ones are
skipped and returned with the reason. The common path stays one transaction with one
upsert; the slow one runs only after a refusal.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.model import ReleaseData, Skipped
from monitor.store.arrays import execute_rows, insert_arrays, params_of, selecting
from monitor.store.session import insert, writing
from monitor.store.tables import RELEASES, REVISIONS

_CHUNK = 1000  # rows per upsert


@dataclass(frozen=True, slots=True)
class Saved:
    id: int
    identity: str
    revision: int
    alertable: bool  # as stored: this poll's say, or an earlier poll's for a revision
    # alertable by this poll's say, but written not alertable: the flood guard's hold, made
    # as the rows are inserted once the poll is over its limit (``store_batches``)
    held: bool = False


# what runs in the transaction that stores a poll's releases, after them (the flood guard,
# the poll's outcome)
AfterWrite = Callable[[AsyncConnection, "Stored"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Stored:
    saved: list[Saved]  # the new and revised rows
    skipped: list[Skipped]  # releases the database refused, with the reason


@dataclass(frozen=True, slots=True)
class Batch:
    """Some of a poll's releases, with what is stored beside each (by identity)."""

    releases: Sequence[ReleaseData]
    alertable: Mapping[str, bool]
    search_text: Mapping[str, str]
    bands: Mapping[str, str | None]


async def store_releases(
    engine: AsyncEngine,
    source_id: str,
    releases: Sequence[ReleaseData],
    *,
    moment: datetime,
    alertable: dict[str, bool],
    search_text: dict[str, str],
    bands: dict[str, str | None] | None = None,
    then: AfterWrite | None = None,
) -> Stored:
    """``store_batches`` of one batch."""
    batch = Batch(_first_of_each(releases), alertable, search_text, bands or {})
    return await store_batches(engine, source_id, lambda: [batch], moment=moment, then=then)


async def store_batches(
    engine: AsyncEngine,
    source_id: str,
    batches: Callable[[], Iterable[Batch]],
    *,
    moment: datetime,
    then: AfterWrite | None = None,
    hold_over: int | None = None,
) -> Stored:
    """``save_releases`` of each batch ``batches()`` gives, in one write transaction, and
    ``then`` in the same one; a release the database refuses for what it holds is skipped,
    and the others are stored (see the module doc). One batch is held at a time: a feed of
    50,000 items is read from its packed chunks (``parse.prepare``), a chunk after another,
    and read again should the slow path be needed. A release is in one batch only.

    ``hold_over``: the flood guard's limit. Once more alertable releases than that are
    saved, the next batches' releases are written not alertable (``Saved.held``): a flood's
    rows are inserted held, not updated afterwards (50,000 rows, and as many entries of
    ``ix_releases_pending_alertable`` made and removed); ``then`` holds the first ones."""
    try:
        async with writing(engine) as connection:
            saved: list[Saved] = []
            count = _Count(hold_over)
            for batch in batches():
                saved += count(await _save(connection, source_id, batch, moment, count.over))
            if then is not None:
                await then(connection, Stored(saved, []))
            return Stored(saved, [])
    except Exception as exc:
        if not refused_for_content(exc):
            raise
    saved = []
    skipped: list[Skipped] = []
    async with writing(engine) as connection:
        count = _Count(hold_over)
        for batch in batches():
            hold = count.over
            for release in batch.releases:
                try:
                    async with connection.begin_nested():
                        one = replace(batch, releases=[release])
                        saved += count(await _save(connection, source_id, one, moment, hold))
                except Exception as exc:
                    if not refused_for_content(exc):
                        raise
                    skipped.append(Skipped.of(release.url or release.identity, "not stored", exc))
        if then is not None:
            await then(connection, Stored(saved, skipped))
    return Stored(saved, skipped)


async def _save(
    connection: AsyncConnection, source_id: str, batch: Batch, moment: datetime, hold: bool
) -> list[Saved]:
    return await save_releases(
        connection,
        source_id,
        batch.releases,
        moment=moment,
        alertable=batch.alertable,
        search_text=batch.search_text,
        bands=batch.bands,
        hold=hold,
    )


class _Count:
    """The releases saved so far that may alert, against the flood guard's ``limit``."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.alertable = 0

    def __call__(self, saved: list[Saved]) -> list[Saved]:
        self.alertable += sum(1 for s in saved if s.alertable or s.held)
        return saved

    @property
    def over(self) -> bool:
        return self.limit is not None and self.alertable > self.limit


def refused_for_content(exc: BaseException) -> bool:
    """Whether the database refused a row for what it holds (SQLSTATE class 22, data
    exception; 54, program limit exceeded; or text the driver could not encode), rather
    than for a reason every row shares (the connection, a lock, the schema)."""
    if isinstance(exc, UnicodeError | sa_exc.DataError):
        return True
    state = getattr(getattr(exc, "orig", None), "sqlstate", None) or ""
    return isinstance(exc, sa_exc.DBAPIError) and state[:2] in ("22", "54")


async def known_identities(
    connection: AsyncConnection, source_id: str, identities: Sequence[str]
) -> set[str]:
    return set(await _stored_hashes(connection, source_id, identities))


async def _stored_hashes(
    connection: AsyncConnection, source_id: str, identities: Sequence[str]
) -> dict[str, tuple[int, str]]:
    """The id and content hash of each of ``identities`` stored for the source."""
    found: dict[str, tuple[int, str]] = {}
    stored = select(RELEASES.c.identity, RELEASES.c.id, RELEASES.c.content_hash).where(
        RELEASES.c.source_id == source_id
    )
    for among in selecting(connection.dialect.name, RELEASES.c.identity, identities):
        result = await connection.execute(stored.where(among))
        found.update((identity, (id_, hash_)) for identity, id_, hash_ in result)
    return found


async def save_releases(
    connection: AsyncConnection,
    source_id: str,
    releases: Sequence[ReleaseData],
    *,
    moment: datetime,
    alertable: Mapping[str, bool],
    search_text: Mapping[str, str],
    bands: Mapping[str, str | None] | None = None,
    hold: bool = False,
) -> list[Saved]:
    """Insert new releases and update changed ones; return exactly those rows. ``hold``:
    write them not alertable, and say which were (``Saved.held``)."""
    unique = _by_identity(releases)
    stored = await _stored_hashes(connection, source_id, list(unique))
    todo = [  # new, or changed since stored: an unchanged release needs no statement
        r
        for r in unique.values()
        if r.identity not in stored or stored[r.identity][1] != r.content_hash
    ]
    if not todo:
        return []
    superseded = [stored[r.identity][0] for r in todo if r.identity in stored]
    if superseded:
        await _keep_superseded(connection, superseded)
    dialect = connection.dialect.name
    statement = _upsert(dialect) if dialect != "postgresql" else _upsert_arrays()
    bands = bands or {}
    saved: list[Saved] = []
    # a statement per 1,000 rows (as SQLAlchemy would split them: within the driver's limit
    # on parameters, 32,766 on SQLite and 65,535 with psycopg), each row built just before:
    # 50,000 rows' parameters at once took 100 MB
    for start in range(0, len(todo), _CHUNK):
        rows = [
            _row(
                source_id,
                r,
                moment,
                alertable[r.identity] and not hold,
                search_text[r.identity],
                bands.get(r.identity),
            )
            for r in todo[start : start + _CHUNK]
        ]
        if dialect == "postgresql":
            returned = (await connection.execute(statement, _arrays(rows))).all()
        else:
            returned = await execute_rows(connection, statement, rows)
        # rows read by position (``_on_conflict``'s RETURNING): a Row's attribute is looked
        # up by name, 10 times the cost (0.17 s for the 4 columns of 50,000 rows)
        saved += [
            Saved(id_, identity, revision, bool(was), hold and alertable[identity])
            for id_, identity, revision, was in returned
        ]
    return saved


async def hold_alerts(connection: AsyncConnection, release_ids: Sequence[int]) -> None:
    """These releases raise no alert when they are matched (the flood guard's hold).

    A flood's releases were inserted together, so their ids come in a few runs: on SQLite
    each run is one ``BETWEEN`` (50,000 ids were 25 ``IN`` lists of 2,000 parameters, each
    rendered by SQLAlchemy). Scattered ids (revisions) go as ``IN`` lists, as before."""
    dialect = connection.dialect.name
    runs = _runs(release_ids) if dialect != "postgresql" else []  # one array there
    if runs and len(runs) <= _RUNS:
        conditions = [or_(*(RELEASES.c.id.between(low, high) for low, high in runs))]
    else:
        conditions = selecting(dialect, RELEASES.c.id, release_ids)
    for among in conditions:
        await connection.execute(update(RELEASES).where(among).values(alertable=False))


_RUNS = 100  # runs of ids held by one statement of BETWEENs at most


def _runs(ids: Iterable[int]) -> list[tuple[int, int]]:
    """The distinct ``ids`` as runs of consecutive integers, ``(first, last)`` each."""
    runs: list[tuple[int, int]] = []
    for id_ in sorted(set(ids)):
        if runs and id_ == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], id_)
        else:
            runs.append((id_, id_))
    return runs


def _first_of_each(releases: Sequence[ReleaseData]) -> list[ReleaseData]:
    """One release per identity: a feed that lists an item twice, the first one counts."""
    return list(_by_identity(releases).values())


def _by_identity(releases: Sequence[ReleaseData]) -> dict[str, ReleaseData]:
    """``_first_of_each`` by identity."""
    unique: dict[str, ReleaseData] = {}
    for release in releases:
        unique.setdefault(release.identity, release)
    return unique


@functools.cache
def _upsert(dialect: str) -> Any:
    """The upsert, built once per dialect: building it (its ``excluded`` columns) and its
    cache key on every poll cost a few per cent of a cold poll's event loop."""
    return _on_conflict(insert(dialect, RELEASES))


# PostgreSQL's rows go as one array per column (``store.arrays``)
_ARRAY_COLUMNS = (
    "identity", "url", "title", "summary", "content", "summary_raw", "content_raw", "author",
    "language", "published_at", "published_raw", "content_hash", "search_text",
    "story_bands", "alertable",
)  # fmt: skip
_SCALAR_COLUMNS = ("source_id", "first_seen_at", "updated_at")  # the same in every row


@functools.cache
def _upsert_arrays() -> Any:
    return _on_conflict(insert_arrays(RELEASES, _ARRAY_COLUMNS, _SCALAR_COLUMNS))


def _arrays(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``_upsert_arrays``'s parameters for ``_row``s of one source and moment."""
    return params_of(rows, _ARRAY_COLUMNS, _SCALAR_COLUMNS)


def _on_conflict(statement: Any) -> Any:
    table: Any = RELEASES
    changed = statement.excluded.content_hash != table.c.content_hash
    return statement.on_conflict_do_update(
        index_elements=["source_id", "identity"],
        set_={
            "title": statement.excluded.title,
            "summary": statement.excluded.summary,
            "content": statement.excluded.content,
            "summary_raw": statement.excluded.summary_raw,
            "content_raw": statement.excluded.content_raw,
            "url": statement.excluded.url,
            "published_at": statement.excluded.published_at,
            "published_raw": statement.excluded.published_raw,
            "language": statement.excluded.language,
            "author": statement.excluded.author,
            "content_hash": statement.excluded.content_hash,
            "search_text": statement.excluded.search_text,
            "story_bands": statement.excluded.story_bands,
            "revision": table.c.revision + 1,
            "updated_at": statement.excluded.updated_at,
            # a revision of a release first seen in a baseline may alert, unless --no-alerts
            "alertable": statement.excluded.alertable | table.c.alertable,
        },
        where=changed,
    ).returning(table.c.id, table.c.identity, table.c.revision, table.c.alertable)


async def _keep_superseded(connection: AsyncConnection, release_ids: list[int]) -> None:
    """Copy the stored version of these releases into ``release_revisions``, before the
    upsert replaces it. Databases before schema 0005 copied every version as it came: ON
    CONFLICT keeps the copy they hold."""
    stored = RELEASES.c
    copy = {  # revision column: the stored column it is copied from
        "release_id": stored.id,
        "revision": stored.revision,
        "title": stored.title,
        "summary": stored.summary,
        "content": stored.content,
        "content_hash": stored.content_hash,
        "seen_at": stored.updated_at,  # when that version was first seen
    }
    for among in selecting(connection.dialect.name, stored.id, release_ids):
        superseded = select(*copy.values()).where(among)
        await connection.execute(
            insert(connection, REVISIONS)
            .from_select(list(copy), superseded)
            .on_conflict_do_nothing()
        )


def _row(
    source_id: str,
    r: ReleaseData,
    moment: datetime,
    alertable: bool,
    search_text: str,
    bands: str | None,
) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "identity": r.identity,
        "url": r.url,
        "title": r.title,
        "summary": r.summary,
        "content": r.content,
        "summary_raw": r.summary_raw,
        "content_raw": r.content_raw,
        "author": r.author,
        "language": r.language,
        "published_at": r.published,
        "published_raw": r.published_raw,
        "content_hash": r.content_hash,
        "revision": 1,
        "first_seen_at": moment,
        "updated_at": moment,
        "search_text": search_text,
        "story_bands": bands,
        "matched_hash": None,
        "alertable": alertable,
        "story_id": None,
    }
