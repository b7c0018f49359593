"""Console rules and sources in the database (migration 0013), on SQLite and PostgreSQL:
create, read, update at a version, delete; the generation every instance watches; mutes;
and every change in the audit log with its actor, before and after."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store import audit
from monitor.store.items import (
    ItemConflict,
    ItemNotFound,
    create_item,
    delete_item,
    generation,
    get_item,
    list_items,
    mute_rule,
    muted_rules,
    unmute_rule,
    update_item,
)
from monitor.store.session import open_store
from monitor.store.tables import now

RULE = {"id": "nato", "name": "NATO", "query": "الناتو OR NATO", "channels": ["console"]}
SOURCE = {"id": "mofa", "url": "https://example.org/rss", "type": "feed"}


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = await open_store(db_url)
    yield engine
    await engine.dispose()


async def test_create_read_update_delete_with_generation_and_audit(engine: AsyncEngine) -> None:
    start = await generation(engine)
    rule = await create_item(engine, "rule", RULE, actor="alice")
    source = await create_item(engine, "source", SOURCE, actor="alice")
    assert (rule.version, source.version) == (1, 1)
    assert await generation(engine) == start + 2
    assert [(i.kind, i.id) for i in await list_items(engine)] == [
        ("rule", "nato"),
        ("source", "mofa"),
    ]
    assert [i.id for i in await list_items(engine, "source")] == ["mofa"]
    stored = await get_item(engine, "rule", "nato")
    assert stored is not None and stored.body == RULE  # Arabic kept as it was written

    changed = await update_item(
        engine, "rule", "nato", {**RULE, "query": "NATO"}, version=1, actor="bob"
    )
    assert (changed.version, changed.updated_by, changed.created_by) == (2, "bob", "alice")
    assert await generation(engine) == start + 3

    removed = await delete_item(engine, "source", "mofa", actor="carol")
    assert removed.body == SOURCE
    assert await get_item(engine, "source", "mofa") is None
    assert await generation(engine) == start + 4

    entries = (await audit.entries(engine)).items
    assert [(e.action, e.target, e.actor) for e in entries] == [
        ("source.delete", "mofa", "carol"),
        ("rule.update", "nato", "bob"),
        ("source.create", "mofa", "alice"),
        ("rule.create", "nato", "alice"),
    ]
    assert entries[1].before == RULE and entries[1].after == {**RULE, "query": "NATO"}
    assert entries[0].before == SOURCE and entries[0].after is None


async def test_the_second_writer_of_a_version_gets_a_conflict(engine: AsyncEngine) -> None:
    await create_item(engine, "rule", RULE, actor="alice")
    with pytest.raises(ItemConflict):
        await create_item(engine, "rule", RULE, actor="bob")  # the id is taken
    # two editors read version 1 and save at once: one wins, the other is told, nothing lost
    outcomes = await asyncio.gather(
        update_item(engine, "rule", "nato", {**RULE, "name": "A"}, version=1, actor="alice"),
        update_item(engine, "rule", "nato", {**RULE, "name": "B"}, version=1, actor="bob"),
        return_exceptions=True,
    )
    conflicts = [o for o in outcomes if isinstance(o, ItemConflict)]
    saved = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(conflicts) == 1 and len(saved) == 1
    assert "version 2" in conflicts[0].message and "read it again" in conflicts[0].message
    stored = await get_item(engine, "rule", "nato")
    assert stored is not None and stored.body["name"] == saved[0].body["name"]
    with pytest.raises(ItemConflict):
        await delete_item(engine, "rule", "nato", actor="carol", version=1)
    with pytest.raises(ItemNotFound):
        await update_item(engine, "rule", "gone", RULE, version=1, actor="alice")
    with pytest.raises(ItemNotFound):
        await delete_item(engine, "source", "gone", actor="alice")


async def test_the_audit_log_keeps_no_credentials(engine: AsyncEngine) -> None:
    secret = "s3cret-pa55"
    body = {"id": "locked", "url": f"https://desk:{secret}@example.org/rss", "proxy": "none"}
    await create_item(engine, "source", body, actor="alice")
    await update_item(engine, "source", "locked", {**body, "language": "ar"}, version=1, actor="a")
    stored = await get_item(engine, "source", "locked")
    assert stored is not None and secret in stored.body["url"]  # the fetcher needs it
    for entry in (await audit.entries(engine)).items:
        assert secret not in repr((entry.before, entry.after))
        assert "***@example.org" in repr(entry.after)


async def test_mutes_end_and_are_audited(engine: AsyncEngine) -> None:
    until = now() + timedelta(hours=1)
    await mute_rule(engine, "nato", until, actor="alice")
    muted = await muted_rules(engine)
    assert list(muted) == ["nato"] and abs(muted["nato"] - until) < timedelta(seconds=1)
    assert await muted_rules(engine, until + timedelta(seconds=1)) == {}  # over by then
    later = until + timedelta(days=1)
    await mute_rule(engine, "nato", later, actor="bob")  # replaces the mute in force
    assert abs((await muted_rules(engine))["nato"] - later) < timedelta(seconds=1)
    assert await unmute_rule(engine, "nato", actor="carol") is True
    assert await unmute_rule(engine, "nato", actor="carol") is False
    assert await muted_rules(engine) == {}
    actions = [(e.action, e.actor) for e in (await audit.entries(engine)).items]
    assert actions == [("rule.unmute", "carol"), ("rule.mute", "bob"), ("rule.mute", "alice")]
