"""Driving a simulation: the sim's process, the monitor's config, the due times read from
the database while it runs, and the CPU and memory of a process tree (from /proc)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.rulegen import generated_rules
from bench.sim.analysis import DueLog
from bench.sim.content import LISTING_SELECT, shapes
from bench.sim.server import Settings

ROOT = Path(__file__).resolve().parents[2]
TICKS = os.sysconf("SC_CLK_TCK")


class SimProcess:
    """``python -m bench.sim`` as a child process; its port is the first line it prints."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        command = [sys.executable, "-m", "bench.sim", "--sources", str(settings.sources)]
        command += ["--interval", str(settings.interval), "--change", str(settings.change)]
        command += ["--fail", str(settings.fail), "--copies", str(settings.copies)]
        command += ["--seed", str(settings.seed), "--baseline", str(settings.baseline)]
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the sim did not start (exit {self.process.wait()})")
        self.port = int(json.loads(line)["port"])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url(path), timeout=120) as response:
            return json.loads(response.read())

    def post(self, path: str) -> None:
        request = urllib.request.Request(self.url(path), data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=30):
            pass

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        assert self.process.stdout is not None
        self.process.stdout.close()


def write_config(path: Path, database: str, sim: SimProcess, rules: int = 100) -> None:
    """N sources on the sim, ``rules`` rules (NATO and cyber in Arabic and English, then
    generated ones), every rule to one webhook channel, the sim's receiver."""
    settings = sim.settings
    lines = [
        f"database: {database}",
        f"defaults: {{interval: {int(settings.interval)}s, timeout: 10s, max_connections_per_host: 32}}",
        "concepts:",
        '  nato: [NATO, OTAN, الناتو, "حلف شمال الأطلسي"]',
        '  cyber: ["cyber*", "الأمن السيبراني"]',
        "sources:",
    ]
    for i, shape in enumerate(shapes(settings.seed, settings.sources)):
        if shape.kind == "html":
            url = sim.url(f"/s/{i}.html")
            lines.append(f'  - {{id: s{i}, url: "{url}", type: html, select: {LISTING_SELECT}}}')
        else:
            lines.append(f'  - {{id: s{i}, url: "{sim.url(f"/s/{i}.xml")}"}}')
    queries = [("nato", "@nato"), ("cyber", "@cyber"), *generated_rules(rules - 2)]
    lines.append("rules:")
    for rule_id, query in queries[:rules]:
        lines.append(
            f"  - {{id: {rule_id}, query: {json.dumps(query, ensure_ascii=False)}, channels: [hook]}}"
        )
    lines += ["channels:", "  - id: hook", "    type: webhook", f"    url: {sim.url('/hook')}"]
    lines.append("    timeout: 10s")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def monitor_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "MONITOR_DATABASE_URL"}


class Database:
    """Read-only looks at the monitor's database: due times, sources not yet polled, releases
    not yet matched, size."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = url.startswith("sqlite")
        self.path = url.split(":///", 1)[1] if self.sqlite else ""

    def _rows(self, query: str) -> list[tuple[Any, ...]]:
        if self.sqlite:
            with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30) as db:
                return db.execute(query).fetchall()
        import psycopg

        with psycopg.connect(self.url.replace("+psycopg", ""), autocommit=True) as db:
            return db.execute(query).fetchall()  # type: ignore[arg-type]

    def dues(self) -> list[tuple[int, float | None]]:
        return [
            (int(i[1:]), _stamp(due))
            for i, due in self._rows("SELECT id, next_poll_at FROM sources")
        ]

    def unpolled(self, sources: int) -> int:
        """How many of the ``sources`` have not been polled yet: counted from the polled
        rows, since the rows themselves appear only when the daemon starts (an empty table
        is not "every source polled")."""
        polled = self._rows("SELECT count(*) FROM sources WHERE last_poll_at IS NOT NULL")
        return sources - int(polled[0][0])

    def unmatched(self) -> int:
        """Releases the match worker has not processed yet (stories, matches, alerts)."""
        return int(
            self._rows(
                "SELECT count(*) FROM releases"
                " WHERE matched_hash IS NULL OR matched_hash <> content_hash"
            )[0][0]
        )

    def size(self) -> int:
        if self.sqlite:
            ((pages, free, size),) = self._rows(
                "SELECT * FROM pragma_page_count, pragma_freelist_count, pragma_page_size"
            )
            return int((pages - free) * size)
        return int(self._rows("SELECT pg_database_size(current_database())")[0][0])


def _stamp(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite: naive UTC text
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return float(value.timestamp())


class Watcher(threading.Thread):
    """Every ``every`` seconds: the due times (into ``dues``) and the RSS of the monitor
    processes ``pids`` (one or several instances)."""

    def __init__(self, database: Database, *pids: int, every: float, backends: str = "") -> None:
        super().__init__(daemon=True)
        self.database, self.pids, self.every = database, pids, every
        # PostgreSQL database whose backends' CPU to follow: pid -> (last seen, CPU seconds),
        # so that a pooled connection closed before the end still counts
        self.backends_name = backends
        self.backends: dict[int, tuple[float, float]] = {}
        self.dues = DueLog()
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        # (at, the largest daemon's RSS, all the trees' RSS) bytes
        self.rss: list[tuple[float, int, int]] = []
        self.errors = 0

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                rows = self.database.dues()
                with self.lock:
                    self.dues.observe(time.time(), rows)
                sizes = [tree_rss(pid) for pid in self.pids]
                own = max(size[0] for size in sizes)
                self.rss.append((time.time(), own, sum(size[1] for size in sizes)))
                if self.backends_name:
                    seen = time.time()
                    for pid, cpu in backends_cpu(self.backends_name).items():
                        self.backends[pid] = (seen, cpu)
            except Exception:  # the database is busy or the process gone: next round
                self.errors += 1

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=60)


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its descendants (and of the children it has reaped)."""
    total = 0.0
    for member in descendants(pid):
        try:
            with open(f"/proc/{member}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
        if member == pid:
            total += int(fields[13]) + int(fields[14])
    return total / TICKS


def tree_rss(pid: int) -> tuple[int, int]:
    """RSS of ``pid`` and of its whole tree, in bytes."""
    own = total = 0
    for member in descendants(pid):
        try:
            with open(f"/proc/{member}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        value = int(line.split()[1]) * 1024
                        total += value
                        own = value if member == pid else own
        except OSError:
            continue
    return own, total


def backends_cpu(database: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving ``database`` (its process title names
    it): the server's share of the work, which the monitor's trees do not include."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                title = cmdline.read()
            if not title.startswith(b"postgres: ") or f" {database} ".encode() not in title:
                continue
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(entry)] = (int(fields[11]) + int(fields[12])) / TICKS
    return found
