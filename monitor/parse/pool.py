"""Parsing off the event loop, in worker processes.

feedparser is pure Python: parsed in a thread it still holds the GIL and stalls the loop,
so bodies are parsed in worker processes. One worker per core, less the one the event
loop's process keeps busy fetching and writing (on 2 cores a second worker made a cold
poll no faster and cost 70 MB). ``max_workers=0`` starts none: every body is parsed in
the parse thread, the smallest process tree at the cost of the second core.

A worker is a plain ``python -c`` child fed through its stdin and stdout (``worker``), not
a multiprocessing pool: that pool's forkserver and resource tracker are two more
interpreters (27 MB resident between them) and it pickles each message whole in memory on
both sides; here pickles stream through the pipes. Two threads per worker write its jobs
and read its results, so the event loop never blocks on a pipe.
Bodies under ``inline_below`` bytes are parsed in the one parse thread instead: for them
pickling the body and the result costs more than the GIL they hold. One thread, because a
second would only hold a second body's parse in memory while they take turns on the GIL.

Workers also match: the pool is given the rules (``set_rules``), each worker compiles
them once, and a prepared body comes back with the rules each release meets, keyed by
the rules' fingerprint. Matching is the largest CPU cost after parsing, and the event
loop's process is the one that also fetches and writes: moved here, it runs on every
core. New rules (a reload) start new workers; bodies already in the old ones come back
under the old key, and the caller matches those itself.

A worker that dies (killed, out of memory) fails the bodies it held with a ``ParseError``
and is replaced on the next body, so one poisonous feed cannot stop the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from monitor.errors import ParseError
from monitor.model import ParsedFeed
from monitor.parse.feed import parse_feed
from monitor.parse.prepare import Prepared, Recipe
from monitor.parse.worker import RuleSet, prepare_and_match

__all__ = ["ParsePool", "RuleSet", "prepare_and_match"]

DateParser = Callable[[str], datetime | None]
T = TypeVar("T")

# the worker imports from where this process does: its first message is our sys.path
_BOOT = (
    "import pickle, sys; sys.path[:] = pickle.load(sys.stdin.buffer); "
    "from monitor.parse.worker import serve; serve()"
)


class WorkerDied(Exception):
    """The worker process ended (or its pipe broke) before answering."""


class _Worker:
    """One worker process and the two threads that talk to it."""

    def __init__(self, rules: RuleSet | None) -> None:
        flags: list[str] = subprocess._args_from_interpreter_flags()  # type: ignore[attr-defined]
        self.process = subprocess.Popen(  # noqa: S603 (this interpreter, a fixed command)
            [sys.executable, *flags, "-c", _BOOT], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self.broken = False
        self._ids = itertools.count()
        self._pending: dict[int, Future[Any]] = {}
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[tuple[int, Callable[[], Any], Future[Any]] | None]
        self._jobs = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write, args=(rules,), daemon=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._writer.start()
        self._reader.start()

    @property
    def load(self) -> int:
        return len(self._pending)

    def submit(self, job: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self.broken:
                future.set_exception(WorkerDied())
                return future
            job_id = next(self._ids)
            self._pending[job_id] = future
        self._jobs.put((job_id, job, future))
        return future

    def retire(self) -> None:
        """Finish the jobs already given, then exit."""
        self._jobs.put(None)

    def close(self, timeout: float = 30.0) -> None:
        """Cancel the jobs not yet started, wait for the others, and stop the process."""
        with self._lock:
            for future in self._pending.values():
                future.cancel()  # fails for a job already written: that one runs to its end
        self.retire()
        self._writer.join(timeout)
        self._reader.join(timeout)
        if self.process.poll() is None:
            self.process.kill()
            self._reader.join()

    def _write(self, rules: RuleSet | None) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            pickle.dump(list(sys.path), stdin, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump(rules, stdin, protocol=pickle.HIGHEST_PROTOCOL)
            stdin.flush()
            while (item := self._jobs.get()) is not None:
                job_id, job, future = item
                del item
                if not future.set_running_or_notify_cancel():
                    with self._lock:
                        self._pending.pop(job_id, None)
                    continue
                pickle.dump((job_id, job), stdin, protocol=pickle.HIGHEST_PROTOCOL)
                stdin.flush()
                del job, future
        except Exception:  # a broken pipe, or a job that does not pickle: this worker is done
            self.process.kill()
        finally:
            with contextlib.suppress(OSError):
                stdin.close()

    def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            while True:
                # our own child, over a private pipe: the pickles are ours
                job_id, ok, value = pickle.load(stdout)  # noqa: S301
                with self._lock:
                    future = self._pending.pop(job_id)
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(_error(value))
                del future, value
        except Exception:  # EOF: the worker exited (or died); anything else: out of step
            self.process.kill()
        finally:
            stdout.close()
            self.process.wait()
            with self._lock:
                self.broken = True
                left, self._pending = list(self._pending.values()), {}
            for future in left:
                with contextlib.suppress(InvalidStateError):  # cancelled meanwhile
                    future.set_exception(WorkerDied())


def _error(pickled: bytes) -> BaseException:
    try:
        error = pickle.loads(pickled)  # noqa: S301 (from our own worker)
    except Exception as exc:
        return RuntimeError(f"an error from the parse worker could not be read: {exc!r}")
    return error if isinstance(error, BaseException) else RuntimeError(repr(error))


class ParsePool:
    """One per process. ``parse`` is safe to call from many tasks at once."""

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        inline_below: int = 2_000,
        date_parser: DateParser | None = None,
    ) -> None:
        if max_workers is None:
            max_workers = max(1, (os.cpu_count() or 1) - 1)
        self._max_workers = max_workers
        self._inline_below = inline_below
        # must be picklable (a module-level function) to reach the workers
        self._date_parser = date_parser
        self._workers: list[_Worker] = []
        self._thread: ThreadPoolExecutor | None = None
        self._rules: RuleSet | None = None

    def set_rules(self, rules: RuleSet | None) -> None:
        """The rules new workers match with; running workers keep theirs until replaced."""
        if rules == self._rules:
            return
        self._rules = rules
        # bodies already given to them still come back, under the old key
        for worker in self._workers:
            worker.retire()
        self._workers = []

    @property
    def rules_key(self) -> str | None:
        return self._rules.key if self._rules and self._max_workers else None

    def _worker(self) -> _Worker:
        self._workers = [w for w in self._workers if not w.broken]
        while len(self._workers) < self._max_workers:
            self._workers.append(_Worker(self._rules))
        return min(self._workers, key=lambda w: w.load)

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
        if size < self._inline_below or not self._max_workers:
            if self._thread is None:
                self._thread = ThreadPoolExecutor(1, thread_name_prefix="parse")
            return await asyncio.get_running_loop().run_in_executor(self._thread, job)
        try:
            return await asyncio.wrap_future(self._worker().submit(job))
        except WorkerDied:
            raise ParseError("the parser process died on this body") from None

    def close(self) -> None:
        """Stop the workers (waits for running parses)."""
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.close()
        if self._thread is not None:
            self._thread.shutdown(wait=True, cancel_futures=True)
            self._thread = None
