"""monitor beside newsboat and rss2email on the same feeds, over loopback.

Serves the corpus (../shared/corpus/feeds, with ETags) and runs, when installed, newsboat
(`reload-threads 8`), rss2email (`r2e run --no-send`) and `monitor poll` (1,000 rules, log
channel, `max_connections_per_host: 8`), each cold then warm, printing wall time, CPU time
and peak memory of each process tree, and the ratios. It installs nothing: on Debian,
`apt-get install newsboat rss2email` first. Memory and CPU are those of each command's
whole process tree, sampled from /proc. Run from the project root:

    .venv/bin/python -m bench.peers
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.corpus_server import CorpusServer, corpus_files, write_config
from bench.treestat import TreeStat


@dataclass
class Run:
    wall: float
    cpu: float
    peak_mb: float  # the largest sum of RSS over the process tree at one moment
    pss_mb: float  # the same with shared pages divided among the processes sharing them
    code: int


def measure(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Wall time, CPU and peak memory of a command's whole process tree.

    Sampled from /proc (``bench.treestat``): ``wait4`` would miss the parse workers, which
    are children of multiprocessing's forkserver, not of the command.
    """
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    with TreeStat(process.pid) as tree:
        code = process.wait()
    wall = time.perf_counter() - started
    return Run(wall, tree.cpu_seconds, tree.peak_mb, tree.peak_pss_mb, code)


def newsboat(workdir: Path, urls: list[str]) -> list[str] | None:
    if not shutil.which("newsboat"):
        return None
    (workdir / "urls").write_text("\n".join(urls) + "\n")
    (workdir / "config").write_text("reload-threads 8\n")
    return ["newsboat", "-u", "urls", "-C", "config", "-c", "cache.db", "-x", "reload"]


def rss2email(workdir: Path, urls: list[str]) -> list[str] | None:
    if not shutil.which("r2e"):
        return None
    config, data = workdir / "r2e.cfg", workdir / "r2e.json"
    base = ["r2e", "-c", str(config), "-d", str(data)]
    subprocess.run([*base, "new", "bench@example.org"], check=True, capture_output=True)
    for i, url in enumerate(urls):
        subprocess.run([*base, "add", f"f{i}", url], check=True, capture_output=True)
    return [*base, "run", "--no-send"]


def main() -> None:
    import compileall

    # as an installed package would be: with PYTHONDONTWRITEBYTECODE set (as it may be in
    # containers and CI) the checkout has no bytecode, and each monitor run below would
    # spend 0.2-0.4 s compiling it again
    compileall.compile_dir("monitor", quiet=1)
    bodies = corpus_files()
    server = CorpusServer(bodies).start()
    urls = [f"http://127.0.0.1:{server.port}/{name}" for name in sorted(bodies)]
    results: dict[str, list[Run]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        commands: dict[str, list[str] | None] = {}
        for name, make in (("newsboat", newsboat), ("rss2email", rss2email)):
            workdir = root / name
            workdir.mkdir()
            commands[name] = make(workdir, urls)
        (root / "monitor").mkdir()
        config = root / "monitor" / "monitor.yaml"
        write_config(
            config, f"sqlite:///{root / 'monitor' / 'db.sqlite'}", server.port, sorted(bodies), 1000
        )
        commands["monitor"] = [sys.executable, "-m", "monitor", "--config", str(config), "poll"]
        env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
        for name, command in commands.items():
            if command is None:
                print(f"{name:10} not installed: skipped")
                continue
            results[name] = [measure(command, root / name, env) for _ in ("cold", "warm")]
            for label, run in zip(("cold", "warm"), results[name], strict=True):
                print(
                    f"{name:10} {label}  wall {run.wall:7.2f} s  cpu {run.cpu:7.2f} s  "
                    f"peak rss {run.peak_mb:4.0f} MB  pss {run.pss_mb:4.0f} MB  exit {run.code}"
                )
    server.stop()
    if "monitor" in results:
        mine = results["monitor"]
        for peer in ("newsboat", "rss2email"):
            if peer in results:
                theirs = results[peer]
                print(
                    f"monitor / {peer}: cold wall x{mine[0].wall / theirs[0].wall:.2f}, "
                    f"warm wall x{mine[1].wall / theirs[1].wall:.2f}"
                )


if __name__ == "__main__":
    main()
