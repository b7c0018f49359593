"""What a ``monitor run`` claims on each poll tick: due sources its config knows.

Source rows outlive their config (a source removed keeps its row and its releases), so a
claim must not take a row the running config has no source for. Binding every configured
id into each claim did that at a price that grows with the config (10,000 parameters a
claim, several claims a second); the plan instead lists, once per config, the few rows it
has no source for, and each claim excludes those. A row that appears afterwards (another
instance's console source, before this one's refresh) is given back at once and excluded
from then on, until the config changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.cron import Crontab
from monitor.config.model import Config, Source
from monitor.schedule import poll_lease
from monitor.store.polls import PollState, claim_due_sources, release_sources
from monitor.store.sources import source_ids


@dataclass
class ClaimPlan:
    """The lease every claim under ``config`` takes, and the rows it has no source for
    (whether it has one is ``config.has_source``: its id lookup, where a set of every id
    was another ~4 MB at 100,000 sources)."""

    config: Config
    lease: timedelta
    stale: list[str]
    rate: float = 0.0  # polls due per second, on average, under this config


async def plan_for(engine: AsyncEngine, config: Config, known: ClaimPlan | None) -> ClaimPlan:
    """``known`` if it was made for ``config``, else a new plan (one read of the ids)."""
    if known is not None and known.config is config:
        return known
    stale = sorted(i for i in await source_ids(engine) if not config.has_source(i))
    rate = sum(1.0 / _period(config, source) for source in config.sources)
    return ClaimPlan(config, poll_lease(config), stale, rate)


def _period(config: Config, source: Source) -> float:
    """Seconds between two polls of ``source``: its interval, or its cron's next gap."""
    if source.cron:
        crontab = Crontab.parse(source.cron, config.zone_of(source))
        first = crontab.next_after(datetime.now(UTC))
        return max((crontab.next_after(first) - first).total_seconds(), 1.0)
    return max(config.interval_of(source).total_seconds(), 1.0)


AUTO_SLOTS = (32, 256)  # auto's bounds: the old fixed 32, and a bound on memory in flight
HEADROOM = 2.0  # polls come due in bursts (jitter, the tick's second), not evenly


def poll_slots(config: Config, rate: float, latency: float) -> int:
    """Polls in flight at most: the setting, or (auto) ``HEADROOM`` × ``rate`` (polls due
    a second) × ``latency`` (seconds a poll takes), within ``AUTO_SLOTS``."""
    setting = config.polling.max_concurrent
    if setting != "auto":
        return setting
    low, high = AUTO_SLOTS
    return max(low, min(high, math.ceil(HEADROOM * rate * latency)))


async def claim(
    engine: AsyncEngine, owner: str, plan: ClaimPlan, room: int
) -> tuple[list[PollState], int]:
    """Lease up to ``room`` due sources of ``plan``'s config: their states, and how many
    rows the claim took (rows the config has no source for count, and are given back)."""
    due = await claim_due_sources(engine, owner, lease=plan.lease, limit=room, exclude=plan.stale)
    known = plan.config.has_source
    strangers = [state.id for state in due if not known(state.id)]
    if strangers:
        plan.stale.extend(strangers)
        await release_sources(engine, strangers, owner)
    return [state for state in due if known(state.id)], len(due)
