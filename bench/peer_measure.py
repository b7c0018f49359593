"""Figures of one daemon watching the simulated web, taken from outside it (issue 23).

What a window of observation saw: the requests each URL received at the server, the CPU
seconds of the daemon's process tree, and its RSS (after warm-up, peak in the window,
final). Pure helpers, so the arithmetic is tested apart from the bench that runs daemons.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass


def percentile(values: list[int] | list[float], q: float) -> float:
    """The nearest-rank percentile: the smallest value with at least ``q`` % of the values
    at or below it (``q`` in 0–100)."""
    if not values:
        raise ValueError("no values")
    if not 0 <= q <= 100:
        raise ValueError(f"q {q} is not in 0-100")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def checks_between(before: list[int], after: list[int]) -> list[int]:
    """Requests each URL received between two snapshots of the server's counters."""
    if len(before) != len(after):
        raise ValueError("snapshots of different webs")
    return [b - a for a, b in zip(before, after, strict=True)]


@dataclass(frozen=True)
class Window:
    """What one daemon did in one window of observation."""

    name: str
    seconds: float  # the window's wall time
    interval: float  # the configured interval between two checks of one URL
    checks: list[int]  # requests each URL received in the window
    statuses: Counter[str]  # the server's answers in the window, by status
    cpu_seconds: float  # CPU of the daemon's process tree in the window
    rss_warm: int  # bytes: RSS of the tree when the window opened
    rss_peak: int  # the largest RSS of the tree in the window
    rss_final: int  # RSS of the tree when the window closed

    @property
    def total(self) -> int:
        return sum(self.checks)

    @property
    def expected(self) -> float:
        """Checks the window should hold if every URL were checked once per interval."""
        return len(self.checks) * self.seconds / self.interval

    @property
    def cpu_per_check_ms(self) -> float:
        return 1000 * self.cpu_seconds / self.total if self.total else math.nan

    @property
    def core_percent(self) -> float:
        return 100 * self.cpu_seconds / self.seconds

    def lines(self) -> list[str]:
        """The window as the bench prints it."""
        statuses = ", ".join(f"{count} × {code}" for code, count in sorted(self.statuses.items()))
        return [
            f"{self.name}: {self.total} checks in {self.seconds:.0f} s "
            f"({self.total / self.expected:.0%} of one per URL per {self.interval:g} s; "
            f"per URL min {min(self.checks)}, median {percentile(self.checks, 50):g}, "
            f"max {max(self.checks)}; answers {statuses})",
            f"  CPU {self.cpu_seconds:.1f} s = {self.core_percent:.1f} % of one core, "
            f"{self.cpu_per_check_ms:.2f} ms per check",
            f"  RSS (tree) after warm-up {self.rss_warm / 1e6:.0f} MB, "
            f"peak {self.rss_peak / 1e6:.0f} MB, final {self.rss_final / 1e6:.0f} MB",
        ]


def ratio_line(mine: Window, theirs: Window) -> str:
    """monitor's CPU per poll over the peer's CPU per check (the target is at most 1/3)."""
    ratio = mine.cpu_per_check_ms / theirs.cpu_per_check_ms
    verdict = "meets" if ratio <= 1 / 3 else "misses"
    return (
        f"CPU per check: {mine.name} {mine.cpu_per_check_ms:.2f} ms / {theirs.name} "
        f"{theirs.cpu_per_check_ms:.2f} ms = {ratio:.3f} (1/{1 / ratio:.1f}; {verdict} the "
        f"≤ 1/3 target); RSS final {mine.rss_final / 1e6:.0f} MB vs "
        f"{theirs.rss_final / 1e6:.0f} MB"
    )
