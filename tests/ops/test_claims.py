"""The daemon's claims (``ops.claims``), on SQLite and PostgreSQL: due sources of the
running config only, without binding every configured id into each claim."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.model import Config, Polling
from monitor.ops.claims import AUTO_SLOTS, claim, plan_for, poll_slots
from monitor.store.tables import SOURCES
from tests.ops.conftest import T0, add_source


def _config(*ids: str) -> Config:
    return Config(sources=[{"id": i, "url": f"https://{i}.example/rss"} for i in ids])


async def _leased(engine: AsyncEngine) -> dict[str, str | None]:
    async with engine.connect() as connection:
        rows = await connection.execute(sa.select(SOURCES.c.id, SOURCES.c.lease_owner))
        return {source_id: owner for source_id, owner in rows.all()}


async def test_a_row_the_config_no_longer_has_is_never_claimed(engine: AsyncEngine) -> None:
    for source_id in ("kept", "other", "removed"):
        await add_source(engine, source_id, next_poll_at=T0)
    config = _config("kept", "other")
    plan = await plan_for(engine, config, None)
    assert plan.stale == ["removed"]
    assert await plan_for(engine, config, plan) is plan  # worked out once per config

    due, taken = await claim(engine, "me", plan, 10)

    assert sorted(state.id for state in due) == ["kept", "other"] and taken == 2
    assert await _leased(engine) == {"kept": "me", "other": "me", "removed": None}


async def test_a_row_newer_than_the_plan_is_given_back_and_left_alone(
    engine: AsyncEngine,
) -> None:
    await add_source(engine, "kept", next_poll_at=T0)
    plan = await plan_for(engine, _config("kept"), None)
    # another instance's console source, saved after this plan was made
    await add_source(engine, "newer", next_poll_at=T0)

    due, taken = await claim(engine, "me", plan, 10)

    assert [state.id for state in due] == ["kept"] and taken == 2  # the caller claims again
    assert (await _leased(engine))["newer"] is None  # given back, due for whoever knows it
    assert plan.stale == ["newer"]
    again, taken = await claim(engine, "me", plan, 10)
    assert again == [] and taken == 0
    # the plan for a config that has it claims it
    fresh = await plan_for(engine, _config("kept", "newer"), plan)
    assert [state.id for state in (await claim(engine, "me", fresh, 10))[0]] == ["newer"]
    assert fresh.lease >= timedelta(seconds=30)


async def test_the_plan_knows_how_many_polls_fall_due_a_second(engine: AsyncEngine) -> None:
    config = Config(
        defaults={"interval": "1m"},
        sources=[
            *({"id": f"s{i}", "url": f"https://s{i}.example/rss"} for i in range(30)),
            {"id": "slow", "url": "https://slow.example/rss", "interval": "10m"},
            {"id": "hourly", "url": "https://hourly.example/rss", "cron": "0 * * * *"},
        ],
    )
    plan = await plan_for(engine, config, None)
    assert abs(plan.rate - (30 / 60 + 1 / 600 + 1 / 3600)) < 1e-9


def test_auto_slots_follow_the_due_rate_and_the_time_a_poll_takes() -> None:
    auto = _config("a")
    low, high = AUTO_SLOTS
    assert poll_slots(auto, rate=33.3, latency=0.0) == low  # nothing measured yet
    assert poll_slots(auto, rate=33.3, latency=0.005) == low  # loopback: a few ms a poll
    # 100,000 sources at 10 minutes, real ministries answering in ~200 ms
    assert poll_slots(auto, rate=167.0, latency=0.2) == 67
    assert poll_slots(auto, rate=10_000.0, latency=1.0) == high
    fixed = auto.model_copy(update={"polling": Polling(max_concurrent=5)})
    assert poll_slots(fixed, rate=167.0, latency=0.2) == 5


def test_max_concurrent_is_auto_or_a_positive_number() -> None:
    assert Config().polling.max_concurrent == "auto"
    assert Config(polling={"max_concurrent": 64}).polling.max_concurrent == 64
    for wrong in (0, -1, "many"):
        with pytest.raises(ValidationError):
            Config(polling={"max_concurrent": wrong})
