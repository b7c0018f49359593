"""The match steps of concurrent polls, run together.

Each poll must see its releases matched before it records its success (see
``pipeline.poll_source``), and the match step is serialised. Run once per poll, a cold
start over 250 feeds makes 250 small steps, each paying its own transaction, its
serialising statement, its pending-release query and a handful of inserts. Here the polls
that ask while a step is running wait for the next one, which takes all their sources at
once in batches of up to 500 releases: fewer, larger statements, and the same guarantee —
a poll's ``step`` returns only once its releases are matched and committed.

If the shared step fails, every poll waiting on it fails with the same error; each is then
reported and its releases stay pending for the next poll, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.model import Document, RuleMatch
from monitor.store.matching import StepResult, match_pending_by_source
from monitor.store.session import PerEngine, idle

Match = Callable[[Document], Sequence[RuleMatch]]
ChannelsOf = Callable[[str], Sequence[str]]


class Known(Protocol):
    """Matches already computed, by document: a dict, or ``parse.known.WorkerMatches``."""

    def get(self, document: Document, /) -> Sequence[RuleMatch] | None: ...


@dataclass
class _Request:
    source_id: str
    known: Known
    match: Match
    channels_of: ChannelsOf
    future: asyncio.Future[StepResult]


class MatchQueue:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._waiting: list[_Request] = []
        self._task: asyncio.Task[None] | None = None

    async def step(
        self,
        source_id: str,
        match: Match,
        channels_of: ChannelsOf,
        known: Known | None = None,
    ) -> StepResult:
        """Match the pending releases of ``source_id`` (with others' if they ask meanwhile).

        ``known``: matches already computed (by a parse worker), by document.
        """
        future: asyncio.Future[StepResult] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Request(source_id, known or {}, match, channels_of, future))
        if idle(self._task):
            self._task = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                done = await self._together(batch)
            except BaseException as exc:
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for request in batch:
                if not request.future.done():
                    request.future.set_result(done.get(request.source_id, StepResult()))

    async def _together(self, batch: list[_Request]) -> dict[str, StepResult]:
        known = [request.known for request in batch]
        # every request comes from the same runtime: the latest has the current rules
        fallback, channels_of = batch[-1].match, batch[-1].channels_of

        def match(document: Document) -> Sequence[RuleMatch]:
            for each in known:
                found = each.get(document)
                if found is not None:
                    return found
            return fallback(document)

        sources = list(dict.fromkeys(request.source_id for request in batch))
        return await match_pending_by_source(self._engine, match, channels_of, source_ids=sources)


# one per engine: every poll on it waits in the same queue
match_queue = PerEngine(MatchQueue)
