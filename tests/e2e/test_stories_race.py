"""Copies of a release arriving at the same moment still make one story and one alert per
(rule, channel): a ministry's release and its re-post under a new URL, a news agency's copy
and a wire service's edited copy, polled at once — concurrently in one process, on two
instances (two engines, two runtimes), and by three `monitor poll` processes.

The feed server answers a round's requests only once every source's request has arrived,
so the polls really overlap: each gets its feed at the same moment as the others.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from monitor.config.load import load_config
from monitor.poll_driver import poll_once
from monitor.runtime import Runtime
from monitor.store.session import open_store
from tests.conftest import ROOT
from tests.support.feeds import Item, rss, seed
from tests.support.http_server import LoopbackServer, Request, Response

ROUNDS = 8
SOURCES = ("ministry", "agency", "wire")
CHANNELS = ("console", "desk")


def _config(tmp_path: Path, db_url: str, server: LoopbackServer) -> Path:
    path = tmp_path / "monitor.yaml"
    sources = "".join(f"  - id: {s}\n    url: {server.url('/' + s)}\n" for s in SOURCES)
    path.write_text(
        # all the feeds are on one host: the politeness limit must not hold one back, or it
        # would wait for the others, which wait for it
        f"database: {db_url}\ndefaults: {{max_connections_per_host: {len(SOURCES)}}}\n"
        f"sources:\n{sources}"
        + textwrap.dedent(f"""
        rules:
          - id: nato
            query: 'الناتو'
            channels: [{", ".join(CHANNELS)}]
        channels:
          - id: console
            type: log
          - id: desk
            type: log
        """),
        encoding="utf-8",
    )
    return path


def _round_items(n: int) -> dict[str, list[Item]]:
    """Round ``n``'s release as each source publishes it: four copies of one story."""
    title, body = seed()
    # each round a different release (shuffled words share almost no 4-word shingles), and
    # each still mentions الناتو so that it raises an alert
    words = body.split()
    random.Random(n).shuffle(words)
    text = f"الناتو {n}\n\n" + " ".join(words[:300])
    edited = text.replace(words[150], "وكذلك", 1)
    moment = datetime.now(UTC)
    return {
        "ministry": [
            Item(f"m{n}", f"{title} {n}", text, f"https://ministry.example/{n}", moment),
            # the same release re-posted under a new URL
            Item(f"m{n}-again", f"{title} {n}", text, f"https://ministry.example/n/{n}", moment),
        ],
        "agency": [
            Item(
                f"a{n}",
                f"قنا | {title} {n}",
                f"الدوحة - قنا\n\n{text}",
                f"https://agency.example/{n}",
                moment,
            )
        ],
        "wire": [Item(f"w{n}", f"{title} {n}", f"وام\n\n{edited}", f"https://wire/{n}", moment)],
    }


class Feeds:
    """Each source's feed, growing by one round at a time, served together."""

    def __init__(self, server: LoopbackServer) -> None:
        self.server = server
        self.served: dict[str, list[Item]] = {s: [] for s in SOURCES}

    def next_round(self, n: int) -> None:
        barrier = threading.Barrier(len(SOURCES), timeout=15)
        for source, items in _round_items(n).items():
            self.served[source][:0] = items
            self.server.route(f"/{source}", self._together(barrier, rss(self.served[source])))

    @staticmethod
    def _together(barrier: threading.Barrier, body: bytes):  # type: ignore[no-untyped-def]
        def handler(request: Request) -> Response:
            barrier.wait()  # every source's request is in: answer them all at once
            return Response(body=body)

        return handler


async def _check(db_url: str, rounds: int) -> None:
    engine = await open_store(db_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.text("SELECT identity, story_id FROM releases"))).all()
            alerts = (
                await conn.execute(sa.text("SELECT count(*), count(DISTINCT story_id) FROM alerts"))
            ).one()
            per_channel = (
                await conn.execute(
                    sa.text("SELECT channel_id, count(*) FROM alerts GROUP BY channel_id")
                )
            ).all()
    finally:
        await engine.dispose()
    story = {identity.split(":")[-1]: story_id for identity, story_id in rows}
    for n in range(rounds):
        copies = {story[k] for k in (f"m{n}", f"m{n}-again", f"a{n}", f"w{n}")}
        assert len(copies) == 1, f"round {n}: copies in {len(copies)} stories"
    assert len(set(story.values())) == rounds
    assert tuple(alerts) == (rounds * len(CHANNELS), rounds)  # one per story and channel
    assert dict(per_channel) == dict.fromkeys(CHANNELS, rounds)


async def _poll_rounds(feeds: Feeds, runtimes: list[Runtime]) -> None:
    for n in range(ROUNDS):
        feeds.next_round(n)
        await asyncio.gather(
            *(
                poll_once(r, [source], deliver=False)
                for r, source in zip(
                    [runtimes[i % len(runtimes)] for i in range(len(SOURCES))],
                    SOURCES,
                    strict=True,
                )
            )
        )


async def test_copies_polled_concurrently_in_one_process(
    tmp_path: Path, db_url: str, http_server: LoopbackServer
) -> None:
    config = load_config(_config(tmp_path, db_url, http_server), environ_database=False)
    runtime = await Runtime.start(config)
    try:
        await _poll_rounds(Feeds(http_server), [runtime])
    finally:
        await runtime.close()
    await _check(db_url, ROUNDS)


async def test_copies_landing_on_two_instances(
    tmp_path: Path, db_url: str, http_server: LoopbackServer
) -> None:
    config = load_config(_config(tmp_path, db_url, http_server), environ_database=False)
    first = await Runtime.start(config)
    second = await Runtime.start(config)
    try:
        await _poll_rounds(Feeds(http_server), [first, second])
    finally:
        await first.close()
        await second.close()
    await _check(db_url, ROUNDS)


def test_copies_polled_by_three_processes(
    tmp_path: Path, db_url: str, http_server: LoopbackServer
) -> None:
    config = _config(tmp_path, db_url, http_server)
    command = [sys.executable, "-m", "monitor", "--config", str(config)]
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_DATABASE_URL"}
    subprocess.run([*command, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    feeds = Feeds(http_server)
    rounds = 2  # a process start costs a second or two
    for n in range(rounds):
        feeds.next_round(n)
        polls = [
            subprocess.Popen(
                [*command, "poll", "--source", source],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for source in SOURCES
        ]
        for poll in polls:
            _, errors = poll.communicate(timeout=120)
            assert poll.returncode == 0, errors
    asyncio.run(_check(db_url, rounds))
