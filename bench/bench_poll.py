"""Cold and warm polls of the whole corpus over loopback, the way `monitor poll` runs.

Prints wall time, CPU time (this process and its children: the parse pool), peak memory of
the process tree, requests, and releases stored. Run from the project root:

    .venv/bin/python -m bench.bench_poll [--rules 1000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import time
from pathlib import Path


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) / 1024


async def poll_once(config_path: Path, names: list[str]) -> tuple[float, float, int]:
    from monitor.cli.daemon import _poll
    from monitor.config.load import load_config

    config = load_config(config_path, environ_database=False)
    wall, cpu = time.perf_counter(), cpu_seconds()
    outcomes = await _poll(config, names, True, None)
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    failed = [o for o in outcomes if not o.ok]
    if failed:
        print(f"  {len(failed)} sources failed, e.g. {failed[0].source_id}: {failed[0].error}")
    return wall, cpu, sum(o.new for o in outcomes)


def main() -> None:
    from bench.corpus_server import CorpusServer, corpus_files, write_config

    parser = argparse.ArgumentParser()
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--database", help="a database URL (default: a new SQLite file)")
    args = parser.parse_args()
    bodies = corpus_files()
    server = CorpusServer(bodies).start()
    with tempfile.TemporaryDirectory() as tmp:
        database = args.database or f"sqlite:///{tmp}/bench.db"
        config = Path(tmp) / "monitor.yaml"
        write_config(config, database, server.port, sorted(bodies), args.rules)
        size = sum(len(b) for b in bodies.values()) / 1e6
        print(
            f"corpus: {len(bodies)} feeds, {size:.1f} MB; {args.rules} rules; {database.split(':')[0]}"
        )
        for label in ("cold", "warm (304)"):
            before = server.requests
            wall, cpu, new = asyncio.run(poll_once(config, sorted(bodies)))
            print(
                f"{label:11} wall {wall:6.2f} s  cpu {cpu:6.2f} s  releases stored {new:5d}  "
                f"requests {server.requests - before}  peak rss {peak_mb():.0f} MB (max of process tree)"
            )
    server.stop()
    os._exit(0)


if __name__ == "__main__":
    main()
