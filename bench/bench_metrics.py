"""What the per-source metrics cost: bytes a source (``tracemalloc``) and a scrape's CPU.

    python -m bench.bench_metrics 100000 [--scrapes 3]

N distinct sources go through ``Metrics.record_poll`` with the mix a daemon sees over a few
intervals: every source unchanged once; every second one also ``ok`` with new releases;
every tenth also ``failed``; every twentieth with skipped items. The source ids are made
before tracing starts (in the daemon they are the config's). Then the exposition (what
``/metrics`` serves, without the database read) is written ``--scrapes`` times.
"""

from __future__ import annotations

import argparse
import gc
import os
import time
import tracemalloc
from dataclasses import dataclass

from monitor.ops.metrics import Metrics


@dataclass(frozen=True)
class Outcome:
    source_id: str
    ok: bool = True
    not_modified: bool = False
    new: int = 0
    skipped: int = 0


def outcomes(ids: list[str]) -> list[list[Outcome]]:
    """One list per round, so that a source's second result comes after every first."""
    return [
        [Outcome(s, not_modified=True) for s in ids],
        [Outcome(s, new=1 + i % 3) for i, s in enumerate(ids) if i % 2 == 0],
        [Outcome(s, ok=False) for i, s in enumerate(ids) if i % 10 == 0],
        [Outcome(s, skipped=2) for i, s in enumerate(ids) if i % 20 == 0],
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sources", type=int)
    parser.add_argument("--scrapes", type=int, default=3)
    args = parser.parse_args()
    ids = [f"source-{i}" for i in range(args.sources)]
    rounds = outcomes(ids)
    metrics = Metrics()
    exposition = getattr(metrics, "exposition", None)
    if exposition is None:  # before: what ``scrape`` served
        from prometheus_client import generate_latest

        def exposition() -> bytes:
            return generate_latest(metrics.registry)

    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    series = 0
    for number, batch in enumerate(rounds):
        for outcome in batch:
            metrics.record_poll(outcome, 0.01)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - base
        series += len(batch)
        print(
            f"  after round {number + 1} ({series:,} results counted): {held / 1e6:.1f} MB, "
            f"{held / args.sources:,.0f} B a source"
        )
    tracemalloc.stop()
    for _ in range(args.scrapes):
        cpu, wall = time.process_time(), time.perf_counter()
        body = exposition()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        lines = body.count(b"\n")
        print(
            f"  exposition: {cpu:.3f} s CPU, {wall:.3f} s wall, {len(body) / 1e6:.1f} MB, "
            f"{lines:,} lines; load {os.getloadavg()[0]:.2f}"
        )


if __name__ == "__main__":
    main()
