"""A muted rule still matches and records; its alerts are recorded as ``muted`` and never
sent. Unmuted, the next release alerts again. (Both databases; a real poll and a real
webhook receiver on loopback.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from monitor.config.model import Config
from monitor.poll_driver import poll_once
from monitor.store.items import mute_rule, unmute_rule
from monitor.store.session import open_store
from monitor.store.tables import ALERTS, MATCHES, now
from tests.support.feeds import Item, rss, seed
from tests.support.http_server import LoopbackServer, Response

OTHER = (
    "وزير الدفاع يشارك في اجتماع الناتو في بروكسل",
    "شارك وزير الدفاع اليوم في اجتماع وزراء دفاع دول حلف الناتو والشركاء في بروكسل، "
    "وبحث الاجتماع التعاون في مجالات التدريب والأمن البحري ومكافحة القرصنة.",
)


def _feed(second: bool = False) -> bytes:
    title, body = seed()
    moment = datetime.now(UTC)
    items = [Item("1", title, body, "https://mofa.example/1", moment)]
    if second:  # another story: a copy of the first would share its (muted) alert
        items.append(Item("2", OTHER[0], OTHER[1], "https://mofa.example/2", moment))
    return rss(items)


async def test_a_muted_rule_records_and_sends_nothing(
    db_url: str, http_server: LoopbackServer
) -> None:
    http_server.route("/feed", Response(body=_feed()))
    http_server.route("/hook", Response(200, b"ok"))
    config = Config.model_validate(
        {
            "database": db_url,
            "sources": [{"id": "mofa", "url": http_server.url("/feed")}],
            "rules": [{"id": "nato", "query": "الناتو", "channels": ["hook"]}],
            "channels": [{"id": "hook", "type": "webhook", "url": http_server.url("/hook")}],
        }
    )
    engine = await open_store(db_url)
    try:
        await mute_rule(engine, "nato", now() + timedelta(hours=1), actor="eve")
        run = await poll_once(config, ["mofa"], False, None)
        assert run.outcomes[0].ok and run.matched.matches == 1
        assert http_server.requests_to("/hook") == []
        async with engine.connect() as connection:
            statuses = (await connection.execute(sa.select(ALERTS.c.status))).scalars().all()
            matches = (await connection.execute(sa.select(sa.func.count(MATCHES.c.id)))).scalar()
        assert statuses == ["muted"] and matches == 1

        await unmute_rule(engine, "nato", actor="eve")
        http_server.route("/feed", Response(body=_feed(second=True)))
        await poll_once(config, ["mofa"], False, None)
        assert len(http_server.requests_to("/hook")) == 1  # the new release only
        async with engine.connect() as connection:
            rows = (await connection.execute(sa.select(ALERTS.c.status))).scalars().all()
        assert sorted(rows) == ["muted", "sent"]
    finally:
        await engine.dispose()
