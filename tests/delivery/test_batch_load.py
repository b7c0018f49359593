"""Loading claimed alerts a batch at a time (issue 23, ``deliver``).

``outbox.load_claimed`` reads a batch's releases, hits and story copies in one statement
(it made three an alert). On SQLite and PostgreSQL it gives what the per-alert reads gave:
the same ``Claimed`` objects in the order asked, for alerts sharing releases and stories, a
story's copies by release id without the alert's own release, no hits when the alert has no
match row, a capped hits list's total.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store import outbox
from monitor.store.queries import list_alerts
from monitor.store.session import writing
from monitor.store.tables import ALERTS, MATCHES, RELEASES, AlertRow
from tests.delivery.conftest import Store, open_test_store, write_config

SHOWN = select(
    RELEASES.c.id,
    RELEASES.c.source_id,
    func.substr(RELEASES.c.title, 1, outbox.TEXT_READ).label("title"),
    func.substr(RELEASES.c.summary, 1, outbox.TEXT_READ).label("summary"),
    RELEASES.c.url,
    RELEASES.c.published_at,
    RELEASES.c.language,
)


async def load_each(engine: AsyncEngine, alerts: Sequence[AlertRow]) -> list[outbox.Claimed]:
    """The per-alert reads ``load_claimed`` made before it read a batch at once."""
    out: list[outbox.Claimed] = []
    async with engine.connect() as connection:
        for alert in alerts:
            release_row = (
                await connection.execute(SHOWN.where(RELEASES.c.id == alert.release_id))
            ).one()
            hits_json = (
                await connection.execute(
                    select(MATCHES.c.hits).where(MATCHES.c.id == alert.match_id)
                )
            ).scalar_one_or_none()
            hits, total = outbox.parse_hits(hits_json)
            copies = (
                await connection.execute(
                    select(RELEASES.c.source_id, RELEASES.c.url)
                    .where(RELEASES.c.story_id == alert.story_id)
                    .where(RELEASES.c.id != alert.release_id)
                    .order_by(RELEASES.c.id)
                )
            ).all()
            pairs = tuple((c[0], c[1] or "") for c in copies)
            out.append(
                outbox.Claimed(alert, outbox.Shown(**release_row._mapping), hits, pairs, total)
            )
    return out


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", note)


async def add_copy(store: Store, alert_id: str, tag: str, url: str | None) -> None:
    """Another release (a copy) in the story of the alert."""
    async with writing(store.engine) as conn:
        story, _release = (
            await conn.execute(
                select(ALERTS.c.story_id, ALERTS.c.release_id).where(ALERTS.c.id == alert_id)
            )
        ).one()
        await conn.execute(
            insert(RELEASES).values(
                source_id="mofa",
                identity=f"copy-{alert_id}-{tag}",
                story_id=story,
                url=url,
                title="a copy",
                summary="",
                content="",
                language="ar",
                content_hash=f"c{alert_id}{tag}",
                matched_hash=f"c{alert_id}{tag}",
                revision=1,
                first_seen_at=store.clock(),
                updated_at=store.clock(),
                alertable=True,
            )
        )


async def varied_store(tmp_path: Path, db_url: str) -> Store:
    config = write_config(
        tmp_path,
        db_url,
        "- id: hook\n  type: webhook\n  url: https://hook.example/in\n- id: log\n  type: log\n",
    )
    store = await open_test_store(config)
    hits = [{"field": "title", "term": "nato", "start": 0, "end": 4, "snippet": "NATO"}]
    capped = {"hits": hits, "total": 340}
    # a story matched by two rules on two channels: four alerts, one release
    shared = await store.queue_story(
        ["nato", "cyber"], ["hook", "log"], hits={"nato": hits, "cyber": capped}
    )
    await add_copy(store, shared[("nato", "hook")], "a", "https://qna.example/1")
    await add_copy(store, shared[("nato", "hook")], "b", None)
    lone = await store.queue("terror", "hook")  # no copies
    copied = await store.queue("nato", "log")
    await add_copy(store, copied, "c", "https://qna.example/2")
    bare = await store.queue("cyber", "hook")
    async with writing(store.engine) as conn:  # an alert without a match row: no hits
        await conn.execute(update(ALERTS).where(ALERTS.c.id == bare).values(match_id=None))
    assert lone
    return store


async def borrow_match(store: Store, alert_id: str, lender_id: str) -> None:
    """Point the alert at another alert's match (of another release): matching never does,
    the load still reads it."""
    async with writing(store.engine) as conn:
        match = select(ALERTS.c.match_id).where(ALERTS.c.id == lender_id).scalar_subquery()
        await conn.execute(update(ALERTS).where(ALERTS.c.id == alert_id).values(match_id=match))


async def test_batch_load_equals_per_alert_reads(tmp_path: Path, db_url: str) -> None:
    store = await varied_store(tmp_path, db_url)
    try:
        alerts = await list_alerts(store.engine)
        assert len(alerts) == 7
        orders = [alerts, alerts[::-1], [alerts[3], alerts[0], alerts[3]], alerts[:1], []]
        for order in orders:
            assert await outbox.load_claimed(store.engine, order) == await load_each(
                store.engine, order
            )
        loaded = await outbox.load_claimed(store.engine, alerts)
        # the fixture is what it says: shared stories, copies without their own release
        # (in release order, a missing URL as ""), a missing match row and a capped list
        assert sorted(len(item.copies) for item in loaded) == [0, 0, 1, 2, 2, 2, 2]
        assert next(item.copies for item in loaded if len(item.copies) == 2) == (
            ("mofa", "https://qna.example/1"),
            ("mofa", ""),
        )
        assert all(item.release.url not in {u for _, u in item.copies} for item in loaded)
        assert {item.hit_total for item in loaded} == {None, 340}
        assert any(item.alert.match_id is None and item.hits == () for item in loaded)
    finally:
        await store.engine.dispose()


async def test_batch_load_makes_one_statement(tmp_path: Path, db_url: str) -> None:
    """One statement for a batch, however many alerts: it was three an alert."""
    store = await varied_store(tmp_path, db_url)
    try:
        alerts = await list_alerts(store.engine)
        with counting(store.engine) as statements:
            await outbox.load_claimed(store.engine, alerts)
        assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
    finally:
        await store.engine.dispose()


async def test_batch_load_in_chunks(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past ``LOAD_CHUNK`` alerts the reads go a chunk at a time, with the same result."""
    store = await varied_store(tmp_path, db_url)
    try:
        alerts = await list_alerts(store.engine)
        expected = await load_each(store.engine, alerts)
        monkeypatch.setattr(outbox, "LOAD_CHUNK", 3)
        with counting(store.engine) as statements:
            assert await outbox.load_claimed(store.engine, alerts) == expected
        assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 3
    finally:
        await store.engine.dispose()


def test_hits_json_shapes_are_read_alike() -> None:
    hits = [{"field": "title", "term": "t", "start": 0, "end": 1, "snippet": "t"}]
    assert outbox.parse_hits(json.dumps(hits))[1] is None
    assert outbox.parse_hits(json.dumps({"hits": hits, "total": 9}))[1] == 9
    assert outbox.parse_hits(None) == ((), None)


async def test_batch_load_reads_a_match_of_another_release(tmp_path: Path, db_url: str) -> None:
    store = await varied_store(tmp_path, db_url)
    try:
        alerts = await list_alerts(store.engine)
        lent = next(a for a in alerts if a.rule_id == "terror")
        borrower = next(
            a for a in alerts if a.rule_id == "nato" and a.release_id != lent.release_id
        )
        await borrow_match(store, borrower.id, lent.id)
        alerts = await list_alerts(store.engine)
        assert await outbox.load_claimed(store.engine, alerts) == await load_each(
            store.engine, alerts
        )
        alone = [a for a in alerts if a.id == borrower.id]  # the lender's release not read
        with counting(store.engine) as statements:
            loaded = await outbox.load_claimed(store.engine, alone)
        assert loaded == await load_each(store.engine, alone)
        assert loaded[0].hits[0].term == "terror"
        assert len(statements) == 2  # the batch's read, then that match's hits
    finally:
        await store.engine.dispose()
