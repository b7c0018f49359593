"""Parsing off the event loop, in a ``concurrent.futures.ProcessPoolExecutor``.

feedparser is pure Python: parsed in a thread it still holds the GIL and stalls the loop,
so bodies are parsed in worker processes. One worker per core, less the one the event
loop's process keeps busy fetching and writing (on 2 cores a second worker made a cold
poll no faster and cost 70 MB). ``max_workers=0`` starts none: every body is parsed in
the parse thread, the smallest process tree at the cost of the second core.

Workers are started with ``spawn``: a fresh interpreter that imports only the parse stack
(``worker.warm_up``), never a fork of this process with its event loop, threads and
database connections. Bodies under ``inline_below`` bytes are parsed in the one parse
thread instead: for them pickling the body and the result costs more than the GIL they
hold. One thread, because a second would only hold a second body's parse in memory while
they take turns on the GIL.

Workers also match: the pool's initializer compiles the rules (``set_rules``) once per
worker, and a prepared body comes back with the rules each release meets, under the
rules' fingerprint. New rules (a reload) start a new executor in one assignment, so a body
is prepared with the old rules or the new ones, never a mix; bodies already in the old
executor come back under the old key, and the caller matches those itself.

A body that grows a worker by more than ``worker.RETIRE_GROWTH`` (one item of megabytes
of text; a flood of tens of thousands of items) retires it once its answer is in: its
executor is shut down, the worker exits, and the next body starts a new one. Under glibc's
default malloc settings the worker would otherwise hold that heap, idle, while the poll
stores and matches what it prepared (76 MB after the 9.5 MB Arabic item of issue 22,
at the poll's peak). A feed of ordinary items never pays for a new worker.

A worker that dies (killed, out of memory) breaks its executor: the bodies it held fail
with a ``ParseError``, the executor is replaced on the next body, and bodies that were
merely waiting in the broken one are tried once more in the new one — one poisonous feed
cannot stop the others.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import TypeVar

from monitor.errors import ParseError
from monitor.model import ParsedFeed
from monitor.parse.feed import parse_feed
from monitor.parse.prepare import Prepared, Recipe
from monitor.parse.worker import (
    RETIRE_GROWTH,
    RuleSet,
    prepare_and_match,
    prepare_in_worker,
    warm_up,
)

__all__ = ["ParsePool", "RuleSet", "prepare_and_match"]

DateParser = Callable[[str], datetime | None]
T = TypeVar("T")


class ParsePool:
    """One per process. ``parse`` and ``prepare`` are safe to call from many tasks at once."""

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        inline_below: int = 2_000,
        date_parser: DateParser | None = None,
        retire_growth: int = RETIRE_GROWTH,
    ) -> None:
        if max_workers is None:
            max_workers = max(1, (os.cpu_count() or 1) - 1)
        self._max_workers = max_workers
        self._inline_below = inline_below
        self._retire_growth = retire_growth
        # must be picklable (a module-level function) to reach the workers
        self._date_parser = date_parser
        self._rules: RuleSet | None = None
        self._executor: ProcessPoolExecutor | None = None
        self._thread: ThreadPoolExecutor | None = None

    def set_rules(self, rules: RuleSet | None) -> None:
        """The rules the workers match with from now on (the next body starts them)."""
        if rules == self._rules:
            return
        self._rules = rules
        old, self._executor = self._executor, None
        if old is not None:  # bodies already given to it still come back, under the old key
            old.shutdown(wait=False)

    @property
    def rules_key(self) -> str | None:
        return self._rules.key if self._rules and self._max_workers else None

    def _processes(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self._max_workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=warm_up,
                initargs=(os.getpid(), self._rules, self._retire_growth),
            )
        return self._executor

    async def parse(self, body: bytes, headers: Mapping[str, str], url: str) -> ParsedFeed:
        job = functools.partial(parse_feed, body, dict(headers), url, date_parser=self._date_parser)
        return await self._run(job, len(body))

    async def prepare(
        self, body: bytes, headers: Mapping[str, str], url: str, recipe: Recipe, now: datetime
    ) -> Prepared:
        """Parse, derive, fingerprint and match one body (``prepare_and_match``) off the loop."""
        job = functools.partial(prepare_in_worker, body, dict(headers), url, recipe, now)
        prepared, _ = await self._run(job, len(body), retire=lambda done: done[1])
        return prepared

    async def _run(
        self, job: Callable[[], T], size: int, retire: Callable[[T], bool] | None = None
    ) -> T:
        """``job`` in the parse thread or a worker; ``retire``: whether its answer asks to
        retire the worker that gave it."""
        loop = asyncio.get_running_loop()
        if size < self._inline_below or not self._max_workers:
            if self._thread is None:
                self._thread = ThreadPoolExecutor(1, thread_name_prefix="parse")
            return await loop.run_in_executor(self._thread, job)
        for attempt in range(2):
            executor = self._processes()
            try:
                done = await loop.run_in_executor(executor, job)
                if retire is not None and retire(done):
                    self._retire(executor)
                return done
            except BrokenProcessPool:
                if self._executor is executor:
                    self._executor = None
                    executor.shutdown(wait=False)
                if attempt:  # died twice: this body is the poisonous one
                    break
        raise ParseError("the parser process died on this body")

    def _retire(self, executor: ProcessPoolExecutor) -> None:
        """Let ``executor``'s workers go: bodies given to it already still come back (as
        after ``set_rules``), and the next body starts a new one."""
        if self._executor is executor:
            self._executor = None
        executor.shutdown(wait=False)

    def close(self) -> None:
        """Stop the workers (waits for running parses)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        if self._thread is not None:
            self._thread.shutdown(wait=True, cancel_futures=True)
            self._thread = None
