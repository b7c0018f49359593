"""The configuration in force: the file's rules and sources and the console's.

Every instance reads the console items at start and again whenever the config generation
(``store.items``) moves; ``GenerationWatch`` polls it (one indexed one-row read) every
``WATCH_SECONDS``, well within the 10 s in which a change must reach every instance.
Polling, not PostgreSQL's LISTEN/NOTIFY: it works the same on SQLite, needs no connection
held open, and a missed notification could not leave an instance behind.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.items import Effective, merge
from monitor.config.model import Config
from monitor.store.items import generation, list_items

log = logging.getLogger("monitor.config")

WATCH_SECONDS = 2.0


async def load_effective(engine: AsyncEngine, file: Config) -> Effective:
    """``file`` with the console's items that pass the checks; notices are logged."""
    items = await list_items(engine)
    effective = merge(file, [(item.kind, item.body) for item in items])
    for notice in effective.notices():
        log.warning("%s", notice, extra={"action": "config"})
    return effective


class GenerationWatch:
    """Tells whether the console items changed since the last look."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.seen: int | None = None

    async def start(self) -> None:
        """Note the generation now: called before the items are read, so a change made
        while they are read is seen at the next look (read twice, never missed)."""
        self.seen = await generation(self.engine)

    async def changed(self) -> int | None:
        """The new generation when it moved since the last one ``applied``, else None."""
        current = await generation(self.engine)
        return None if current == self.seen else current

    def applied(self, value: int) -> None:
        """Note ``value`` as in force here (after the reload that read it)."""
        self.seen = value
