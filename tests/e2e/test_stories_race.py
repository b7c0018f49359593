"""Two copies of a release arriving at the same moment still make one story: from two feeds
polled concurrently in one process, and from two instances (two engines, two runtimes)."""

from __future__ import annotations

import asyncio
import random
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from monitor.config.load import load_config
from monitor.config.model import Config
from monitor.pipeline import poll_source
from monitor.runtime import Runtime
from tests.support.feeds import Item, rss, seed
from tests.support.http_server import LoopbackServer, Response

ROUNDS = 8


def _config(tmp_path: Path, db_url: str, server: LoopbackServer) -> Config:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        textwrap.dedent(f"""
        database: {db_url}
        sources:
          - id: ministry
            url: {server.url("/ministry")}
          - id: agency
            url: {server.url("/agency")}
        rules:
          - id: nato
            query: 'الناتو'
            channels: [console]
        channels:
          - id: console
            type: log
        """),
        encoding="utf-8",
    )
    return load_config(path, environ_database=False)


def _round_items(n: int) -> tuple[Item, Item]:
    title, body = seed()
    # each round a different release (shuffled words share almost no 4-word shingles), and
    # each still mentions الناتو so that it raises an alert
    words = body.split()
    random.Random(n).shuffle(words)
    text = f"الناتو {n}\n\n" + " ".join(words[:300])
    moment = datetime.now(UTC)
    return (
        Item(f"m{n}", f"{title} {n}", text, f"https://ministry.example/{n}", moment),
        Item(
            f"a{n}",
            f"قنا | {title} {n}",
            f"الدوحة - قنا\n\n{text}",
            f"https://agency.example/{n}",
            moment,
        ),
    )


async def _check_rounds(
    db_url: str, server: LoopbackServer, first: Runtime, second: Runtime
) -> None:
    served: dict[str, list[Item]] = {"ministry": [], "agency": []}
    for n in range(ROUNDS):
        ministry, agency = _round_items(n)
        served["ministry"].insert(0, ministry)
        served["agency"].insert(0, agency)
        server.route("/ministry", Response(body=rss(served["ministry"])))
        server.route("/agency", Response(body=rss(served["agency"])))
        await asyncio.gather(
            poll_source(first.context(), first.config.source("ministry")),
            poll_source(second.context(), second.config.source("agency")),
        )
    async with first.engine.connect() as conn:
        rows = (await conn.execute(sa.text("SELECT identity, story_id FROM releases"))).all()
        alerts = (
            await conn.execute(sa.text("SELECT count(*), count(DISTINCT story_id) FROM alerts"))
        ).one()
    story = {identity.split(":")[-1]: story_id for identity, story_id in rows}
    for n in range(ROUNDS):
        assert story[f"m{n}"] == story[f"a{n}"], f"round {n}: copies in two stories"
    assert len(set(story.values())) == ROUNDS
    assert tuple(alerts) == (ROUNDS, ROUNDS)  # one alert per story


async def test_copies_polled_concurrently_in_one_process(
    tmp_path: Path, db_url: str, http_server: LoopbackServer
) -> None:
    runtime = await Runtime.start(_config(tmp_path, db_url, http_server))
    try:
        await _check_rounds(db_url, http_server, runtime, runtime)
    finally:
        await runtime.close()


async def test_copies_landing_on_two_instances(
    tmp_path: Path, db_url: str, http_server: LoopbackServer
) -> None:
    config = _config(tmp_path, db_url, http_server)
    first = await Runtime.start(config)
    second = await Runtime.start(config)
    try:
        await _check_rounds(db_url, http_server, first, second)
    finally:
        await first.close()
        await second.close()
