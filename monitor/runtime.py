"""Assembling the parts a poll or the daemon needs from a config, and taking them down.

One ``httpx.AsyncClient`` per event loop and route (fetches and webhooks going directly
share one pool; each egress proxy has its own), one parse pool, one engine, the compiled
matcher and the channels. ``Runtime.reload`` compiles a new matcher and channel set and
swaps them in.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.items import Effective
from monitor.config.model import Config
from monitor.delivery import Deliverer, build_channels
from monitor.fetch import Fetcher
from monitor.http_client import Clients
from monitor.live_config import GenerationWatch, load_effective
from monitor.match_worker import MatchWorker
from monitor.parse.pool import ParsePool, RuleSet
from monitor.pipeline import PollContext
from monitor.render import Browser
from monitor.store.session import open_store
from monitor.store.sources import sync_sources


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def rule_set(config: Config) -> RuleSet:
    """The config's rules in the picklable form the parse workers compile."""
    from monitor.rules.matcher import RuleSpec

    specs = tuple(
        RuleSpec(r.id, r.display_name, r.query, tuple(r.sources), tuple(r.languages))
        for r in config.rules
    )
    concepts = tuple((name, tuple(entries)) for name, entries in config.concepts.items())
    key = hashlib.sha256(repr((specs, concepts)).encode("utf-8")).hexdigest()[:16]
    return RuleSet(key, specs, concepts)


def compile_matcher(config: Config) -> Any:
    return rule_set(config).compile()


def new_fetcher(clients: Clients, config: Config, browser: Browser) -> Fetcher:
    """The politeness limits: the defaults', and each source's own for its host."""
    return Fetcher(
        clients, config.defaults.max_connections_per_host, host_limits(config), browser=browser
    )


def host_limits(config: Config) -> tuple[tuple[str, int], ...]:
    return tuple((s.url, config.settings_of(s).max_connections_per_host) for s in config.sources)


@dataclass
class Runtime:
    config: Config
    engine: AsyncEngine
    clients: Clients
    pool: ParsePool
    matcher: Any  # None until first needed: a poll where nothing changed never compiles it
    deliverer: Deliverer
    owner: str
    # one for the life of the runtime: its per-host semaphores are the politeness limit,
    # so every poll must share it (a Fetcher per poll would limit nothing)
    fetcher: Fetcher
    # ``config`` is the effective one: the file's (``file_config``) and the console's items
    effective: Effective
    watch: GenerationWatch

    @property
    def file_config(self) -> Config:
        return self.effective.file

    # matches what the polls save, with the rules in force at each run
    match_worker: MatchWorker = field(init=False)

    def __post_init__(self) -> None:
        self.match_worker = MatchWorker(
            self.engine,
            lambda document: self.compiled().match(document),
            self.channels_of,
            lambda: self.pool.rules_key,
        )

    @classmethod
    async def start(cls, config: Config) -> Runtime:
        engine = await open_store(config.database)
        try:
            watch = GenerationWatch(engine)
            await watch.start()
            effective = await load_effective(engine, config)
        except BaseException:
            await engine.dispose()
            raise
        config = effective.config
        await sync_sources(engine, config)
        clients = Clients(follow_redirects=False)
        owner = instance_name()
        channels = build_channels(config, clients)
        pool = ParsePool()
        pool.set_rules(rule_set(config))
        return cls(
            config=config,
            engine=engine,
            clients=clients,
            pool=pool,
            matcher=None,
            deliverer=Deliverer(engine, config, channels, owner),
            owner=owner,
            # the one browser of render: browser sources, started by the first of them
            fetcher=new_fetcher(clients, config, Browser()),
            effective=effective,
            watch=watch,
        )

    def context(
        self,
        *,
        no_alerts: bool = False,
        backfill: timedelta | None = None,
        no_flood_guard: bool = False,
    ) -> PollContext:
        return PollContext(
            engine=self.engine,
            config=self.config,
            fetcher=self.fetcher,
            prepare=self.pool.prepare,
            matcher=self.match_worker,
            owner=self.owner,
            no_alerts=no_alerts,
            backfill=backfill,
            no_flood_guard=no_flood_guard,
            channels=self.deliverer.channels,
        )

    def channels_of(self, rule_id: str) -> Sequence[str]:
        """The channels of a rule of the current config (none once it is gone)."""
        rule = next((r for r in self.config.rules if r.id == rule_id), None)
        return rule.channels if rule else ()

    def compiled(self) -> Any:
        """The matcher of the current rules, compiled now if it was not yet."""
        if self.matcher is None:
            self.matcher = compile_matcher(self.config)
        return self.matcher

    async def refresh(self) -> bool:
        """Reload when the console items changed (on any instance); True if it did."""
        moved = await self.watch.changed()
        if moved is None:
            return False
        await self.reload(self.file_config)
        self.watch.applied(moved)  # after: a reload that failed is tried again
        return True

    async def reload(self, file: Config) -> None:
        """Swap in a new config (a file's, with the console items read again): matcher and
        channels first compiled, then assigned together, so a release is matched by the
        old rule set or the new one, never a mixture."""
        effective = await load_effective(self.engine, file)
        config = effective.config
        matcher = compile_matcher(config)
        channels = build_channels(config, self.clients)
        await sync_sources(self.engine, config)
        if (
            config.defaults.max_connections_per_host
            != self.config.defaults.max_connections_per_host
            or host_limits(config) != host_limits(self.config)
        ):
            self.fetcher = new_fetcher(self.clients, config, self.browser)
        # one assignment each, no await between them: the next match run and the next body
        # prepared see the new rules whole
        self.config, self.matcher, self.effective = config, matcher, effective
        self.pool.set_rules(rule_set(config))
        observe = self.deliverer.observe
        self.deliverer = Deliverer(self.engine, config, channels, self.owner)
        self.deliverer.observe = observe

    @property
    def browser(self) -> Browser:
        browser = self.fetcher.browser  # the fetcher knows it only as a PageBrowser
        assert isinstance(browser, Browser)
        return browser

    async def close(self) -> None:
        matching = self.match_worker.task
        if matching is not None and not matching.done():  # its releases would stay pending
            await asyncio.wait([matching])
        await self.browser.close()
        self.pool.close()
        await self.clients.aclose()
        await self.engine.dispose()
