"""ParsePool: worker processes give the same result as parsing in place; errors travel."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Iterator

import pytest

from monitor.errors import ParseError
from monitor.parse.feed import parse_feed
from monitor.parse.pool import ParsePool, RuleSet
from tests.conftest import FEEDS_DIR
from tests.support.hostile import HOSTILE

BIG = FEEDS_DIR / "rbren__rss-parser/test/input/guardian.rss"  # ~150 KB: goes to a worker
SMALL = FEEDS_DIR / "rbren__rss-parser/test/input/instant-article.rss"  # <1 KB: in a thread


@pytest.fixture(scope="module")
def pool() -> Iterator[ParsePool]:
    parse_pool = ParsePool(max_workers=2)
    yield parse_pool
    parse_pool.close()


@pytest.mark.parametrize("path", [BIG, SMALL], ids=["worker", "inline"])
async def test_pool_matches_parse_feed(pool: ParsePool, path: object) -> None:
    body = path.read_bytes()  # type: ignore[attr-defined]
    headers = {"content-type": "application/rss+xml"}
    got = await pool.parse(body, headers, "https://example.org/feed")
    assert got == parse_feed(body, headers, "https://example.org/feed")
    assert got.entries


async def test_parse_errors_cross_the_process_boundary(pool: ParsePool) -> None:
    html = next(h for h in HOSTILE if h.name == "bot-challenge HTML page")
    padded = html.body + b"<!-- padding -->" * 2000  # past the inline threshold
    with pytest.raises(ParseError, match="HTML page"):
        await pool.parse(padded, html.headers, "https://example.org/feed")


async def test_many_at_once(pool: ParsePool) -> None:
    body = BIG.read_bytes()
    results = await asyncio.gather(*(pool.parse(body, {}, f"https://e/{i}") for i in range(4)))
    assert len({len(r.entries) for r in results}) == 1


def _rules(query: str) -> RuleSet:
    from monitor.rules.matcher import RuleSpec

    spec = RuleSpec("r1", "Rule one", query)
    return RuleSet(f"key-{query}", (spec,), ())


async def test_workers_match_with_the_rules_they_were_given() -> None:
    from datetime import UTC, datetime

    from monitor.model import DumpedMatch, document_of
    from monitor.parse.prepare import Recipe, prepare

    body = BIG.read_bytes()
    recipe = Recipe("feed", "guardian", "auto", None, "UTC")
    moment = datetime(2026, 11, 29, tzinfo=UTC)
    pool = ParsePool(max_workers=1)
    try:
        pool.set_rules(_rules("the"))
        first = await pool.prepare(body, {}, "https://e/f", recipe, moment)
        assert first.rules_key == "key-the" and first.matches is not None
        # what the worker found is what the rules give on the same documents here
        matcher = _rules("the").compile()
        here = prepare(body, {}, "https://e/f", recipe, moment)
        expected = [
            tuple(map(DumpedMatch.of, matcher.match(document_of("guardian", r))))
            for r in here.releases
        ]
        assert list(first.matches) == expected
        assert sum(1 for m in first.matches if m) > 0  # the rule does meet some releases
        # new rules: new workers, a new key
        pool.set_rules(_rules("zzzunlikelyword"))
        second = await pool.prepare(body, {}, "https://e/f", recipe, moment)
        assert second.rules_key == "key-zzzunlikelyword"
        assert second.matches is not None and not any(second.matches)
    finally:
        pool.close()


async def test_inline_bodies_are_not_matched_in_place() -> None:
    from datetime import UTC, datetime

    from monitor.parse.prepare import Recipe

    pool = ParsePool(max_workers=1, inline_below=10**9)
    pool.set_rules(_rules("the"))
    try:
        got = await pool.prepare(
            SMALL.read_bytes(),
            {},
            "https://e/f",
            Recipe("feed", "s", "auto", None, "UTC"),
            datetime(2026, 11, 29, tzinfo=UTC),
        )
        # the caller matches these: no worker held the matcher
        assert got.matches is None and got.rules_key is None and got.releases
    finally:
        pool.close()


# --- the worker process: its channel, its death, its imports --------------------------


def _job(function: object) -> functools.partial[object]:
    return functools.partial(function)  # type: ignore[call-overload]


async def test_a_dead_worker_fails_its_body_and_is_replaced() -> None:
    from tests.parse import pool_jobs

    pool = ParsePool(max_workers=1)
    try:
        first = await pool._run(_job(pool_jobs.worker_pid), size=10**6)
        with pytest.raises(ParseError, match="died"):
            await pool._run(_job(pool_jobs.die), size=10**6)
        second = await pool._run(_job(pool_jobs.worker_pid), size=10**6)
        assert second != first  # a new process
        got = await pool.parse(BIG.read_bytes(), {}, "https://e/f")
        assert got.entries
    finally:
        pool.close()


async def test_an_error_that_cannot_be_rebuilt_fails_its_body_alone() -> None:
    from tests.parse import pool_jobs

    pool = ParsePool(max_workers=1)
    try:
        with pytest.raises(ParseError, match="died"):
            await pool._run(_job(pool_jobs.raise_unrebuildable), size=10**6)
        got = await pool.parse(BIG.read_bytes(), {}, "https://e/f")  # the next body is served
        assert got.entries
    finally:
        pool.close()


async def test_what_a_job_prints_does_not_disturb_the_answers() -> None:
    from tests.parse import pool_jobs

    pool = ParsePool(max_workers=1)
    try:
        assert await pool._run(_job(pool_jobs.chatter), size=10**6) == "answered"
        got = await pool.parse(BIG.read_bytes(), {}, "https://e/f")
        assert got.entries
    finally:
        pool.close()


async def test_the_worker_imports_only_the_parse_stack() -> None:
    from tests.parse import pool_jobs

    pool = ParsePool(max_workers=1)
    try:
        await pool.parse(BIG.read_bytes(), {}, "https://e/f")  # a body went through it
        loaded = {m.split(".")[0] for m in await pool._run(_job(pool_jobs.loaded_modules), 10**6)}
    finally:
        pool.close()
    assert "feedparser" in loaded and "monitor" in loaded
    assert not loaded & {"sqlalchemy", "pydantic", "httpx", "alembic", "typer", "yaml"}


async def test_the_worker_collects_garbage_less_often() -> None:
    """Start-up's objects frozen, and young collections every ``collector.YOUNG``
    allocations, not CPython's 700 (a 50,000-item feed's worker spent 0.3 s collecting)."""
    from monitor.collector import YOUNG
    from tests.parse import pool_jobs

    pool = ParsePool(max_workers=1)
    try:
        thresholds, frozen = await pool._run(_job(pool_jobs.collector), 10**6)
    finally:
        pool.close()
    assert thresholds[0] == YOUNG
    assert frozen > 10_000  # the parse stack's modules and the compiled rules


async def test_close_ends_the_worker_processes() -> None:
    from tests.parse import pool_jobs

    pool = ParsePool(max_workers=2)
    await asyncio.gather(*(pool.parse(BIG.read_bytes(), {}, "https://e/f") for _ in range(3)))
    pids = set(
        await asyncio.gather(*(pool._run(_job(pool_jobs.worker_pid), 10**6) for _ in range(4)))
    )
    assert os.getpid() not in pids
    pool.close()
    for pid in pids:  # joined, so reaped: no such process any more
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


async def test_no_workers_parses_everything_in_this_process() -> None:
    from datetime import UTC, datetime

    from monitor.parse.prepare import Recipe
    from tests.parse import pool_jobs

    pool = ParsePool(max_workers=0)
    pool.set_rules(_rules("the"))
    try:
        got = await pool.prepare(
            BIG.read_bytes(),
            {},
            "https://e/f",
            Recipe("feed", "s", "auto", None, "UTC"),
            datetime(2026, 11, 29, tzinfo=UTC),
        )
        assert got.releases and got.matches is None and pool.rules_key is None
        assert await pool._run(_job(pool_jobs.worker_pid), size=10**6) == os.getpid()
        assert pool._executor is None  # no worker was started
    finally:
        pool.close()


_ORPHAN = """
import asyncio, functools
from monitor.parse.pool import ParsePool
from tests.parse import pool_jobs

async def main() -> None:
    pool = ParsePool(max_workers=1)
    print(await pool._run(functools.partial(pool_jobs.worker_pid), 10**6), flush=True)
    await asyncio.sleep(120)

if __name__ == "__main__":
    asyncio.run(main())
"""


# killed while its worker is still starting: the worker is spawned (its pid known at once)
# but has not run its initializer yet (importing the parse stack takes about a second)
_ORPHAN_STARTING = """
import multiprocessing, os, time
from monitor.parse.pool import ParsePool

if __name__ == "__main__":
    pool = ParsePool(max_workers=1)
    pool._processes().submit(os.getpid)
    print(*(p.pid for p in multiprocessing.active_children()), flush=True)
    time.sleep(120)
"""


@pytest.mark.parametrize("script", [_ORPHAN, _ORPHAN_STARTING], ids=["working", "starting"])
def test_a_worker_ends_when_its_parent_is_killed(script: str) -> None:
    import signal
    import subprocess
    import sys

    from tests.conftest import ROOT

    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert parent.stdout is not None
    with parent.stdout:
        workers = [int(pid) for pid in parent.stdout.readline().split()]
    assert workers, "the pool started no worker"
    parent.send_signal(signal.SIGKILL)  # no clean-up runs: as the OOM killer does it
    parent.wait()
    for worker in workers:
        _wait_gone(worker)


def _wait_gone(worker: int) -> None:
    import signal
    import time

    deadline = time.monotonic() + 30  # an upper bound for the condition, never a sleep
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(worker, signal.SIGKILL)
    pytest.fail("the parse worker outlived its killed parent")


# --- a worker a body grew is retired ---------------------------------------------------

RECIPE = ("feed", "s", "auto", None, "UTC")


async def test_a_worker_a_body_grew_is_retired_and_the_next_body_starts_another() -> None:
    """Under glibc's defaults a worker kept the heap a big body grew (66-76 MB after the
    9.5 MB Arabic item of issue 22), idle through the rest of the poll."""
    from datetime import UTC, datetime

    from monitor.parse.prepare import Recipe
    from tests.parse import pool_jobs

    moment = datetime(2026, 11, 29, tzinfo=UTC)
    pool = ParsePool(max_workers=1, retire_growth=0)  # any body grows it: always retired
    try:
        first = await pool._run(_job(pool_jobs.worker_pid), size=10**6)
        got = await pool.prepare(BIG.read_bytes(), {}, "https://e/f", Recipe(*RECIPE), moment)
        assert got.releases
        _wait_gone(first)  # it exits once its answer is in, before the next body
        second = await pool._run(_job(pool_jobs.worker_pid), size=10**6)
        assert second != first
    finally:
        pool.close()


async def test_an_ordinary_body_keeps_its_worker() -> None:
    from datetime import UTC, datetime

    from monitor.parse.prepare import Recipe
    from tests.parse import pool_jobs

    moment = datetime(2026, 11, 29, tzinfo=UTC)
    pool = ParsePool(max_workers=1)  # the default growth: a 150 KB feed is far below it
    try:
        first = await pool._run(_job(pool_jobs.worker_pid), size=10**6)
        for _ in range(3):
            await pool.prepare(BIG.read_bytes(), {}, "https://e/f", Recipe(*RECIPE), moment)
        assert await pool._run(_job(pool_jobs.worker_pid), size=10**6) == first
    finally:
        pool.close()


async def test_the_language_model_s_load_is_not_a_body_s_growth(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where the model's cache cannot be written, every worker loads 80 MB of it on its
    first body that needs it: counted, every worker would be retired after that body."""
    from datetime import UTC, datetime

    from monitor.parse.prepare import Recipe
    from tests.parse import pool_jobs

    monkeypatch.setenv("XDG_CACHE_HOME", "/proc/no-cache-here")  # the workers inherit it
    undeclared = FEEDS_DIR / "kagisearch__fastfeedparser/benchmark_data/01b5e6081cb62f3d"
    pool = ParsePool(max_workers=1, retire_growth=30 << 20)
    try:
        first = await pool._run(_job(pool_jobs.worker_pid), size=10**6)
        got = await pool.prepare(
            undeclared.read_bytes(),
            {},
            "https://e/f",
            Recipe(*RECIPE),
            datetime(2026, 11, 29, tzinfo=UTC),
        )
        assert {r.language for r in got.releases} == {"en"}  # the model was asked
        assert await pool._run(_job(pool_jobs.worker_pid), size=10**6) == first
    finally:
        pool.close()
