"""monitor beside changedetection.io (issue 23): the same 1,000 feeds, the same interval.

Serves N small feeds on loopback (``bench.peer_web``: RSS and Atom, Arabic and English,
5 % of them gaining items each interval, ETag and Last-Modified honoured), then runs each
daemon in turn against a fresh copy of that web and measures it from outside:

- changedetection.io, installed from PyPI into its own venv under ``bench/.cache/``
  (git-ignored; never a dependency of the project), with its own datastore in a temporary
  directory, the plain ``html_requests`` fetcher (no browser), its default 5 fetch workers,
  and N watches added through its API (``POST /api/v1/watch``) with
  ``time_between_check`` set to the interval;
- ``monitor run`` with a config in a temporary directory (SQLite, N sources at the same
  interval, four rules, a ``log`` channel), with the Dockerfile's malloc settings.

After a warm-up (every URL checked once, and at least ``--warmup`` seconds, so the first
cycle — the first snapshot, the baseline poll — is excluded) a window of ``--window``
seconds counts the requests each URL received at the server, the CPU seconds of the
daemon's process tree (``bench.treestat``) and its RSS, then prints CPU per check for each
and their ratio. Run from the project root:

    .venv/bin/python -m bench.peer_changedetection [--sources 1000] [--interval 60]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bench.peer_measure import Window, checks_between, ratio_line
from bench.treestat import TreeStat

CDIO_VERSION = "0.60.10"
CACHE = Path(__file__).resolve().parent / ".cache"
RULES = {  # a few rules, English and Arabic, as an operator would write them
    "nato": "NATO OR الناتو",
    "cyber": "cyber* OR السيبراني",
    "aid": '"humanitarian aid" OR "مساعدات إنسانية"',
    "envoy": "ambassador AND credentials",
}


def ensure_cdio(version: str) -> Path:
    """changedetection.io's command in its own venv, installed once per version."""
    venv = CACHE / f"changedetection-{version}"
    command = venv / "bin" / "changedetection.io"
    if not command.exists():
        print(f"installing changedetection.io {version} into {venv} (a few minutes, once)")
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [venv / "bin" / "pip", "install", "-q", f"changedetection.io=={version}"], check=True
        )
    return command


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get_json(url: str, headers: dict[str, str] | None = None) -> object:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as reply:
        return json.load(reply)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.5)


class Web:
    """``bench.peer_web`` in a child process."""

    def __init__(self, sources: int, interval: float, validators: bool = True) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.peer_web",
                f"--sources={sources}",
                f"--interval={interval}",
                *([] if validators else ["--no-validators"]),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        self.urls = [f"http://127.0.0.1:{self.port}/s/{i}.xml" for i in range(sources)]

    def snapshot(self) -> tuple[list[int], Counter[str]]:
        """Requests seen so far per URL, and answers per status."""
        stats = get_json(f"http://127.0.0.1:{self.port}/_stats")
        assert isinstance(stats, dict)
        return list(stats["requests"]), Counter(stats["statuses"])

    def requests(self) -> list[int]:
        return self.snapshot()[0]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def start_cdio(command: Path, web: Web, interval: float, workdir: Path) -> subprocess.Popen[bytes]:
    datastore = workdir / "datastore"
    datastore.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "ALLOW_IANA_RESTRICTED_ADDRESSES": "true",  # its SSRF guard refuses loopback otherwise
        "LOGGER_LEVEL": "INFO",  # its default is DEBUG; monitor logs at INFO
    }
    process = subprocess.Popen(
        [command, "-h", "127.0.0.1", "-p", str(port), "-d", str(datastore)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    settings = datastore / "changedetection.json"
    wait_for(settings.exists, 120, "changedetection.io's datastore")
    wait_for(lambda: _api_key(settings) is not None, 30, "its API key")
    key = _api_key(settings)
    assert key is not None
    api = f"http://127.0.0.1:{port}/api/v1"
    headers = {"x-api-key": key, "Content-Type": "application/json"}
    wait_for(lambda: _answers(f"{api}/watch", headers), 120, "changedetection.io's API")
    # a fresh datastore comes with example watches of public sites: not ours, so gone
    existing = get_json(f"{api}/watch", headers)
    assert isinstance(existing, dict)
    for uuid in existing:
        urllib.request.urlopen(
            urllib.request.Request(f"{api}/watch/{uuid}", headers=headers, method="DELETE")
        ).close()
    for url in web.urls:
        body = {
            "url": url,
            "fetch_backend": "html_requests",
            "time_between_check_use_default": False,
            "time_between_check": {"seconds": int(interval)},
        }
        request = urllib.request.Request(
            f"{api}/watch", data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        urllib.request.urlopen(request).close()
    return process


def _api_key(settings: Path) -> str | None:
    try:
        data = json.loads(settings.read_text())
    except (OSError, ValueError):
        return None
    key = data.get("settings", {}).get("application", {}).get("api_access_token")
    return key if isinstance(key, str) else None


def _answers(url: str, headers: dict[str, str]) -> bool:
    try:
        get_json(url, headers)
    except OSError:
        return False
    return True


def start_monitor(web: Web, interval: float, workdir: Path) -> subprocess.Popen[bytes]:
    lines = [
        f"database: sqlite:///{workdir / 'monitor.db'}",
        f"defaults: {{interval: {int(interval)}s}}",
        "sources:",
        *(f"  - id: s{i}\n    url: {url}" for i, url in enumerate(web.urls)),
        "rules:",
        *(
            f"  - id: {rule}\n    query: '{query}'\n    channels: [log]"
            for rule, query in RULES.items()
        ),
        "channels:\n  - id: log\n    type: log",
    ]
    config = workdir / "monitor.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": "262144"}
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "run"],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def observe(
    name: str, process: subprocess.Popen[bytes], web: Web, interval: float, args: argparse.Namespace
) -> Window:
    """Warm up, then watch one window from outside: the server's counters and the tree."""
    started = time.monotonic()
    with TreeStat(process.pid) as tree:

        def warmed() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}")
            return min(web.requests()) >= 1 and time.monotonic() - started >= args.warmup

        wait_for(warmed, args.warmup + 20 * interval, f"{name} to check every URL once")
        before, statuses_before = web.snapshot()
        cpu_before, rss_warm = tree.cpu_seconds, tree.rss_bytes
        per_process = dict(tree.cpu)
        tree.peak_bytes = rss_warm
        opened = time.monotonic()
        wait_for(lambda: time.monotonic() - opened >= args.window, 2 * args.window, "the window")
        after, statuses_after = web.snapshot()
        seconds = time.monotonic() - opened
        cpu, rss_final, peak = tree.cpu_seconds - cpu_before, tree.rss_bytes, tree.peak_bytes
        print_busiest(name, tree, per_process)
    if process.poll() is not None:
        raise RuntimeError(f"{name} exited with {process.returncode} during the window")
    statuses = statuses_after
    statuses.subtract(statuses_before)
    return Window(
        name=name,
        seconds=seconds,
        interval=interval,
        checks=checks_between(before, after),
        statuses=+statuses,
        cpu_seconds=cpu,
        rss_warm=rss_warm,
        rss_peak=max(peak, rss_final),
        rss_final=rss_final,
    )


def print_busiest(name: str, tree: TreeStat, before: dict[int, float]) -> None:
    """The processes of the tree that spent the most CPU since ``before`` (pid: seconds)."""
    spent = {pid: cpu - before.get(pid, 0.0) for pid, cpu in list(tree.cpu.items())}
    print(f"  {name}: CPU in the window by process", flush=True)
    for pid, seconds in sorted(spent.items(), key=lambda item: -item[1])[:4]:
        print(f"    {seconds:6.1f} s  {tree.processes[pid].command[:100]}", flush=True)


def run(name: str, args: argparse.Namespace, cdio: Path) -> Window:
    web = Web(args.sources, args.interval, not args.no_validators)
    try:
        with tempfile.TemporaryDirectory(prefix=f"peer-{name}-") as tmp:
            if name == "changedetection.io":
                process = start_cdio(cdio, web, args.interval, Path(tmp))
            else:
                process = start_monitor(web, args.interval, Path(tmp))
            try:
                return observe(name, process, web, args.interval, args)
            finally:
                process.terminate()
                try:
                    process.wait(60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    finally:
        web.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between checks")
    parser.add_argument("--warmup", type=float, default=120.0, help="seconds at least")
    parser.add_argument("--window", type=float, default=300.0, help="seconds measured")
    parser.add_argument(
        "--rounds", type=int, default=1, help="each daemon this many times, alternately"
    )
    parser.add_argument("--only", choices=("changedetection.io", "monitor"))
    parser.add_argument(
        "--first", choices=("changedetection.io", "monitor"), default="changedetection.io"
    )
    parser.add_argument("--cdio-version", default=CDIO_VERSION)
    parser.add_argument(
        "--no-validators", action="store_true", help="a web without ETags: every check a 200"
    )
    args = parser.parse_args()
    # monitor alone needs no changedetection.io installed (a few minutes the first time)
    cdio = ensure_cdio(args.cdio_version) if args.only != "monitor" else Path()
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(
        f"{args.sources} feeds, interval {args.interval:g} s, warm-up ≥ {args.warmup:g} s, "
        f"window {args.window:g} s{'' if not args.no_validators else ', no validators'}; "
        f"changedetection.io {args.cdio_version}, monitor at {head}"
    )
    names = (
        [args.only]
        if args.only
        else sorted(("changedetection.io", "monitor"), key=args.first.__ne__)
    )
    results: dict[str, list[Window]] = {name: [] for name in names}
    for round_ in range(args.rounds):
        for name in names if round_ % 2 == 0 else names[::-1]:  # alternately first
            load = os.getloadavg()
            window = run(name, args, cdio)
            results[name].append(window)
            for line in window.lines():
                print(line, flush=True)
            print(f"  load before {load[0]:.2f}, after {os.getloadavg()[0]:.2f} (1-minute average)")
    if len(names) == 2:
        for mine, theirs in zip(results["monitor"], results["changedetection.io"], strict=True):
            print(ratio_line(mine, theirs))


if __name__ == "__main__":
    main()
