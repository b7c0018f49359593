"""The flood guard: a poll that yields too many alertable releases sends one notice per
channel instead of an alert for each.

A site migration that changes every link makes every release of a ministry new at once;
alerted one by one, 43,194 of them reached a webhook in one poll. When one poll of a source
stores more alertable releases (new, or revised and still alertable) than its
``max_alerts_per_poll`` (default 50, in ``defaults`` or per source), all of them are stored,
matched and searchable, none raises an alert, and each channel of the rules that watch the
source gets one notice::

    mofa-qa: 43,194 new releases in one poll; not alerted one by one — see
    `monitor releases --source mofa-qa`

The hold and the notices are written in the transaction that stores the releases
(``FloodGuard`` is ``store_releases``'s ``then``; once over the limit, the poll's next
releases are inserted held, ``store_batches``'s ``hold_over``), so a crash can lose
neither; the notices are sent by ``ops.alarms.send_floods`` (leased, once per channel, a stable id).
Exactly the limit alerts as usual; ``poll --no-flood-guard`` lifts the guard for one run.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.config.model import Config, Source
from monitor.ops.alarms import record_flood
from monitor.store.items import muted_rules
from monitor.store.releases import Stored, hold_alerts


def limit_of(config: Config, source: Source) -> int:
    return source.max_alerts_per_poll or config.defaults.max_alerts_per_poll


def channels_watching(config: Config, source: Source, muted: Collection[str] = ()) -> list[str]:
    """The channels of the rules that apply to ``source`` and are not ``muted``, in the
    config's order: a muted rule sends nothing, a flood notice included."""
    wanted = {
        c
        for r in config.rules
        if (not r.sources or source.id in r.sources) and r.id not in muted
        for c in r.channels
    }
    return [c.id for c in config.channels if c.id in wanted]


def notice(source: Source, new: int, revised: int) -> str:
    """The one line each channel is told."""
    what = (
        f"{new + revised:,} new releases"
        if not revised
        else (f"{new + revised:,} new or revised releases")
    )
    return (
        f"{source.id}: {what} in one poll; not alerted one by one — "
        f"see `monitor releases --source {source.id}`"
    )


class FloodGuard:
    """``store_releases``'s ``then``: over the limit, the alertable releases just written
    are held back and one notice per channel recorded, in the same transaction."""

    def __init__(self, config: Config, source: Source, moment: datetime) -> None:
        self.config = config
        self.source = source
        self.moment = moment
        self.limit = limit_of(config, source)
        self.held = 0  # releases whose alerts were held back

    async def __call__(self, connection: AsyncConnection, stored: Stored) -> None:
        # ``held``: written not alertable already, the poll being over the limit by then
        # (``store_batches``'s ``hold_over``); the ones saved before are held here
        alertable = [s for s in stored.saved if s.alertable or s.held]
        if len(alertable) <= self.limit:
            return
        await hold_alerts(connection, [s.id for s in alertable if s.alertable])
        new = sum(1 for s in alertable if s.revision == 1)
        detail = notice(self.source, new, len(alertable) - new)
        muted = await muted_rules(connection, self.moment)
        channels = channels_watching(self.config, self.source, muted)
        await record_flood(connection, self.source.id, detail, channels, self.moment)
        self.held = len(alertable)
