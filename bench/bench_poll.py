"""Cold and warm polls of the whole corpus over loopback, the way `monitor poll` runs.

Prints wall time, CPU time and peak memory of the whole process tree (sampled from /proc,
so the parse pool's workers count), requests, and releases stored. Run from the project root:

    .venv/bin/python -m bench.bench_poll [--rules 1000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path


async def poll_once(config_path: Path, names: list[str]) -> tuple[float, float, float, int]:
    from bench.treestat import TreeStat
    from monitor.config.load import load_config
    from monitor.poll_driver import poll_once

    config = load_config(config_path, environ_database=False)
    with TreeStat(os.getpid()) as tree:
        wall = time.perf_counter()
        outcomes = (await poll_once(config, names, True, None)).outcomes
        wall = time.perf_counter() - wall
    failed = [o for o in outcomes if not o.ok]
    if failed:
        print(f"  {len(failed)} sources failed, e.g. {failed[0].source_id}: {failed[0].error}")
    return wall, tree.cpu_seconds, tree.peak_mb, sum(o.new for o in outcomes)


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
            wall, cpu, peak, new = asyncio.run(poll_once(config, sorted(bodies)))
            print(
                f"{label:11} wall {wall:6.2f} s  cpu {cpu:6.2f} s (process tree)  "
                f"releases stored {new:5d}  requests {server.requests - before}  "
                f"peak {peak:.0f} MB (process tree, this process includes the corpus server)"
            )
    server.stop()
    os._exit(0)


if __name__ == "__main__":
    main()
