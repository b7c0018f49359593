"""The parse worker process: reads jobs from its stdin, writes their results to its stdout.

``pool.ParsePool`` starts it as ``python -c "...worker import serve; serve()"``. The first
message is the parent's ``sys.path`` (read before this module is imported), the second the
``RuleSet`` (or None) the worker compiles once; every later one is a job
``(job id, callable)``, answered by ``(job id, ok, result or exception)``, one pickle after
another in each direction. Pickles are read from and written to the pipes as streams, so
neither side builds the whole pickle of a 4 MB result in memory besides the objects.
Stdin closed: the worker finishes and exits. Anything a library prints goes to stderr: the
real stdout is the result channel.

Only the parse stack is imported here (no SQLAlchemy, pydantic or httpx): this process
stays small, and glibc is told to give back what a large body's parse freed.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from monitor.parse.prepare import Prepared, Recipe, prepare


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


def warm_up(rules: RuleSet | None = None) -> None:
    """Import the parse stack and compile the rules once per worker, not on its first body."""
    import feedparser  # noqa: F401

    import monitor.parse.identity
    import monitor.rules.normalize
    import monitor.stories  # noqa: F401

    global _worker_matcher
    _worker_matcher = (rules.key, rules.compile()) if rules is not None else None


def prepare_and_match(
    body: bytes, headers: Mapping[str, str], url: str, recipe: Recipe, now: datetime
) -> Prepared:
    """``prepare``, plus the matches when this process holds a matcher (a pool worker)."""
    return prepare(body, headers, url, recipe, now, _worker_matcher)


def _answer(out: BinaryIO, job_id: int, ok: bool, value: object) -> None:
    if ok:
        pickle.dump((job_id, True, value), out, protocol=pickle.HIGHEST_PROTOCOL)
    else:
        # an exception travels as a pickle inside the message: one that cannot be pickled,
        # or not rebuilt on the other side, must not leave the stream out of step
        try:
            error = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            error = pickle.dumps(RuntimeError(repr(value)[:500]))
        pickle.dump((job_id, False, error), out, protocol=pickle.HIGHEST_PROTOCOL)
    out.flush()


def serve(jobs: BinaryIO | None = None, results: BinaryIO | None = None) -> None:
    """The worker's loop, until its stdin closes."""
    from monitor.ops.memory import trim, tune

    # Ctrl-C reaches the whole process group: the parent decides when workers stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tune()
    if results is None:
        results = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    jobs = jobs or sys.stdin.buffer
    # from the parent that started this process, over a private pipe
    warm_up(pickle.load(jobs))  # noqa: S301
    while True:
        try:
            job_id, job = pickle.load(jobs)  # noqa: S301
        except EOFError:
            return
        call: Callable[[], object] = job
        try:
            value, ok = call(), True
        except Exception as exc:
            value, ok = exc, False
        del job, call
        _answer(results, job_id, ok, value)
        del value
        trim()  # what a large body's parse freed goes back to the system
