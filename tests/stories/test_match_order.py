"""The match step takes the releases that may alert before a backlog of baselines (issue
23): a new deployment's first polls leave hundreds of thousands of baseline releases to
match, and a new release's alert must not wait for all of them. Taking them out of order
changes no story and no alert, and matches every release once. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from monitor.store.matching import match_batch
from monitor.store.tables import RELEASES
from tests.conftest import Engines
from tests.stories.desk import CHANNELS, MATCHER, SOURCES, Desk, Post, channels_of
from tests.stories.test_story_alerts import AGENCY, REPOST, SEED, by, carried
from tests.support.store import store_with_sources

BACKLOG = 300


@pytest.fixture
async def desk(db_url: str, engines: Engines) -> AsyncIterator[Desk]:
    engine = engines.adopt(await store_with_sources(db_url, SOURCES, datetime.now(UTC)))
    yield Desk(engine)


async def _pending(desk: Desk) -> int:
    async with desk.engine.connect() as connection:
        query = sa.select(sa.func.count()).where(
            RELEASES.c.matched_hash.is_distinct_from(RELEASES.c.content_hash)
        )
        return int((await connection.execute(query)).scalar_one())


async def test_a_new_release_is_alerted_before_the_baseline_backlog_is_drained(
    desk: Desk,
) -> None:
    baselines = [
        Post(SOURCES[n % 2], f"old-{n}", f"بيان الوزارة رقم {n} حول حلف شمال الأطلسي")
        for n in range(BACKLOG)
    ]
    await desk.save(baselines, alertable=False)
    nato = Post("qna-ar", "new-nato", "الناتو يعقد اجتماعا اليوم", "NATO")
    await desk.save([nato])  # the last to arrive

    # the first batch of 50: the new release, and 49 of the backlog
    step = await match_batch(desk.engine, MATCHER.match, channels_of, batch=50)
    assert (step.releases, step.alerts) == (50, len(CHANNELS["nato"]))
    assert {(a.rule, a.identity) for a in await desk.alerts()} == {("nato", "new-nato")}
    assert await _pending(desk) == BACKLOG + 1 - 50

    # the rest: every baseline matched (they all name NATO), none alerted
    step = await desk.step(batch=50)
    assert (step.releases, step.matches, step.alerts) == (BACKLOG - 49, BACKLOG - 49, 0)
    assert await _pending(desk) == 0
    async with desk.engine.connect() as connection:
        matches = await connection.execute(
            sa.text("SELECT count(*), count(DISTINCT release_id) FROM matches")
        )
        assert matches.one() == (BACKLOG + 1, BACKLOG + 1)  # each release matched once


@pytest.mark.parametrize("batch", [1, 500])
async def test_a_copy_matched_before_its_pending_baseline_original_shares_its_story(
    desk: Desk, batch: int
) -> None:
    # the seed stands at baseline but is not matched yet when its re-post and the agency's
    # copy arrive: they are matched first, and the seed joins their story afterwards
    await desk.save([SEED], alertable=False)
    await desk.save([REPOST, AGENCY])
    while (await desk.step(batch=batch)).releases:
        pass
    stories = await desk.stories()
    assert stories[SEED.identity] == stories[REPOST.identity] == stories[AGENCY.identity]
    # as in arrival order: the re-post alerts once per rule and channel, its copy not again
    assert carried(await desk.alerts()) == by(REPOST)
    assert await _pending(desk) == 0
