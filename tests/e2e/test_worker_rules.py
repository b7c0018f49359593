"""Parse workers match with the rules in force: after a reload, the workers' matches carry
the new rules' fingerprint and no match of a rule that is gone is recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from monitor.config.load import load_config
from monitor.model import Document, RuleMatch
from monitor.parse.prepare import Prepared
from monitor.poll_driver import poll_once
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


def _spy(runtime: Runtime, seen: list[Prepared]) -> None:
    prepare = runtime.pool.prepare

    async def recorded(*args):  # type: ignore[no-untyped-def]
        prepared = await prepare(*args)
        seen.append(prepared)
        return prepared

    runtime.pool.prepare = recorded  # type: ignore[method-assign]


class Counting:
    """The runtime's matcher, counting the releases the match worker matches itself."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.calls = inner, 0

    def match(self, document: Document) -> list[RuleMatch]:
        self.calls += 1
        found: list[RuleMatch] = self.inner.match(document)
        return found


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
    _spy(runtime, seen)
    try:
        runtime.matcher = here = Counting(runtime.compiled())
        first = await poll_once(runtime, ["mofa"], deliver=False)
        assert first.outcomes[0].ok and first.matched.matches == 1
        assert here.calls == 0  # the worker's hits travelled with the release
        assert seen[-1].matches is not None and seen[-1].rules_key == runtime.pool.rules_key
        old_key = runtime.pool.rules_key

        path.write_text(CONFIG.format(**fill, rule="cyber", query="السيبراني"), encoding="utf-8")
        await runtime.reload(load_config(path, environ_database=False))
        runtime.matcher = here = Counting(runtime.compiled())
        http_server.route("/feed", Response(body=_feed(["1", "2"])))
        second = await poll_once(runtime, ["mofa"], deliver=False)
        assert second.outcomes[0].ok and second.outcomes[0].new == 1
        assert second.matched.matches == 1 and here.calls == 0
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
