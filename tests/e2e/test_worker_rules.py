"""Parse workers match with the rules in force: after a reload, the workers' matches carry
the new rules' fingerprint and no match of a rule that is gone is recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from monitor.config.load import load_config
from monitor.parse.prepare import Prepared
from monitor.pipeline import PollContext, poll_source
from monitor.runtime import Runtime
from monitor.store.tables import MATCHES, RELEASES
from tests.support.feeds import Item, rss, seed
from tests.support.http_server import LoopbackServer, Response

CONFIG = """database: {database}
sources:
  - id: mofa
    url: {url}
rules:
  - id: {rule}
    query: '{query}'
    channels: [console]
channels:
  - id: console
    type: log
"""


def _feed(guids: list[str]) -> bytes:
    title, body = seed()
    now = datetime.now(UTC)
    return rss([Item(g, title, body, f"https://mofa.example/{g}", now) for g in guids])


def _spy(ctx: PollContext, seen: list[Prepared]) -> PollContext:
    prepare = ctx.prepare

    async def recorded(*args):  # type: ignore[no-untyped-def]
        prepared = await prepare(*args)
        seen.append(prepared)
        return prepared

    ctx.prepare = recorded
    return ctx


async def test_workers_match_with_the_reloaded_rules(
    tmp_path: Path, sqlite_url: str, http_server: LoopbackServer
) -> None:
    http_server.route("/feed", Response(body=_feed(["1"])))
    assert len(_feed(["1"])) > 2_000  # past the inline threshold: parsed by a worker
    path = tmp_path / "monitor.yaml"
    fill = {"database": sqlite_url, "url": http_server.url("/feed")}
    path.write_text(CONFIG.format(**fill, rule="nato", query="الناتو"), encoding="utf-8")
    runtime = await Runtime.start(load_config(path, environ_database=False))
    seen: list[Prepared] = []
    try:
        first = await poll_source(_spy(runtime.context(), seen), runtime.config.source("mofa"))
        assert first.ok and first.step.matches == 1
        assert seen[-1].matches is not None and seen[-1].rules_key == runtime.pool.rules_key
        old_key = runtime.pool.rules_key

        path.write_text(CONFIG.format(**fill, rule="cyber", query="السيبراني"), encoding="utf-8")
        await runtime.reload(load_config(path, environ_database=False))
        http_server.route("/feed", Response(body=_feed(["1", "2"])))
        second = await poll_source(_spy(runtime.context(), seen), runtime.config.source("mofa"))
        assert second.ok and second.new == 1 and second.step.matches == 1
        assert runtime.pool.rules_key != old_key
        assert seen[-1].rules_key == runtime.pool.rules_key  # new workers, new rules
        async with runtime.engine.connect() as connection:
            found = (
                await connection.execute(
                    sa.select(RELEASES.c.identity, MATCHES.c.rule_id)
                    .join(MATCHES, MATCHES.c.release_id == RELEASES.c.id)
                    .order_by(RELEASES.c.identity)
                )
            ).all()
        assert [tuple(r) for r in found] == [("guid:1", "nato"), ("guid:2", "cyber")]
    finally:
        await runtime.close()
