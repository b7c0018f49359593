"""Every console page and API read, timed against a generated archive (``bench.gen_archive``),
served by a real ``monitor run``; then a poll's pace with and without the console in use.

Each read is asked ``--rounds`` times one after another (after one warm-up) and reported
as p50 / p95 / max in milliseconds, with the size of its answer. Deep pages start from a
cursor 90 % of the way into the archive (the API hands out the same opaque cursors); the
searches are rules of the archive's config. The poll: ``monitor poll`` of the corpus feeds
on loopback into the same database (new sources, every release new), timed three times —
a warm-up, then alone, then while two clients read the console without pause; the last
two store copies of the first's releases, so they do the same work. Run from the project
root after the generator:

    .venv/bin/python -m bench.bench_console --config /tmp/arch/monitor.yaml [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

SEARCHES = (
    ("typical rule, 0.5 %", 'NATO OR الناتو OR "حلف شمال الأطلسي"'),
    ("Arabic word, 2 %", "غزة"),
    ("rare rule, 0.1 %", "Ebola OR إيبولا"),
    ("common English word", "minister"),
)


async def credentials(config: Any) -> tuple[str, str, dict[str, Any]]:
    """A session and a token for a bench admin, and ids to ask for."""
    from sqlalchemy import func, select

    from monitor.console.passwords import hash_password
    from monitor.store import keyset, people, tokens
    from monitor.store.session import open_store
    from monitor.store.tables import ALERTS, RELEASES

    engine = await open_store(config.database)
    try:
        found = await people.password_hash_of(engine, "bench")
        if found is None:
            await people.add_user(
                engine, "bench", "admin", hash_password("bench-password"), actor="bench"
            )
            found = await people.password_hash_of(engine, "bench")
        assert found is not None
        session, _csrf = await people.start_session(
            engine, found[0], lifetime=timedelta(hours=2), address="127.0.0.1"
        )
        token = await tokens.create_token(
            engine, f"bench-{os.getpid()}-{time.time_ns()}", "viewer", actor="bench"
        )
        async with engine.connect() as connection:
            total = (await connection.execute(select(func.max(RELEASES.c.id)))).scalar_one()
            deep = (
                await connection.execute(
                    select(RELEASES.c.first_seen_at, RELEASES.c.id).where(
                        RELEASES.c.id == max(1, total // 10)
                    )
                )
            ).one()
            alert = (
                await connection.execute(
                    select(ALERTS.c.created_at, ALERTS.c.id)
                    .order_by(ALERTS.c.created_at)
                    .limit(1)
                    .offset(100)
                )
            ).one()
        ids = {
            "recent": total - 5,
            "old": max(1, total // 20),
            "deep": keyset.encode(deep.first_seen_at, deep.id),
            "alert": alert.id,
            "deep_alert": keyset.encode(alert.created_at, alert.id),
        }
        return session, token, ids
    finally:
        await engine.dispose()


# a range, not LIKE: SQLite's LIKE cannot use the index and reads a million rows
_OF_POLLS = "source_id >= 'poll-' AND source_id < 'poll.'"
_POLLED = f"SELECT id FROM releases WHERE {_OF_POLLS}"
_CLEAN = (
    f"DELETE FROM alerts WHERE release_id IN ({_POLLED})",
    f"DELETE FROM matches WHERE release_id IN ({_POLLED})",
    f"DELETE FROM story_bands WHERE release_id IN ({_POLLED})",
    f"DELETE FROM release_revisions WHERE release_id IN ({_POLLED})",
    "CREATE TEMPORARY TABLE polled_stories AS SELECT DISTINCT story_id AS id FROM releases "
    f"WHERE {_OF_POLLS} AND story_id IS NOT NULL",
    f"DELETE FROM releases WHERE {_OF_POLLS}",
    "DELETE FROM stories WHERE id IN (SELECT id FROM polled_stories) "
    "AND id NOT IN (SELECT story_id FROM releases WHERE story_id IN (SELECT id FROM polled_stories))",
    "DROP TABLE polled_stories",
    "DELETE FROM sources WHERE id >= 'poll-' AND id < 'poll.'",
)


async def forget_polls(config: Any) -> None:
    """Take out what an earlier run's polls stored: their copies of the corpus (one set
    per poll, all newer than the archive) would be the newest pages of this run."""
    from sqlalchemy import text

    from monitor.store.session import open_store

    engine = await open_store(config.database)
    try:
        async with engine.begin() as connection:
            for statement in _CLEAN:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


def reads(ids: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(label, path, params) of every page and API read."""
    deep, q = {"cursor": ids["deep"]}, SEARCHES[0][1]
    out = [
        ("page /", "/", {}),
        ("page /sources", "/sources", {}),
        ("page /sources/{id}", "/sources/src-002", {}),
        ("page /releases", "/releases", {}),
        ("page /releases deep (90 %)", "/releases", deep),
        ("page /releases?source=", "/releases", {"source": "src-003"}),
        ("page /releases?language=ar", "/releases", {"language": "ar"}),
        ("page /releases/{id} recent", f"/releases/{ids['recent']}", {}),
        ("page /releases/{id} old", f"/releases/{ids['old']}", {}),
        ("page /alerts", "/alerts", {}),
        ("page /alerts?status=failed", "/alerts", {"status": "failed"}),
        ("page /alerts deep", "/alerts", {"cursor": ids["deep_alert"]}),
        ("page /alerts/{id}", f"/alerts/{ids['alert']}", {}),
        ("page /channels", "/channels", {}),
        ("page /rules", "/rules", {}),
        ("api sources", "/api/v1/sources", {}),
        ("api sources/{id}", "/api/v1/sources/src-004", {}),
        ("api releases", "/api/v1/releases", {}),
        ("api releases deep (90 %)", "/api/v1/releases", deep),
        ("api releases/{id}", f"/api/v1/releases/{ids['old']}", {}),
        ("api alerts", "/api/v1/alerts", {}),
        ("api alerts deep", "/api/v1/alerts", {"cursor": ids["deep_alert"]}),
        ("api alerts/{id}", f"/api/v1/alerts/{ids['alert']}", {}),
        ("api rules", "/api/v1/rules", {}),
        ("api channels", "/api/v1/channels", {}),
    ]
    for label, query in SEARCHES:
        out.append((f"page /releases?q= {label}", "/releases", {"q": query}))
    out.append(("page /releases?q= typical, deep", "/releases", {"q": q, **deep}))
    out.append(("api releases?q= typical", "/api/v1/releases", {"q": q}))
    # the workbench's "Test" over 30 days: the page's GET, the code of POST /api/v1/rules/test
    for label, query in SEARCHES:
        out.append((f"rules/try 30d {label}", "/rules/try", {"query": query, "since": "30d"}))
    return out


class Console:
    """``monitor run`` on the archive's config, serving the console."""

    def __init__(self, config_path: Path, listen: str) -> None:
        self.url = f"http://{listen}"
        env = {k: v for k, v in os.environ.items() if k != "MONITOR_DATABASE_URL"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config_path), "run"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 600  # a first start on an old schema migrates
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/login", timeout=2)
                return
            except httpx.HTTPError:
                time.sleep(0.5)
        raise SystemExit(f"the console did not answer at {self.url}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


def client(console: Console, session: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=console.url,
        cookies={"monitor_session": session},
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )


def timed(
    http: httpx.Client, path: str, params: dict[str, str], rounds: int
) -> tuple[list[float], int]:
    answer = http.get(path, params=params)  # warm-up
    if answer.status_code != 200:
        raise SystemExit(f"{path} {params}: HTTP {answer.status_code} {answer.text[:300]}")
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        answer = http.get(path, params=params)
        samples.append((time.perf_counter() - start) * 1000)
    return samples, len(answer.content)


def p95(samples: list[float]) -> float:
    return (
        statistics.quantiles(samples, n=20, method="inclusive")[-1]
        if len(samples) > 1
        else samples[0]
    )


def poll_pace(config: Any, database: str, console: Console, session: str, token: str) -> None:
    from bench.archive_text import TOPICS
    from bench.corpus_server import CorpusServer, corpus_files

    bodies = dict(sorted(corpus_files().items())[:80])
    server = CorpusServer(bodies, validators=False).start()
    stop = threading.Event()

    def load() -> None:
        with client(console, session, token) as http:
            paths = [(p, q) for _label, p, q in reads(IDS)]
            while not stop.is_set():
                for path, params in paths:
                    if stop.is_set():
                        break
                    http.get(path, params=params)

    with tempfile.TemporaryDirectory() as tmp:
        for label, loaded in (
            ("warm-up (new releases)", False),
            ("alone", False),
            ("console in use", True),
        ):
            prefix = f"poll-{time.time_ns()}"
            lines = [
                f'database: "{database}"',
                "defaults: {max_connections_per_host: 8}",
                "sources:",
            ]
            lines += [
                f"  - id: {prefix}-{n}\n    url: http://127.0.0.1:{server.port}/{n}" for n in bodies
            ]
            lines.append("rules:")
            for rule, query, *_ in TOPICS:
                lines.append(
                    f"  - id: {rule}\n    query: '{query.replace(chr(39), chr(39) * 2)}'\n    channels: [log]"
                )
            lines += ["channels:", "  - id: log", "    type: log"]
            path = Path(tmp) / f"{prefix}.yaml"
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            threads = [threading.Thread(target=load) for _ in range(2 if loaded else 0)]
            for thread in threads:
                thread.start()
            start = time.perf_counter()
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "monitor",
                    "--config",
                    str(path),
                    "poll",
                    "--backfill",
                    "10000d",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            wall = time.perf_counter() - start
            stop.set()
            for thread in threads:
                thread.join()
            stop.clear()
            stored = sum(int(n) for n in re.findall(r"(\d+) new", done.stderr))
            print(
                f"| poll of {len(bodies)} corpus feeds, {label} | {wall:.1f} s | "
                f"{stored:,} releases stored, exit {done.returncode} |",
                flush=True,
            )
    server.stop()


IDS: dict[str, Any] = {}


def main() -> None:
    from monitor.config.load import load_config

    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--only", help="only the reads whose label holds this")
    parser.add_argument("--no-poll", action="store_true")
    args = parser.parse_args()
    config = load_config(args.config, environ_database=False)
    assert config.console is not None
    asyncio.run(forget_polls(config))
    session, token, ids = asyncio.run(credentials(config))
    IDS.update(ids)
    listen = config.console.listen
    console = Console(args.config, listen)
    try:
        print(f"{config.database.split(':')[0]}, {args.rounds} rounds each, milliseconds")
        print("| read | p50 | p95 | max | bytes |")
        print("|---|---|---|---|---|")
        with client(console, session, token) as http:
            # a pass over every read first: the daemon's own start-up work (its first
            # delivery round over the archive's due alerts) is over, the caches warm
            time.sleep(5)
            for _label, path, params in reads(ids):
                http.get(path, params=params)
            for label, path, params in reads(ids):
                if args.only and args.only not in label:
                    continue
                samples, size = timed(http, path, params, args.rounds)
                print(
                    f"| {label} | {statistics.median(samples):.0f} | {p95(samples):.0f} | "
                    f"{max(samples):.0f} | {size:,} |",
                    flush=True,
                )
        if not args.no_poll:
            poll_pace(config, config.database, console, session, token)
    finally:
        console.stop()


if __name__ == "__main__":
    main()
