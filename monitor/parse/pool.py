"""Parsing off the event loop, in worker processes.

feedparser is pure Python: parsed in a thread it still holds the GIL and stalls the loop,
so bodies are parsed in a ``ProcessPoolExecutor``. One worker per core, less the one the
event loop's process keeps busy fetching and writing (on 2 cores a second worker made a
cold poll no faster and cost 70 MB). Workers start by forkserver (spawn where that is
missing), never fork: forking a parent that runs threads (the loop's executor, the HTTP
client) can copy a held lock into the child.
Bodies under ``inline_below`` bytes are parsed in a thread instead: for them pickling
the body and the result costs more than the GIL they hold.

Workers also match: the pool is given the rules (``set_rules``), each worker compiles
them once, and a prepared body comes back with the rules each release meets, keyed by
the rules' fingerprint. Matching is the largest CPU cost after parsing, and the event
loop's process is the one that also fetches and writes: moved here, it runs on every
core. New rules (a reload) start new workers; bodies already in the old ones come back
under the old key, and the caller matches those itself.

A worker that dies (killed, out of memory) breaks the pool: the pool is rebuilt and that
body gets a ``ParseError``, so one poisonous feed cannot stop the others.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from monitor.errors import ParseError
from monitor.model import ParsedFeed
from monitor.parse.feed import parse_feed
from monitor.parse.prepare import Prepared, Recipe, prepare

DateParser = Callable[[str], datetime | None]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The rules in picklable form, and a fingerprint that changes whenever they do."""

    key: str
    specs: tuple[Any, ...]  # monitor.rules.matcher.RuleSpec
    concepts: tuple[tuple[str, tuple[str, ...]], ...]

    def compile(self) -> Any:
        from monitor.rules.matcher import compile_rules

        return compile_rules(self.specs, {name: list(v) for name, v in self.concepts})


# in a worker process: the matcher of the rules the pool started it with
_worker_matcher: tuple[str, Any] | None = None


def _warm_up(rules: RuleSet | None = None) -> None:
    # import the parser and the text tools once per worker, not on its first body
    import feedparser  # noqa: F401

    import monitor.parse.identity
    import monitor.rules.normalize
    import monitor.stories  # noqa: F401

    global _worker_matcher
    if rules is not None:
        _worker_matcher = (rules.key, rules.compile())


def prepare_and_match(
    body: bytes, headers: Mapping[str, str], url: str, recipe: Recipe, now: datetime
) -> Prepared:
    """``prepare``, plus the matches when this process holds a matcher (a pool worker)."""
    return prepare(body, headers, url, recipe, now, _worker_matcher)


class ParsePool:
    """One per process. ``parse`` is safe to call from many tasks at once."""

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        inline_below: int = 2_000,
        date_parser: DateParser | None = None,
    ) -> None:
        self._max_workers = max_workers or max(1, (os.cpu_count() or 1) - 1)
        self._inline_below = inline_below
        # must be picklable (a module-level function) to reach the workers
        self._date_parser = date_parser
        self._executor: ProcessPoolExecutor | None = None
        self._rules: RuleSet | None = None

    def set_rules(self, rules: RuleSet | None) -> None:
        """The rules new workers match with; running workers keep theirs until replaced."""
        if rules == self._rules:
            return
        self._rules = rules
        if self._executor is not None:
            # bodies queued there still come back, under the old key
            self._executor.shutdown(wait=False)
            self._executor = None

    @property
    def rules_key(self) -> str | None:
        return self._rules.key if self._rules else None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            methods = multiprocessing.get_all_start_methods()
            method = "forkserver" if "forkserver" in methods else "spawn"
            self._executor = ProcessPoolExecutor(
                max_workers=self._max_workers,
                mp_context=multiprocessing.get_context(method),
                initializer=_warm_up,
                initargs=(self._rules,),
            )
        return self._executor

    async def parse(self, body: bytes, headers: Mapping[str, str], url: str) -> ParsedFeed:
        job = functools.partial(parse_feed, body, dict(headers), url, date_parser=self._date_parser)
        return await self._run(job, len(body))

    async def prepare(
        self, body: bytes, headers: Mapping[str, str], url: str, recipe: Recipe, now: datetime
    ) -> Prepared:
        """Parse, derive, fingerprint and match one body (``prepare_and_match``) off the loop."""
        return await self._run(
            functools.partial(prepare_and_match, body, dict(headers), url, recipe, now), len(body)
        )

    async def _run(self, job: Callable[[], T], size: int) -> T:
        if size < self._inline_below:
            return await asyncio.to_thread(job)
        executor = self._pool()
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, job)
        except BrokenProcessPool:
            if self._executor is executor:
                self._executor = None
                executor.shutdown(wait=False, cancel_futures=True)
            raise ParseError("the parser process died on this body") from None

    def close(self) -> None:
        """Stop the workers (waits for running parses)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
