"""CPU time and memory of a whole process tree, sampled from /proc.

``resource.getrusage(RUSAGE_CHILDREN)`` and ``wait4`` count only children that were waited
for: the parse pool's workers are children of multiprocessing's forkserver, so their CPU
would go missing. This sampler walks the tree under a pid every 0.1 s and keeps, per
process, the last CPU time seen; memory is the largest sum of RSS over the tree at one
moment (what "the whole process tree under 150 MB" means), and the same for PSS (shared
pages divided among the processes that share them). ``processes`` keeps, per process, its
command line and its own peaks, for a breakdown.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Process:
    command: str
    cpu_seconds: float = 0.0
    peak_rss: int = 0
    peak_pss: int = 0


def _stat(pid: int) -> tuple[int, float, int] | None:
    """(parent pid, cpu seconds, rss bytes) of one process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK, int(fields[21]) * _PAGE


def _pss(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


class TreeStat:
    def __init__(self, root: int) -> None:
        self.root = root
        self.cpu: dict[int, float] = {}
        self.peak_bytes = 0
        self.peak_pss_bytes = 0
        self.rss_bytes = 0  # the sum of RSS over the tree at the last sample
        self.processes: dict[int, Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def per_process(self) -> dict[int, tuple[float, int]]:
        """pid: (cpu seconds, peak rss)."""
        return {pid: (p.cpu_seconds, p.peak_rss) for pid, p in self.processes.items()}

    def _sample(self) -> None:
        stats = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                found = _stat(int(entry))
                if found:
                    stats[int(entry)] = found
        tree = {self.root}
        grew = True
        while grew:
            grew = False
            for pid, (parent, _, _) in stats.items():
                if parent in tree and pid not in tree:
                    tree.add(pid)
                    grew = True
        rss = pss = 0
        for pid in tree:
            if pid in stats:
                _, cpu, resident = stats[pid]
                proportional = _pss(pid) or resident
                self.cpu[pid] = max(self.cpu.get(pid, 0.0), cpu)
                rss += resident
                pss += proportional
                process = self.processes.get(pid)
                if process is None:
                    process = self.processes[pid] = Process(_command(pid))
                process.cpu_seconds = self.cpu[pid]
                process.peak_rss = max(process.peak_rss, resident)
                process.peak_pss = max(process.peak_pss, proportional)
        self.rss_bytes = rss
        self.peak_bytes = max(self.peak_bytes, rss)
        self.peak_pss_bytes = max(self.peak_pss_bytes, pss)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self._sample()

    def __enter__(self) -> TreeStat:
        self._sample()
        self.base = sum(self.cpu.values())
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def cpu_seconds(self) -> float:
        return sum(self.cpu.values()) - self.base

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / 1e6

    @property
    def peak_pss_mb(self) -> float:
        return self.peak_pss_bytes / 1e6
