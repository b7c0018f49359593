"""The alerts as the CLI and the console read them (``store.reads``) and the CLI's id
prefixes (``store.queries``): filters, paging, one alert in full (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from monitor.config.model import Config
from monitor.store import queries, reads
from monitor.store.tables import ALERTS, MATCHES, RELEASES, STORIES
from tests.conftest import Engines
from tests.support.store import store_with_sources

AT = datetime(2019, 3, 13, 10, 0, tzinfo=UTC)
IDS = [
    "63a576ae" + "0" * 24,
    "63a576af" + "1" * 24,
    "63a576af" + "2" * 24,
    "c0ffee00" + "3" * 24,
]


async def _store(db_url: str) -> sa.ext.asyncio.AsyncEngine:
    engine = await store_with_sources(db_url, ["mofa"], AT)
    async with engine.begin() as connection:
        await connection.execute(sa.insert(STORIES), [{"id": 1, "created_at": AT}])
        await connection.execute(
            sa.insert(RELEASES),
            [
                {
                    "id": n,
                    "source_id": "mofa",
                    "identity": f"r{n}",
                    "story_id": 1,
                    "url": f"https://mofa.example/{n}",
                    "title": f"release {n}",
                    "summary": "",
                    "content": "",
                    "content_hash": f"h{n}",
                    "first_seen_at": AT,
                    "updated_at": AT,
                }
                for n in (1, 2)
            ],
        )
        await connection.execute(
            sa.insert(MATCHES),
            [
                {
                    "id": 1,
                    "rule_id": "nato",
                    "release_id": 1,
                    "story_id": 1,
                    "hits": '[{"field": "title", "term": "NATO", "start": 0, "end": 4, '
                    '"snippet": "NATO meets"}]',
                    "matched_at": AT,
                }
            ],
        )
        await connection.execute(
            sa.insert(ALERTS),
            [
                {
                    "id": alert_id,
                    "rule_id": ("nato", "cyber", "nato", "cyber")[i],
                    "story_id": 1,
                    "channel_id": ("ops", "ops", "hook", "hook")[i],
                    "release_id": 1 if i != 3 else 2,
                    "match_id": 1 if i == 0 else None,
                    "status": ("sent", "failed", "dead", "pending")[i],
                    "attempts": i,
                    "last_error": "HTTP 500" if i == 1 else None,
                    "created_at": AT + timedelta(hours=i),
                }
                for i, alert_id in enumerate(IDS)
            ],
        )
    return engine


async def test_an_id_or_a_unique_prefix_of_six_names_an_alert(
    db_url: str, engines: Engines
) -> None:
    engine = engines.adopt(await _store(db_url))
    assert await queries.resolve_alert_id(engine, IDS[1]) == IDS[1]
    assert await queries.resolve_alert_id(engine, "63a576ae") == IDS[0]
    assert await queries.resolve_alert_id(engine, "C0FFEE") == IDS[3]
    problems = {
        "63a576": f"alert id '63a576' is ambiguous: it matches {IDS[0]}, {IDS[1]}, {IDS[2]}",
        "63a57": "alert id '63a57' is too short: give at least 6 characters",
        "ffffff": "no alert 'ffffff'",
        "63a5%_": "no alert '63a5%_'",  # LIKE's wildcards are plain characters
    }
    for given, message in problems.items():
        with pytest.raises(queries.IdLookupError) as raised:
            await queries.resolve_alert_id(engine, given)
        assert raised.value.message == message


async def test_the_delivery_log_filters_and_orders_newest_first(
    db_url: str, engines: Engines
) -> None:
    engine = engines.adopt(await _store(db_url))
    everything = (await reads.alert_page(engine)).items
    assert [a.id for a in everything] == IDS[::-1]
    assert everything[0].title == "release 2" and everything[0].source == "mofa"
    assert everything[-1].url == "https://mofa.example/1"

    async def ids(**filters: object) -> list[str]:
        return [a.id for a in (await reads.alert_page(engine, **filters)).items]  # type: ignore[arg-type]

    assert await ids(status="failed") == [IDS[1]]
    assert await ids(rule="nato") == [IDS[2], IDS[0]]
    assert await ids(channel="hook", rule="cyber") == [IDS[3]]
    assert await ids(since=AT + timedelta(hours=2)) == [IDS[3], IDS[2]]
    assert await ids(limit=1) == [IDS[3]]
    first = await reads.alert_page(engine, limit=3)
    rest = await reads.alert_page(engine, limit=3, cursor=first.next)
    assert [a.id for a in (*first.items, *rest.items)] == IDS[::-1] and rest.next is None


async def test_alert_detail_has_the_release_and_its_hits(db_url: str, engines: Engines) -> None:
    engine = engines.adopt(await _store(db_url))
    detail = await reads.alert_detail(engine, Config(), IDS[0])
    assert detail is not None and detail.title == "release 1"
    assert [(h.field, h.term, h.snippet) for h in detail.hits] == [("title", "NATO", "NATO meets")]
    assert detail.hit_total == 1
    assert [(c.source, c.url) for c in detail.copies] == [("mofa", "https://mofa.example/2")]
    assert await reads.alert_detail(engine, Config(), "f" * 32) is None
