"""Property (issue 18): poll the same feed twice, store nothing the second time.

Hypothesis builds an RSS feed (1 to 8 items: text in Latin and Arabic script, guids or
none, links or none, duplicates, dates or none) and serves it on loopback; one real
``monitor poll`` of it (``poll_driver.poll_once``: the claim, the parse worker, the store,
the match worker) stores what it stores. The same feed served again — a comment added,
so the body's hash differs and the whole path runs, not the unchanged-body shortcut —
stores nothing: no new release, no revision, no new match or alert, the same rows. On
SQLite and on PostgreSQL; the examples are derandomised, so the suite never flakes.
"""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config.load import load_config
from monitor.poll_driver import poll_once
from tests.e2e.test_poison_property import Poller
from tests.support.feeds import Item, rss
from tests.support.http_server import LoopbackServer, Response

CONFIG = """\
database: {database}
sources:
  - id: twice
    url: {url}
rules:
  - id: nato
    query: 'NATO OR الناتو'
    channels: [console]
channels:
  - id: console
    type: log
"""
WORDS = ["NATO", "الناتو", "talks", "وزير", "summit", "قطر", "weather", "report", "2019"]
_serial = itertools.count()


@pytest.fixture
def poller(tmp_path: Path, db_url: str, http_server: LoopbackServer) -> Iterator[Poller]:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        textwrap.dedent(CONFIG.format(database=db_url, url=http_server.url("/twice"))),
        encoding="utf-8",
    )
    poller = Poller(load_config(path, environ_database=False))
    try:
        yield poller
    finally:
        poller.close()


def _text(minimum: int) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(WORDS), min_size=minimum, max_size=6).map(" ".join)


@st.composite
def items(draw: st.DrawFn, serial: int) -> list[Item]:
    count = draw(st.integers(1, 8), label="items")
    now = datetime.now(UTC)
    found: list[Item] = []
    for n in range(count):
        same = draw(st.integers(0, n), label="guid") if n and draw(st.booleans()) else n
        found.append(
            Item(
                guid=f"e{serial}-{same}" if draw(st.booleans(), label="has guid") else "",
                title=draw(_text(1), label="title"),
                description=draw(_text(0), label="description"),
                link=f"https://m.example/{serial}/{same}" if draw(st.booleans()) else "",
                published=now - timedelta(hours=n) if draw(st.booleans()) else None,
            )
        )
    return found


_COUNTS = sa.text(
    "SELECT (SELECT count(*) FROM releases), (SELECT count(*) FROM release_revisions),"
    " (SELECT count(*) FROM matches), (SELECT count(*) FROM alerts)"
)


async def _counts(poller: Poller) -> tuple[int, ...]:
    async with poller.runtime.engine.connect() as connection:
        return tuple((await connection.execute(_COUNTS)).one())


@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_the_same_feed_polled_twice_stores_nothing_the_second_time(
    poller: Poller, http_server: LoopbackServer, data: st.DataObject
) -> None:
    feed = rss(data.draw(items(next(_serial)), label="feed"), language="ar")
    http_server.route("/twice", Response(body=feed))
    [first] = poller.run(poll_once(poller.runtime, ["twice"], deliver=False)).outcomes
    assert first.ok, first.error
    before = poller.run(_counts(poller))

    http_server.route("/twice", Response(body=feed + b"\n<!-- served again -->"))
    run = poller.run(poll_once(poller.runtime, ["twice"], deliver=False))
    [second] = run.outcomes
    assert second.ok and not second.not_modified  # the whole path ran
    assert (second.new, second.revised, run.matched.releases) == (0, 0, 0)
    assert poller.run(_counts(poller)) == before
