"""The side-by-side bench's arithmetic (bench.peer_measure): percentiles, checks per URL
between two snapshots of the server's counters, and a window's derived figures."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from bench.peer_measure import Window, checks_between, percentile, ratio_line


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([5], 50, 5),
        ([1, 2, 3, 4], 50, 2),  # nearest rank: ceil(0.5 * 4) = the 2nd
        ([1, 2, 3, 4, 5], 50, 3),
        ([3, 1, 2], 100, 3),  # unsorted input
        ([3, 1, 2], 0, 1),  # q 0 is the smallest
        (list(range(1, 101)), 99, 99),
        (list(range(1, 101)), 99.5, 100),
        ([2.5, 0.5], 50, 0.5),
    ],
)
def test_percentile_is_the_nearest_rank(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == expected


@pytest.mark.parametrize(("values", "q"), [([], 50), ([1], -1), ([1], 101)])
def test_percentile_refuses_what_has_none(values: list[int], q: float) -> None:
    with pytest.raises(ValueError):
        percentile(values, q)


def test_checks_between_snapshots_are_per_url_differences() -> None:
    assert checks_between([1, 1, 0], [3, 2, 0]) == [2, 1, 0]
    with pytest.raises(ValueError):
        checks_between([1], [1, 2])


def window(name: str, cpu: float, checks: list[int], seconds: float = 120.0) -> Window:
    return Window(
        name=name,
        seconds=seconds,
        interval=60.0,
        checks=checks,
        statuses=Counter({"304": 3, "200": 1}),
        cpu_seconds=cpu,
        rss_warm=100_000_000,
        rss_peak=120_000_000,
        rss_final=110_000_000,
    )


def test_window_figures() -> None:
    seen = window("monitor", cpu=0.6, checks=[2, 2, 1, 3])
    assert seen.total == 8
    assert seen.expected == 8  # four URLs, two intervals
    assert seen.cpu_per_check_ms == pytest.approx(75.0)
    assert seen.core_percent == pytest.approx(0.5)
    first, cpu, rss = seen.lines()
    assert "8 checks in 120 s (100% of one per URL per 60 s" in first
    assert "min 1, median 2, max 3" in first
    assert "1 × 200, 3 × 304" in first
    assert "75.00 ms per check" in cpu
    assert "after warm-up 100 MB, peak 120 MB, final 110 MB" in rss


def test_a_window_without_checks_has_no_cpu_per_check() -> None:
    assert math.isnan(window("idle", cpu=1.0, checks=[0, 0]).cpu_per_check_ms)


def test_ratio_says_whether_the_target_is_met() -> None:
    peer = window("peer", cpu=3.0, checks=[5, 5])  # 300 ms per check
    assert "= 0.250 (1/4.0; meets" in ratio_line(window("mine", 0.15, [1, 1]), peer)
    assert "misses" in ratio_line(window("mine", 1.5, [2, 3]), peer)  # 0.3 s / 0.3 s
