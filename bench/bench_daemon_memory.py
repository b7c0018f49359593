"""What each polled source costs the daemon's memory (issue 23): ``monitor run`` against the
sim (``bench.sim``) with N sources on SQLite, its RSS and (``--trace``) its live
allocations read when half the sources have had their first poll, when all have, and
after every source's second poll.

    python -m bench.bench_daemon_memory 20000 [--trace] [--interval 600] [--until HH:MM]

The config is the same at every reading, so the difference between the first two readings
divided by N/2 is the cost of a polled source (the slope method); the third shows what a
second poll of every source adds (a leak grows it). ``--trace`` runs the daemon under
``tracemalloc`` (slower) and prints the lines whose live bytes grew most between readings.
Each reading is taken in the daemon on SIGUSR2, after a ``gc.collect()``.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.sim.run import ROOT, Database, SimProcess, monitor_env, tree_rss, write_config
from bench.sim.server import Settings
from monitor.config.yamlfile import MAX_BYTES_VARIABLE, MAX_FILE_BYTES

SNAPSHOT = "BENCH_MEMORY_SNAPSHOT"  # where the daemon writes each reading


def _in_daemon() -> None:
    """Run ``monitor`` with a SIGUSR2 handler that writes a reading (RSS, and the
    tracemalloc snapshot when tracing) to the path in ``$BENCH_MEMORY_SNAPSHOT``.N."""
    import gc

    count = 0

    def reading(signum: int, frame: object) -> None:
        nonlocal count
        gc.collect()
        count += 1
        path = f"{os.environ[SNAPSHOT]}.{count}"
        snapshot = tracemalloc.take_snapshot() if tracemalloc.is_tracing() else None
        rss = tree_rss(os.getpid())[0]
        facts: dict[str, Any] = {"pymalloc": _pymalloc(), "maps": _maps()}
        facts["modules"] = sorted(sys.modules)
        facts["large"] = _large_containers()
        # what glibc's malloc holds free: RSS again once it has given back what it can
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        facts["trimmed"] = tree_rss(os.getpid())[0]
        with open(path + ".tmp", "wb") as out:
            pickle.dump((rss, snapshot, facts), out)
        os.replace(path + ".tmp", path)

    signal.signal(signal.SIGUSR2, reading)
    from monitor.cli import main

    sys.argv = ["monitor", *sys.argv[2:]]
    main()


def _pymalloc() -> dict[str, int]:
    """pymalloc's own figures (``sys._debugmallocstats``, written to fd 2)."""
    with tempfile.TemporaryFile("w+") as out:
        saved = os.dup(2)
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read()
    wanted = {
        "arenas allocated current": "arenas",
        "bytes in allocated blocks": "allocated",
        "bytes in available blocks": "available",
        "bytes in unused pools": "unused_pools",
    }
    found = {}
    for line in text.splitlines():
        for label, key in wanted.items():
            if line.startswith("# " + label) or line.startswith(label):
                found[key] = int(line.rsplit("=", 1)[1].replace(",", "").strip())
    return found


def _pymalloc_text(found: dict[str, int]) -> str:
    return ", ".join(
        f"{key} {value}" if key == "arenas" else f"{key} {value / 1e6:.1f} MB"
        for key, value in found.items()
    )


def _large_containers() -> list[str]:
    """The containers of more than 2,000 entries (a dict keyed by source or URL would show
    here), and the SQLAlchemy engines' compiled caches."""
    import gc

    found = []
    for thing in gc.get_objects():
        if isinstance(thing, dict | list | set | frozenset | tuple) and len(thing) > 2000:
            sample = next(iter(thing), None)
            found.append(f"{type(thing).__name__} of {len(thing)}, e.g. {repr(sample)[:60]}")
        elif type(thing).__name__ == "Engine" and hasattr(thing, "_compiled_cache"):
            cache = thing._compiled_cache
            found.append(f"Engine compiled cache: {len(cache) if cache is not None else 0}")
    return found


def _maps() -> dict[str, int]:
    """RSS by kind of mapping: the main heap, anonymous maps (pymalloc's arenas, threads'
    malloc arenas, large blocks), files."""
    out: dict[str, int] = {}
    kind = ""
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            first = line.split(maxsplit=6)
            if "-" in first[0] and len(first) >= 5 and ":" not in first[0]:
                name = first[5].strip() if len(first) > 5 else ""
                kind = "heap" if name == "[heap]" else "anon" if not name else "other"
            elif line.startswith("Rss:"):
                out[kind] = out.get(kind, 0) + int(line.split()[1]) * 1024
    return out


def _read(
    base: str, count: int, pid: int
) -> tuple[int, tracemalloc.Snapshot | None, dict[str, Any]]:
    os.kill(pid, signal.SIGUSR2)
    path = Path(f"{base}.{count}")
    while not path.exists():
        time.sleep(0.5)
    with path.open("rb") as data:
        rss, snapshot, facts = pickle.load(data)
    return int(rss), snapshot, facts


def _top(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, per: int) -> None:
    diff = after.compare_to(before, "lineno")
    for stat in diff[:25]:
        frame = stat.traceback[0]
        print(
            f"    {stat.size_diff / per:8.1f} B/poll {stat.count_diff / per:6.2f} blocks/poll"
            f"  {frame.filename.split('site-packages/')[-1]}:{frame.lineno}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", type=int)
    parser.add_argument("--interval", type=float, default=600.0)
    parser.add_argument("--trace", action="store_true")
    parser.add_argument("--modules", default="", help="write the daemon's modules here")
    parser.add_argument("--until", default="", help="give up at this UTC time (HH:MM)")
    args = parser.parse_args()
    stop = time.time() + 3600
    if args.until:
        hour, minute = map(int, args.until.split(":"))
        stop = datetime.now(UTC).replace(hour=hour, minute=minute, second=0).timestamp()
    sim = SimProcess(Settings(args.sources, args.interval, baseline=1))
    with tempfile.TemporaryDirectory(prefix="mem-bench-") as tmp:
        url = f"sqlite:///{tmp}/monitor.db"
        config = Path(tmp) / "config.yaml"
        write_config(config, url, sim)
        env = monitor_env()
        if config.stat().st_size > MAX_FILE_BYTES:
            env[MAX_BYTES_VARIABLE] = str(config.stat().st_size)
        env[SNAPSHOT] = f"{tmp}/reading"
        if args.trace:
            env["PYTHONTRACEMALLOC"] = "1"
        base = [sys.executable, "-m", "monitor", "--config", str(config)]
        subprocess.run([*base, "db", "upgrade"], cwd=ROOT, check=True, env=env)
        command = [sys.executable, "-m", "bench.bench_daemon_memory", "--in-daemon"]
        log = (Path(tmp) / "daemon.log").open("wb")
        daemon = subprocess.Popen(
            [*command, "--config", str(config), "run"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        database = Database(url)
        readings: list[tuple[str, int, tracemalloc.Snapshot | None]] = []
        try:
            marks = [("half polled once", lambda: polled() >= args.sources // 2)]
            marks.append(("all polled once", lambda: polled() >= args.sources))
            marks.append(("all polled twice", lambda: twice() >= args.sources))

            def polled() -> int:
                try:
                    return args.sources - database.unpolled(args.sources)
                except Exception:
                    return 0

            def twice() -> int:
                return int(sim.get("/_stats")["polled_twice"])

            for name, reached in marks:
                while not reached():
                    if daemon.poll() is not None:
                        raise RuntimeError(f"monitor run exited: {log.name}")
                    if time.time() > stop:
                        raise TimeoutError(f"not reached by --until: {name}")
                    time.sleep(1)
                rss, snapshot, facts = _read(env[SNAPSHOT], len(readings) + 1, daemon.pid)
                readings.append((name, rss, snapshot))
                modules = facts["modules"]
                for line in facts["large"]:
                    print("   ", line)
                print(
                    f"{name}: daemon RSS {rss / 1e6:.1f} MB, {facts['trimmed'] / 1e6:.1f} MB"
                    f" after malloc_trim (load {os.getloadavg()[0]:.1f}); maps"
                    f" { ({k: round(v / 1e6, 1) for k, v in facts['maps'].items()}) };"
                    f" pymalloc {_pymalloc_text(facts['pymalloc'])}"
                )
                sys.stdout.flush()
        finally:
            daemon.terminate()
            daemon.wait(timeout=60)
            sim.stop()
        if args.modules and readings:
            Path(args.modules).write_text("\n".join(modules) + "\n")
        # polls between readings: the second half's first polls, then every source's second
        polls = [args.sources - args.sources // 2, args.sources]
        for (name0, rss0, snap0), (name1, rss1, snap1), per in zip(
            readings, readings[1:], polls, strict=False
        ):
            print(f"{name0} → {name1}: {(rss1 - rss0) / per:.0f} B of RSS a poll")
            if snap0 is not None and snap1 is not None:
                _top(snap0, snap1, per)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--in-daemon"]:
        _in_daemon()
    else:
        main()
