"""Wall and CPU of ``monitor sources`` (table and ``--json``) with N sources (issue 23).

Writes the config ``bench_poll_cost reports`` writes (N feeds at ``127.0.0.1:9``, one rule,
one channel), upgrades the database once, then runs the command with each code tree named
by ``--tree`` in turns (A, B, A, B, ...): a tree is a directory put first on ``PYTHONPATH``
(``/tmp/cli-base`` for main's ``monitor/``; ``.`` for this checkout). Every run's output is
compared byte for byte with the first tree's, the moment-dependent ``overdue`` aside (the
database's ``next_poll_at`` is the same for every run, "now" is not). Run from the root:

    .venv/bin/python -m bench.bench_sources [--sources 10000] [--db sqlite|postgresql] \
        [--tree /tmp/cli-base --tree .] [--rounds 3] [--callgrind]

``--callgrind`` runs each command once a tree under valgrind's callgrind and prints the
instructions it counted (all threads of the process: aiosqlite's too), a figure the load of
a shared machine does not move; about two minutes a run.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def tree_of(tree: str) -> str:
    """The ``monitor`` package a tree's runs import (checked, not assumed)."""
    env = dict(os.environ, PYTHONPATH=os.path.abspath(tree))
    done = subprocess.run(
        [sys.executable, "-c", "import monitor; print(monitor.__file__)"],
        check=True,
        capture_output=True,
        env=env,
        text=True,
        cwd="/",
    )
    return done.stdout.strip()


def write_config(path: Path, count: int, database: str) -> None:
    sources = (f"  - id: s{i}\n    url: http://127.0.0.1:9/s/{i}.xml" for i in range(count))
    path.write_text(
        "\n".join(
            [
                f"database: {database}",
                "sources:",
                *sources,
                "rules:\n  - id: nato\n    query: NATO\n    channels: [log]",
                "channels:\n  - id: log\n    type: log",
            ]
        )
        + "\n"
    )


def fill(database: str, count: int) -> None:
    """Give the rows what a daemon would have written: times (some overdue), failures
    with a URL's credentials in the error (redacted when shown), moves, counts."""
    import asyncio
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import bindparam, update

    from monitor.store.session import open_store
    from monitor.store.tables import SOURCES

    moment = datetime(2026, 12, 7, 20, 0, 0, 123456, tzinfo=UTC)

    def values(i: int) -> dict[str, object]:
        failing = i % 7 == 0
        return {
            "b_id": f"s{i}",
            "status": "failing" if failing else "ok",
            "last_poll_at": moment - timedelta(seconds=i),
            "last_success_at": None if i % 11 == 0 else moment - timedelta(minutes=i % 90),
            "next_poll_at": moment + timedelta(days=365 if i % 5 else -1, seconds=i),
            "last_error": f"HTTP 503 from http://bot:pw@127.0.0.1:9/s/{i}" if failing else None,
            "last_warning": "feed lists no dates" if i % 13 == 0 else None,
            "consecutive_failures": i % 4 if failing else 0,
            "moved_to": f"http://127.0.0.1:9/moved/{i}.xml" if i % 17 == 0 else None,
            "items_seen": i % 50,
            "items_skipped": i % 3,
            "release_count": i % 40,
        }

    async def write() -> None:
        engine = await open_store(database)
        statement = update(SOURCES).where(SOURCES.c.id == bindparam("b_id"))
        async with engine.begin() as connection:
            await connection.execute(statement, [values(i) for i in range(count)])
        await engine.dispose()

    asyncio.run(write())


def instructions(tree: str, base: list[str], args: list[str]) -> int:
    """Instructions of one run, counted by callgrind."""
    env = dict(os.environ, PYTHONPATH=os.path.abspath(tree))
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.out", *base, *args],
            check=True,
            capture_output=True,
            env=env,
            text=True,
            cwd=tmp,  # not the checkout: ``-m`` puts the working directory first on the path
        )
    found = re.search(r"Collected : (\d+)", done.stderr)
    assert found, done.stderr[-500:]
    return int(found.group(1))


def run_once(tree: str, base: list[str], args: list[str]) -> tuple[float, float, bytes]:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(tree))
    env.pop("MONITOR_DATABASE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    # from /: ``-m`` puts the working directory before PYTHONPATH, and a checkout there
    # would be imported whatever the tree
    done = subprocess.run([*base, *args], check=True, capture_output=True, env=env, cwd="/")
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=int, default=10_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--tree", action="append", default=[])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--callgrind", action="store_true")
    args = parser.parse_args()
    trees = args.tree or ["."]
    for tree in trees:
        print(f"{tree}: {tree_of(tree)}")
    schema = f"cli_bench_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        if args.db == "sqlite":
            database = f"sqlite:///{tmp}/bench.db"
        else:
            import psycopg

            with psycopg.connect(ADMIN, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {schema}")
            database = f"postgresql://postgres@127.0.0.1:5432/{schema}"
        try:
            config_path = Path(tmp) / "monitor.yaml"
            write_config(config_path, args.sources, database)
            base = [sys.executable, "-m", "monitor", "--config", str(config_path)]
            run_once(trees[0], base, ["db", "upgrade"])
            run_once(trees[0], base, ["sources"])  # writes the rows
            fill(database, args.sources)
            if args.callgrind:
                for command in (["sources"], ["sources", "--json"]):
                    for tree in trees:
                        count = instructions(tree, base, command)
                        print(
                            f"{tree:>14} monitor {' '.join(command):<14} {count / 1e9:.3f} G "
                            f"instructions; load {os.getloadavg()[0]:.2f}",
                            flush=True,
                        )
                return
            reference: dict[str, bytes] = {}
            for _ in range(args.rounds):
                for command in (["sources"], ["sources", "--json"]):
                    for tree in trees:
                        wall, cpu, out = run_once(tree, base, command)
                        shown = out.replace(b", overdue", b" " * 9).replace(
                            b'"overdue": true', b'"overdue": false'
                        )
                        key = " ".join(command)
                        same = reference.setdefault(key, shown) == shown
                        print(
                            f"{tree:>14} monitor {key:<14} {wall:.2f} s wall, {cpu:.2f} s CPU, "
                            f"{len(out.splitlines())} lines, same={same}; "
                            f"load {os.getloadavg()[0]:.2f}",
                            flush=True,
                        )
        finally:
            if args.db == "postgresql":
                import psycopg

                with psycopg.connect(ADMIN, autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {schema} WITH (FORCE)")


if __name__ == "__main__":
    main()
