"""A large poll is stored a batch at a time (``store_batches``), still as one transaction:
what runs after the releases (the flood guard) sees every batch's, a failure there keeps
none of them, and a release the database refuses in a later batch costs only itself. The
match step reads its queue through the partial index of pending releases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.model import ReleaseData
from monitor.store.matching import pending_query
from monitor.store.releases import Batch, Saved, Stored, store_batches
from tests.conftest import Engines
from tests.support.store import release, store_with_sources

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def engine(db_url: str, engines: Engines) -> AsyncEngine:
    return engines.adopt(await store_with_sources(db_url, ("ministry",), T0))


def _batch(releases: Sequence[ReleaseData]) -> Batch:
    return Batch(
        releases,
        alertable={r.identity: r.identity != "g0" for r in releases},
        search_text={r.identity: r.content for r in releases},
        bands={r.identity: "k1 k2" if r.identity == "g1" else None for r in releases},
    )


async def _rows(engine: AsyncEngine, query: str) -> list[tuple[object, ...]]:
    async with engine.connect() as connection:
        return [tuple(row) for row in (await connection.execute(sa.text(query))).all()]


async def test_batches_are_one_transaction_and_then_sees_every_one(engine: AsyncEngine) -> None:
    groups = [[release(f"g{n}", f"نص {n}") for n in range(start, start + 3)] for start in (0, 3)]
    seen: list[list[Saved]] = []

    async def then(connection: AsyncConnection, stored: Stored) -> None:
        seen.append(list(stored.saved))
        raise RuntimeError("after the releases")

    with pytest.raises(RuntimeError):
        await store_batches(engine, "ministry", lambda: map(_batch, groups), moment=T0, then=then)
    # it saw all six, and its failure kept none: the flood guard's hold cannot be lost
    assert [sorted(s.identity for s in saved) for saved in seen] == [[f"g{n}" for n in range(6)]]
    assert await _rows(engine, "SELECT count(*) FROM releases") == [(0,)]

    stored = await store_batches(engine, "ministry", lambda: map(_batch, groups), moment=T0)
    assert sorted((s.identity, s.revision, s.alertable) for s in stored.saved) == [
        (f"g{n}", 1, n != 0) for n in range(6)
    ]
    rows = await _rows(
        engine,
        "SELECT identity, revision, story_bands, search_text, matched_hash, story_id"
        " FROM releases ORDER BY id",
    )
    assert rows == [
        (f"g{n}", 1, "k1 k2" if n == 1 else None, f"نص {n}", None, None) for n in range(6)
    ]
    # a second poll of the same feed: nothing new, one revision
    groups[1][0] = release("g3", "نص جديد")
    again = await store_batches(engine, "ministry", lambda: map(_batch, groups), moment=T0)
    assert [(s.identity, s.revision) for s in again.saved] == [("g3", 2)]


async def test_a_refused_release_in_a_later_batch_costs_only_itself(engine: AsyncEngine) -> None:
    refused = replace(release("g4", "نص"), title="four \ud800")
    groups = [
        [release("g1", "أ"), release("g2", "ب")],
        [release("g3", "ج"), refused, release("g5", "د")],
    ]
    reads = 0

    def batches() -> list[Batch]:
        nonlocal reads
        reads += 1
        return [_batch(group) for group in groups]

    stored = await store_batches(engine, "ministry", batches, moment=T0)

    assert sorted(s.identity for s in stored.saved) == ["g1", "g2", "g3", "g5"]
    [skipped] = stored.skipped
    assert skipped.reason.startswith("not stored")
    assert reads == 2  # read again, a release at a time, after the refusal
    identities = await _rows(engine, "SELECT identity FROM releases ORDER BY identity")
    assert identities == [("g1",), ("g2",), ("g3",), ("g5",)]


@pytest.mark.parametrize(
    ("alertable", "index"),
    [(True, "ix_releases_pending_alertable"), (False, "ix_releases_pending")],
)
async def test_pending_releases_are_read_through_the_pending_index(
    sqlite_url: str, engines: Engines, alertable: bool, index: str
) -> None:
    engine = engines.adopt(await store_with_sources(sqlite_url, ("m",), T0))
    statement = pending_query(500, alertable=alertable)
    async with engine.connect() as connection:
        sql = str(statement.compile(connection, compile_kwargs={"literal_binds": True}))
        plan = (await connection.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}"))).all()
    details = " ".join(str(row[-1]) for row in plan)
    # not ix_releases_source_seen and a sort of every release of the source, per batch
    assert index in details.split() and "TEMP B-TREE" not in details, details


@pytest.mark.parametrize("most_runs", [100, 1])  # BETWEENs on SQLite; IN lists past the most
async def test_the_hold_holds_exactly_the_ids_given(
    engine: AsyncEngine, most_runs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.store import releases

    monkeypatch.setattr(releases, "_RUNS", most_runs)
    group = [release(f"h{n}", f"text {n}") for n in range(10)]
    batch = Batch(group, {r.identity: True for r in group}, {r.identity: "" for r in group}, {})
    stored = await store_batches(engine, "ministry", lambda: [batch], moment=T0)
    ids = sorted(s.id for s in stored.saved)
    held = [ids[0], ids[1], ids[2], ids[5], ids[7], ids[8], ids[2]]  # runs, gaps, a repeat
    async with engine.begin() as connection:
        await releases.hold_alerts(connection, held)
    rows = await _rows(engine, "SELECT id, alertable FROM releases ORDER BY id")
    assert [(i, bool(a)) for i, a in rows] == [(i, i not in held) for i in ids]


def test_runs_of_ids() -> None:
    from monitor.store.releases import _runs

    assert _runs([]) == []
    assert _runs([7, 3, 4, 5, 9, 10, 4]) == [(3, 5), (7, 7), (9, 10)]


@pytest.mark.parametrize("refused", [False, True], ids=["one transaction", "a release refused"])
async def test_past_the_flood_limit_releases_are_inserted_held(
    engine: AsyncEngine, refused: bool
) -> None:
    """Once more alertable releases than ``hold_over`` are saved, the next batches' go in
    not alertable and say so (``held``); a revision keeps the alertable it had stored, for
    the flood guard to hold. The same on the slow path, a release at a time."""
    await store_batches(
        engine, "ministry", lambda: [_all_alertable([release("r", "v1")])], moment=T0
    )
    groups = [
        [release(f"f{n}", f"text {n}") for n in range(start, start + 3)] for start in (0, 3, 6)
    ]
    groups[2].append(release("r", "v2"))  # revised, in a held batch
    if refused:
        groups[1].append(replace(release("x", "x"), title="x \ud800"))
    stored = await store_batches(
        engine, "ministry", lambda: map(_all_alertable, groups), moment=T0, hold_over=2
    )
    got = {s.identity: (s.alertable, s.held) for s in stored.saved}
    assert got == {
        **{f"f{n}": (True, False) for n in range(3)},  # 3 > 2: the next batches are held
        **{f"f{n}": (False, True) for n in range(3, 9)},
        "r": (True, True),  # alertable as stored before: the guard's to hold
    }
    assert [s.reason[:10] for s in stored.skipped] == (["not stored"] if refused else [])
    rows = await _rows(engine, "SELECT identity, alertable FROM releases ORDER BY identity")
    assert [(i, bool(a)) for i, a in rows] == sorted(
        (i, not i.startswith("f") or int(i[1:]) < 3) for i in [*got]
    )
    # no limit: nothing held
    more = [release(f"g{n}", "g") for n in range(5)]
    free = await store_batches(engine, "ministry", lambda: [_all_alertable(more)], moment=T0)
    assert all(s.alertable and not s.held for s in free.saved)


def _all_alertable(releases: Sequence[ReleaseData]) -> Batch:
    return replace(_batch(releases), alertable={r.identity: True for r in releases})
