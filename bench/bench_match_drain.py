"""The match step draining a backlog of baseline releases, and a new release's wait behind
it (issue 23). Prints figures, asserts nothing. Run from the project root:

    .venv/bin/python -m bench.bench_match_drain --releases 20000 --db postgresql
    .venv/bin/python -m bench.bench_match_drain --compare /tmp/old-tree --runs 3

One run: ``--releases`` baseline releases of the simulated ministries (``bench.sim``'s
items: Arabic and English, 55–90 words, some naming NATO; one in five a wire copy of an
earlier one, a word or two changed) saved as first polls save them (their story bands
computed as the parse step does), then one new, alertable release naming NATO. The match
step (``match_pending``, 100 rules as ``bench.scale`` has) drains everything while a second
task looks for the new release's alert every 20 ms. Figures: wall and CPU (this process:
the event loop's work; PostgreSQL's own CPU is not in it) of the whole drain, releases/s,
and when the new release's alert was queued, from the drain's start.

``--compare TREE`` runs each database's bench in a child process alternately with this
tree's ``monitor`` and TREE's (an earlier commit's files, e.g.
``git archive a559257 monitor | tar -x -C /tmp/old-tree``), ``--runs`` times, and prints
each run and the medians. PostgreSQL at 127.0.0.1:5432; the database made is dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
SOURCES = 200
COPY_SHARE = 0.2
SAVE_BATCH = 1000


def _items(count: int, seed: int = 23) -> list[tuple[str, str, str, str]]:
    """(source, identity, title, body) of ``count`` simulated items, copies among them."""
    from bench.sim.content import Writer, arabic_words, english_words, shapes

    writer = Writer(seed, {"ar": arabic_words(), "en": english_words()})
    langs = [shape.lang for shape in shapes(seed, SOURCES)]
    rng = random.Random(seed)
    made: list[tuple[str, str, str, str]] = []
    for n in range(count):
        source = n % SOURCES
        item = writer.item(source, n, langs[source])
        body = item.body
        if made and rng.random() < COPY_SHARE:
            words = made[rng.randrange(len(made))][3].split()
            for at in rng.sample(range(len(words)), rng.randint(0, 2)):
                words[at] = rng.choice(words)
            body = " ".join(words)
        made.append((f"s{source}", f"n{n}", item.title, body))
    return made


def _data(identity: str, title: str, body: str) -> Any:
    from monitor.model import ReleaseData
    from monitor.parse.identity import content_hash

    return ReleaseData(
        identity=identity,
        title=title,
        summary="",
        content=body,
        summary_raw="",
        content_raw=body,
        url=f"https://ministry.example/{identity}",
        published=None,
        published_raw=None,
        language=None,
        content_hash=content_hash(title, "", body),
        author=None,
    )


async def _save(engine: Any, items: list[tuple[str, str, str, str]], alertable: bool) -> None:
    from monitor.parse.prepare import search_text, story_bands
    from monitor.store.releases import save_releases
    from monitor.store.session import writing
    from monitor.store.tables import now

    by_source: dict[str, list[Any]] = {}
    for source, identity, title, body in items:
        by_source.setdefault(source, []).append(_data(identity, title, body))
    moment = now()
    async with writing(engine) as connection:
        for source, releases in by_source.items():
            await save_releases(
                connection,
                source,
                releases,
                moment=moment,
                alertable={r.identity: alertable for r in releases},
                search_text={r.identity: search_text(r) for r in releases},
                bands={r.identity: story_bands(r) for r in releases},
            )


def _matcher() -> Any:
    from bench.rulegen import generated_rules
    from monitor.rules.matcher import RuleSpec, compile_rules

    rules = [
        RuleSpec("nato", "NATO", 'NATO OR OTAN OR الناتو OR "حلف شمال الأطلسي"'),
        RuleSpec("cyber", "Cyber", 'cyber* OR "الأمن السيبراني"'),
        *(RuleSpec(rule, rule, query) for rule, query in generated_rules(98)),
    ]
    return compile_rules(rules, {})


async def _one(url: str, releases: int) -> dict[str, Any]:
    import sqlalchemy as sa

    import monitor
    from monitor.store.matching import match_pending
    from monitor.store.session import open_store
    from monitor.store.tables import ALERTS, RELEASES
    from monitor.store.tables import SOURCES as SOURCE_TABLE

    engine = await open_store(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sa.insert(SOURCE_TABLE),
                [
                    {
                        "id": f"s{i}",
                        "url": f"https://s{i}.example/rss",
                        "kind": "feed",
                        "created_at": datetime.now(UTC),
                    }
                    for i in range(SOURCES)
                ],
            )
        items = _items(releases)
        for start in range(0, len(items), SAVE_BATCH):
            await _save(engine, items[start : start + SAVE_BATCH], alertable=False)
        words = " ".join(body for *_, body in items[:50]).split()
        body = " ".join(random.Random(5).choices(words, k=80))  # a copy of nothing
        new = ("s0", "new-nato", "NATO Secretary General visits the ministry", body)
        await _save(engine, [new], alertable=True)
        matcher = _matcher()
        started, cpu = time.perf_counter(), time.process_time()
        alerted: list[float] = []

        async def watch() -> None:
            query = (
                sa.select(sa.func.count())
                .select_from(ALERTS.join(RELEASES, RELEASES.c.id == ALERTS.c.release_id))
                .where(RELEASES.c.identity == "new-nato")
            )
            while True:
                async with engine.connect() as connection:
                    if (await connection.execute(query)).scalar_one():
                        alerted.append(time.perf_counter() - started)
                        return
                await asyncio.sleep(0.02)

        watcher = asyncio.create_task(watch())
        step = await match_pending(engine, matcher.match, lambda rule: ("ops",))
        wall, used = time.perf_counter() - started, time.process_time() - cpu
        await asyncio.wait_for(watcher, 10)
        return {
            "releases": step.releases,
            "alerts": step.alerts,
            "wall_s": round(wall, 2),
            "cpu_s": round(used, 2),
            "per_s": round(step.releases / wall),
            "new_alert_s": round(alerted[0], 2),
            "monitor": str(Path(monitor.__file__).parent.parent),
        }
    finally:
        await engine.dispose()


def run(db: str, releases: int) -> dict[str, Any]:
    if db == "sqlite":
        with tempfile.TemporaryDirectory(prefix="pgmatch-drain-") as tmp:
            return asyncio.run(_one(f"sqlite:///{tmp}/monitor.db", releases))
    import psycopg

    name = f"pgmatch_drain_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    try:
        base = ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        return asyncio.run(_one(f"{base}/{name}", releases))
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def _child(tree: Path, db: str, releases: int) -> dict[str, Any]:
    """One run in a child process whose ``monitor`` is ``tree``'s (``bench`` is this one's)."""
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{ROOT}"}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.bench_match_drain",
            "--db",
            db,
            "--releases",
            str(releases),
            "--json",
        ],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout.splitlines()[-1]))


def compare(old: Path, dbs: list[str], releases: int, runs: int) -> None:
    trees = {"before": old, "after": ROOT}
    for db in dbs:
        found: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        for n in range(runs):
            for label in ("before", "after") if n % 2 == 0 else ("after", "before"):
                load = Path("/proc/loadavg").read_text().split()[:3]
                result = _child(trees[label], db, releases)
                found[label].append(result)
                print(db, label, "load", "/".join(load), result, flush=True)
        for label, results in found.items():
            medians = {
                key: statistics.median(r[key] for r in results)
                for key in ("wall_s", "cpu_s", "per_s", "new_alert_s")
            }
            print(db, label, "median of", len(results), medians, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=20_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--compare", type=Path, help="an earlier tree holding monitor/")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="one run, its figures as JSON")
    args = parser.parse_args()
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    if args.compare:
        compare(args.compare, dbs, args.releases, args.runs)
        return
    for db in dbs:
        result = run(db, args.releases)
        print(json.dumps(result) if args.json else f"{db}: {result}", flush=True)


if __name__ == "__main__":
    main()
