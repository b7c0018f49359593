"""The hits a parse worker sends on, dumped to JSON there (``model.DumpedMatch``), are
stored exactly as the hits the match step finds itself: the same matches rows, hits and
counts, whether a release was matched in a worker or in the poll's process."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from monitor.config.load import load_config
from monitor.parse.pool import ParsePool
from monitor.poll_driver import poll_once
from monitor.runtime import Runtime
from monitor.store.tables import MATCHES, RELEASES
from tests.e2e.test_worker_rules import Counting
from tests.support.feeds import Item, rss, seed
from tests.support.http_server import LoopbackServer, Response

CONFIG = """database: {database}
sources:
  - id: mofa
    url: {url}
rules:
  - id: nato
    query: 'NATO OR الناتو OR "حلف شمال الأطلسي"'
    channels: [console]
  - id: near
    query: 'summit NEAR/5 NATO'
    channels: [console]
  - id: cyber
    query: 'cyber* OR السيبراني'
    channels: [console]
channels:
  - id: console
    type: log
"""


def _feed() -> bytes:
    title, body = seed()
    now = datetime.now(UTC)
    items = [Item("ar", title, body, "https://mofa.example/ar", now)]
    for i in range(40):
        text = f"Leaders met  at the  summit, then NATO\n\tand cyber{i} talks. " * (1 + i % 7)
        repeated = "NATO " * (150 if i % 10 == 0 else 1)  # over the 100 hits kept
        items.append(Item(f"e{i}", f"NATO {i}: “summit”", text + repeated, f"https://m.e/{i}", now))
    return rss(items, language="en")


async def _stored(
    tmp_path: Path, name: str, url: str, workers: bool
) -> tuple[list[tuple[Any, ...]], int]:
    path = tmp_path / f"{name}.yaml"
    database = f"sqlite:///{tmp_path / name}.db"
    path.write_text(CONFIG.format(database=database, url=url), encoding="utf-8")
    runtime = await Runtime.start(load_config(path, environ_database=False))
    try:
        if not workers:  # parsed in the poll's process, without the rules: matched there
            runtime.pool.close()
            runtime.pool = ParsePool(max_workers=0)
        runtime.matcher = here = Counting(runtime.compiled())
        run = await poll_once(runtime, ["mofa"], deliver=False)
        assert run.outcomes[0].ok and run.outcomes[0].new == 41
        async with runtime.engine.connect() as connection:
            rows = await connection.execute(
                sa.select(
                    RELEASES.c.identity, MATCHES.c.rule_id, MATCHES.c.hits, MATCHES.c.hit_count
                )
                .join(MATCHES, MATCHES.c.release_id == RELEASES.c.id)
                .order_by(RELEASES.c.identity, MATCHES.c.rule_id)
            )
            return [tuple(r) for r in rows], here.calls
    finally:
        await runtime.close()


async def test_worker_hits_are_stored_as_the_match_step_stores_its_own(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    http_server.route("/feed", Response(body=_feed()))
    url = http_server.url("/feed")
    from_workers, calls = await _stored(tmp_path, "workers", url, workers=True)
    assert calls == 0  # every release's hits came from a worker
    matched_here, calls = await _stored(tmp_path, "here", url, workers=False)
    assert calls == 41
    assert from_workers == matched_here
    assert {rule for _, rule, _, _ in from_workers} == {"nato", "near", "cyber"}
    assert max(count for *_, count in from_workers) > 100  # a capped one among them
