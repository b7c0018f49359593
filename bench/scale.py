"""`monitor run` against the simulated ministry web (``bench.sim``), on SQLite and PostgreSQL.

After a warm-up (every source's first poll, a baseline, and the matching of the
baselines' releases are left out) it measures for a fixed period: CPU of the monitor's process tree as % of one core, RSS (after the warm-up,
peak, final), poll lateness (due → request received by the sim), fetch-to-alert (the sim
first served the item → the webhook arrived) and publication-to-alert (the item appeared →
the webhook arrived), polls/s, database growth per day, and the schedule checks: no due
poll skipped, none twice. Run from the project root (PostgreSQL on 127.0.0.1:5432):

    .venv/bin/python -m bench.scale --sources 10000 --interval 300 --duration 900 --db sqlite
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import pg_statements
from bench.sim import analysis
from bench.sim.run import (
    ROOT,
    Database,
    SimProcess,
    Watcher,
    backends_cpu,
    monitor_env,
    tree_cpu,
    tree_rss,
    write_config,
)
from bench.sim.server import Settings
from monitor.config.yamlfile import MAX_BYTES_VARIABLE, MAX_FILE_BYTES

ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
SLACK = 30.0  # a due time this close to the end may still be answered after it
SETTLE = 60.0  # how long after the window an alert of an item fetched in it is waited for
# releases waiting for the match worker in the steady state: the last few polls' new ones
UNMATCHED_STEADY = 100


def run(args: argparse.Namespace, backend: str, tmp: Path) -> dict[str, Any]:
    settings = Settings(args.sources, args.interval, seed=args.seed, baseline=args.baseline)
    sim = SimProcess(settings)
    pg_name = f"{args.db_prefix}_{uuid.uuid4().hex[:8]}"
    if backend == "postgresql":
        import psycopg

        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{pg_name}"')  # type: ignore[arg-type]
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{pg_name}"
    else:
        url = f"sqlite:///{tmp / 'monitor.db'}"
    config = tmp / f"{backend}.yaml"
    write_config(config, url, sim)
    base = [sys.executable, "-m", "monitor", "--config", str(config)]
    env = monitor_env()
    lifted = config.stat().st_size > MAX_FILE_BYTES  # ~12,000 of the sim's sources fit in 1 MB
    if lifted:  # as an operator of a larger deployment would: the cap is theirs to raise
        env[MAX_BYTES_VARIABLE] = str(config.stat().st_size)
    subprocess.run([*base, "db", "upgrade"], cwd=ROOT, check=True, capture_output=True, env=env)
    logs = [(tmp / f"{backend}-{n}.log").open("wb") for n in range(args.instances)]
    started = time.time()
    daemons = [
        subprocess.Popen([*base, "run"], cwd=ROOT, env=env, stdout=log, stderr=log) for log in logs
    ]
    pids = [daemon.pid for daemon in daemons]
    database = Database(url)
    watcher = Watcher(
        database, *pids, every=args.every, backends=pg_name if backend == "postgresql" else ""
    )
    watcher.start()

    def alive() -> None:
        for daemon, log in zip(daemons, logs, strict=True):
            if daemon.poll() is not None:
                raise RuntimeError(f"monitor run exited {daemon.returncode}: see {log.name}")

    try:
        # the first cycle (every baseline, and the burst of second polls that queued up
        # behind them) is left out: the window starts once every source was polled twice
        while database.unpolled(args.sources) or sim.get("/_stats")["polled_twice"] < args.sources:
            alive()
            time.sleep(2)
        # ... and once the baselines' releases are matched: the match worker takes them in
        # the order they came, so until then a new release's alert waits behind ~27 per
        # source (on PostgreSQL 21,000 left at that point, minutes of work: issue 23)
        twice, backlog = time.time(), database.unmatched()
        while database.unmatched() > UNMATCHED_STEADY:
            alive()
            time.sleep(2)
        warm = time.time()
        cpu0, sim_cpu0 = sum(map(tree_cpu, pids)), tree_cpu(sim.process.pid)
        pg0 = backends_cpu(pg_name) if backend == "postgresql" else {}
        # the database's statements are counted from here (its rows only: the view is
        # the whole server's)
        counted = backend == "postgresql" and pg_statements.reset(pg_name)
        rss0 = _rss(pids)
        size0 = database.size()
        load0 = os.getloadavg()
        print(
            f"  {backend}: warm-up took {warm - started:.0f} s (polled twice at"
            f" {twice - started:.0f} s with {backlog} releases unmatched);"
            f" measuring up to {args.duration:.0f} s",
            flush=True,
        )
        duration = args.duration
        if args.until:  # a wall-clock end (UTC "HH:MM") shortens the window if need be
            hour, minute = map(int, args.until.split(":"))
            stop = datetime.now(UTC).replace(hour=hour, minute=minute, second=0).timestamp()
            duration = max(60.0, min(duration, stop - time.time()))
        time.sleep(duration)
        end = time.time()
        alive()
        cpu1, sim_cpu1 = sum(map(tree_cpu, pids)), tree_cpu(sim.process.pid)
        pg1 = backends_cpu(pg_name) if backend == "postgresql" else {}
        statements = pg_statements.read(pg_name) if counted else []
        rss1 = _rss(pids)
        size1 = database.size()
        load1 = os.getloadavg()
        # a NATO item fetched in the window's last seconds is still being matched and sent:
        # its alert is waited for (up to SETTLE s), not counted missing at once
        while True:
            dump = sim.get("/_dump")
            if time.time() > end + SETTLE or not analysis.alerts(dump, warm, end, end).nato_missing:
                break
            time.sleep(1.0)
    finally:
        watcher.stop()
        for daemon in daemons:
            daemon.send_signal(signal.SIGTERM)
        for daemon, log in zip(daemons, logs, strict=True):
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()
            log.close()
        sim.stop()
        if backend == "postgresql":
            import psycopg

            with psycopg.connect(ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{pg_name}" WITH (FORCE)')  # type: ignore[arg-type]
    window = end - warm
    polls = analysis.schedule(dump, watcher.dues, warm, end, SLACK)
    alerts = analysis.alerts(dump, warm, end, end)
    peak = max([rss for at, _, rss in watcher.rss if warm <= at <= end] + [rss0[1], rss1[1]])
    p = analysis.percentile
    return {
        "backend": backend,
        "sources": args.sources,
        "instances": args.instances,
        "baseline_items": args.baseline or "full (5-50)",
        "interval_s": args.interval,
        "warm_up_s": round(warm - started),
        "polled_twice_s": round(twice - started),
        "unmatched_when_polled_twice": backlog,
        "window_s": round(window),
        "load_start": [round(x, 2) for x in load0],
        "load_end": [round(x, 2) for x in load1],
        "cpu_pct_of_core": round(100 * (cpu1 - cpu0) / window, 2),
        "cpu_ms_per_poll": round(1000 * (cpu1 - cpu0) / max(polls.polls, 1), 2),
        "sim_cpu_pct": round(100 * (sim_cpu1 - sim_cpu0) / window, 2),
        # every backend seen in the window (one that ended between two samples loses up to
        # `every` seconds of its CPU; one born in it counts from its start)
        "pg_backends_cpu_pct": round(100 * _backends_cpu(watcher, pg0, pg1, warm) / window, 2),
        # pg_stat_statements over the window, per poll (absent: the view is not available)
        "pg_statements": pg_statements.summary(statements, polls.polls) if counted else None,
        "rss_mb_daemon_after_warm_up": round(rss0[0] / 2**20),  # the largest instance
        "rss_mb_daemon_final": round(rss1[0] / 2**20),
        "rss_mb_tree_after_warm_up": round(rss0[1] / 2**20),
        "rss_mb_tree_peak": round(peak / 2**20),
        "rss_mb_tree_final": round(rss1[1] / 2**20),
        "polls": polls.polls,
        "polls_per_s": round(polls.polls / window, 2),
        "statuses": dict(analysis.statuses(dump, warm, end)),
        "lateness_p50_s": round(p(polls.lateness, 0.5), 3),
        "lateness_p99_s": round(p(polls.lateness, 0.99), 3),
        "lateness_max_s": round(max(polls.lateness, default=float("nan")), 3),
        "skipped": len(polls.skipped),
        "twice": len(polls.twice),
        "alerts": alerts.sent,
        "fetch_to_alert_p50_s": round(p(alerts.fetch_to_alert, 0.5), 3),
        "fetch_to_alert_p99_s": round(p(alerts.fetch_to_alert, 0.99), 3),
        "publication_to_alert_p50_s": round(p(alerts.publication_to_alert, 0.5), 1),
        "publication_to_alert_p99_s": round(p(alerts.publication_to_alert, 0.99), 1),
        "alerts_repeated": len(alerts.repeated),
        "nato_stories": alerts.nato_expected,
        "nato_missing": len(alerts.nato_missing),
        "db_growth_mb_per_day": round((size1 - size0) / window * 86400 / 2**20, 1),
        "watch_errors": watcher.errors,
        "config_cap_raised": lifted,
        # the trees' RSS over the window, a sample a minute: (seconds into it, MB)
        "rss_mb_tree_by_minute": [
            (round(at - warm), round(rss / 2**20))
            for at, _, rss in watcher.rss[:: max(1, round(60 / args.every))]
            if warm <= at <= end
        ],
    }


def _backends_cpu(
    watcher: Watcher, start: dict[int, float], end: dict[int, float], warm: float
) -> float:
    last = {pid: cpu for pid, (seen, cpu) in watcher.backends.items() if seen >= warm}
    last.update(end)
    return sum(cpu - start.get(pid, 0.0) for pid, cpu in last.items())


def _rss(pids: list[int]) -> tuple[int, int]:
    """The largest instance's own RSS and all the instances' trees together, bytes."""
    sizes = [tree_rss(pid) for pid in pids]
    return max(size[0] for size in sizes), sum(size[1] for size in sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=10_000)
    parser.add_argument("--interval", type=float, default=300.0, help="seconds")
    parser.add_argument(
        "--duration", type=float, default=900.0, help="seconds measured after the warm-up"
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between due-time reads")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--baseline", type=int, default=0, help="items a source shows at its first poll (0: all)"
    )
    parser.add_argument(
        "--instances", type=int, default=1, help="monitor run processes (PostgreSQL if > 1)"
    )
    parser.add_argument(
        "--db-prefix", default="bench_sim", help="PostgreSQL: the bench database's name prefix"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--until", help='end the window by this UTC time ("HH:MM") at the latest')
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    if args.instances > 1 and "sqlite" in backends:
        parser.error("several instances share one PostgreSQL: --db postgresql")
    results = []
    for backend in backends:
        with tempfile.TemporaryDirectory() as tmp:
            results.append(run(args, backend, Path(tmp)))
        for key, value in results[-1].items():
            if key == "pg_statements" and value:
                print("  " + pg_statements.render(value).replace("\n", "\n  "))
            else:
                print(f"  {key:32} {value}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
