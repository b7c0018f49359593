"""What loading the sim's config costs one process: RSS after the load, the peak during it,
the time, and (``--trace``) the live allocations by line.

    python -m bench.bench_config_memory 100000 [--apart] [--trace] [--keep DIR]

Each measurement runs in a fresh interpreter (``python -c``), so imports and earlier loads
do not blur it; the RSS figures are the load's own: after minus before imports are done.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.sim.run import write_config
from bench.sim.server import Settings
from monitor.config.yamlfile import MAX_BYTES_VARIABLE

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import gc, json, resource, sys, time, tracemalloc
import monitor.config.load, monitor.part_checks, monitor.config.model
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
gc.collect()
before = rss()
trace = sys.argv[2] == "1"
if trace:
    tracemalloc.start(1)
t0 = time.process_time(); c0 = resource.getrusage(resource.RUSAGE_CHILDREN); w0 = time.perf_counter()
if sys.argv[3] == "apart":
    import monitor.config_child
    config = monitor.config_child.read_config_apart(sys.argv[1], apart_bytes=0).config
else:
    config = monitor.config.load.load_config(sys.argv[1], parts=monitor.part_checks.check_parts)
c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
child_cpu = c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime
child_peak = c1.ru_maxrss * 1024
cpu = time.process_time() - t0; wall = time.perf_counter() - w0
for s in config.sources:  # what the daemon asks of every source at start-up
    config.interval_of(s)
gc.collect()
after = rss()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
top = []
if trace:
    snap = tracemalloc.take_snapshot()
    traced = tracemalloc.get_traced_memory()[0]
    for stat in snap.statistics("lineno")[:12]:
        frame = stat.traceback[0]
        top.append([f"{frame.filename.split('site-packages/')[-1]}:{frame.lineno}", stat.size])
    top.append(["traced total", traced])
print(json.dumps({"sources": len(config.sources), "cpu": cpu, "wall": wall,
                  "rss_added": after - before, "child_cpu": child_cpu, "child_peak": child_peak, "peak_added": peak - before, "top": top}))
"""


@dataclass
class _FakeSim:
    settings: Settings

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:9{path}"


def make_config(path: Path, sources: int) -> None:
    write_config(path, "sqlite:///unused.db", _FakeSim(Settings(sources, 600.0)))  # type: ignore[arg-type]


def measure(path: Path, trace: bool, apart: bool) -> dict[str, object]:
    env = {**os.environ, MAX_BYTES_VARIABLE: str(path.stat().st_size + 1)}
    env.pop("MONITOR_DATABASE_URL", None)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            str(path),
            "1" if trace else "0",
            "apart" if apart else "here",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout.splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sources", type=int)
    parser.add_argument("--trace", action="store_true")
    parser.add_argument("--apart", action="store_true", help="read_config_apart (the daemon's)")
    parser.add_argument("--keep", type=Path, help="write the config here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = (args.keep or Path(tmp)) / f"config-{args.sources}.yaml"
        if not path.exists():
            make_config(path, args.sources)
        result = measure(path, args.trace, args.apart)
        size = path.stat().st_size
    mb = 1024 * 1024
    load = os.getloadavg()[0]
    print(
        f"{result['sources']:,} sources, {size / 1e6:.1f} MB file: "
        f"cpu {result['cpu']:.2f} s (wall {result['wall']:.2f} s), "
        f"RSS +{int(result['rss_added']) / mb:.0f} MB (peak +{int(result['peak_added']) / mb:.0f}), "  # type: ignore[call-overload]
        f"child cpu {result['child_cpu']:.2f} s (peak {int(result['child_peak']) / mb:.0f} MB), "  # type: ignore[call-overload]
        f"load {load:.2f}"
    )
    for where, size in result["top"]:  # type: ignore[attr-defined]
        print(f"  {size / mb:8.1f} MB  {where}")


if __name__ == "__main__":
    main()
