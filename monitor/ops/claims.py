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

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.model import Config
from monitor.schedule import poll_lease
from monitor.store.polls import PollState, claim_due_sources, release_sources
from monitor.store.sources import source_ids


@dataclass
class ClaimPlan:
    """The lease every claim under ``config`` takes, the sources it configures, and the
    rows it has not."""

    config: Config
    lease: timedelta
    configured: frozenset[str]
    stale: list[str]


async def plan_for(engine: AsyncEngine, config: Config, known: ClaimPlan | None) -> ClaimPlan:
    """``known`` if it was made for ``config``, else a new plan (one read of the ids)."""
    if known is not None and known.config is config:
        return known
    configured = frozenset(s.id for s in config.sources)
    stale = sorted(await source_ids(engine) - configured)
    return ClaimPlan(config, poll_lease(config), configured, stale)


async def claim(
    engine: AsyncEngine, owner: str, plan: ClaimPlan, room: int
) -> tuple[list[PollState], int]:
    """Lease up to ``room`` due sources of ``plan``'s config: their states, and how many
    rows the claim took (rows the config has no source for count, and are given back)."""
    due = await claim_due_sources(engine, owner, lease=plan.lease, limit=room, exclude=plan.stale)
    strangers = [state.id for state in due if state.id not in plan.configured]
    if strangers:
        plan.stale.extend(strangers)
        await release_sources(engine, strangers, owner)
    return [state for state in due if state.id in plan.configured], len(due)
