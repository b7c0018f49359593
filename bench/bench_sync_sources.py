"""What the daemon's start-up costs at N sources beside reading the config: the engine and
migrations, ``load_effective`` and ``sync_sources`` on an empty ``sources`` table (the
first start) and on a full one (every restart), with the statements each sent.

    python -m bench.bench_sync_sources CONFIG.yaml --db postgresql|sqlite

CONFIG is a file ``bench.bench_config_memory --keep DIR`` wrote. PostgreSQL: a database
``cfgmem_bench`` is made afresh at 127.0.0.1:5432 (trust auth), and dropped after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

from monitor.config_child import read_config_apart
from monitor.live_config import load_effective
from monitor.store.session import open_store
from monitor.store.sources import sync_sources

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_NAME = "cfgmem_bench"


def _pg(statement: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as db:
        db.execute(statement)  # type: ignore[arg-type]


async def measure(config_path: Path, url: str) -> None:
    config = read_config_apart(config_path, apart_bytes=0).config
    engine = await open_store(url)
    statements = [0]

    def count(*args: Any) -> None:
        statements[0] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        effective = await load_effective(engine, config)
        for label in ("empty table", "full table"):
            statements[0] = 0
            cpu, wall = time.process_time(), time.perf_counter()
            await sync_sources(engine, effective.config)
            print(
                f"sync_sources, {label}: {time.perf_counter() - wall:.2f} s wall, "
                f"{time.process_time() - cpu:.2f} s CPU here, {statements[0]} statements "
                f"(load {os.getloadavg()[0]:.2f})"
            )
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("config", type=Path)
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args()
    os.environ["MONITOR_CONFIG_MAX_BYTES"] = str(args.config.stat().st_size + 1)
    os.environ.pop("MONITOR_DATABASE_URL", None)
    if args.db == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(measure(args.config, f"sqlite:///{tmp}/bench.db"))
        return
    _pg(f"DROP DATABASE IF EXISTS {PG_NAME}")
    _pg(f"CREATE DATABASE {PG_NAME}")
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_NAME}"
        asyncio.run(measure(args.config, url))
    finally:
        _pg(f"DROP DATABASE IF EXISTS {PG_NAME}")


if __name__ == "__main__":
    main()
