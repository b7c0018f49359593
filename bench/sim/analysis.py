"""What a run of the simulation shows: from the sim's dump (requests, new items, alerts) and
the due times read from the ``sources`` table while it ran.

A poll's *due* time is the ``next_poll_at`` its previous poll wrote (the claim leaves it
as it is), so ``DueLog`` keeps, per source, each value it saw and when it first saw it. A
request is matched with the latest value seen before it: lateness is the request's time
minus that due time. Two requests matched with one due time, or a request long before
its due time, are a source polled twice; a due time in the window that no request
answered is a poll skipped.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bench.sim.content import parse_link

EARLY_TOLERANCE = 2.0  # seconds: clocks are one machine's, read around a query


class DueLog:
    def __init__(self) -> None:
        self.seen: dict[int, tuple[list[float], list[float]]] = {}  # source: (when, due)

    def observe(self, taken: float, rows: Iterable[tuple[int, float | None]]) -> None:
        """``rows`` read by a query that ended at ``taken``."""
        for source, due in rows:
            if due is None:
                continue
            when, dues = self.seen.setdefault(source, ([], []))
            if not dues or dues[-1] != due:
                when.append(taken)
                dues.append(due)

    def due_at(self, source: int, at: float) -> tuple[int, float] | None:
        """(index, due time) of the value ``source`` had just before ``at``."""
        when, dues = self.seen.get(source, ([], []))
        index = bisect.bisect_left(when, at) - 1
        return (index, dues[index]) if index >= 0 else None


@dataclass
class Schedule:
    lateness: list[float] = field(default_factory=list)
    twice: list[tuple[int, float]] = field(default_factory=list)  # (source, request time)
    skipped: list[tuple[int, float]] = field(default_factory=list)  # (source, due time)
    polls: int = 0


def schedule(
    dump: dict[str, Any], dues: DueLog, start: float, end: float, slack: float
) -> Schedule:
    """Requests in [start, end] against due times; due times up to ``end - slack`` must
    have been answered."""
    out = Schedule()
    answered: dict[int, set[int]] = defaultdict(set)
    for at, source, _ in sorted(dump["requests"]):
        counted = start <= at <= end
        out.polls += counted
        found = dues.due_at(source, at)
        if found is None:
            continue
        index, due = found
        if index in answered[source] or due > at + EARLY_TOLERANCE:
            if counted:
                out.twice.append((source, at))
            continue
        answered[source].add(index)
        if counted:
            out.lateness.append(at - due)
    for source, (_, values) in dues.seen.items():
        for index, due in enumerate(values):
            if start <= due <= end - slack and index not in answered[source]:
                out.skipped.append((source, due))
    return out


@dataclass
class Alerts:
    fetch_to_alert: list[float] = field(default_factory=list)
    publication_to_alert: list[float] = field(default_factory=list)
    sent: int = 0
    repeated: list[tuple[str, tuple[int, int]]] = field(default_factory=list)  # (rule, story)
    old: int = 0  # alerts of items a source started with (older than the backfill)
    nato_missing: list[tuple[int, int]] = field(default_factory=list)
    nato_unexpected: list[tuple[int, int]] = field(default_factory=list)
    nato_expected: int = 0


def alerts(
    dump: dict[str, Any], start: float, end: float, served_by: float | None = None
) -> Alerts:
    """Alerts of items that appeared in [start, end]; every NATO story the monitor fetched
    (by ``served_by``, when given) must be alerted once for rule ``nato``, and no (rule,
    story) twice."""
    out = Alerts()
    items = {
        (i, k): (at, served, (oi, ok), nato) for i, k, at, served, oi, ok, nato in dump["items"]
    }
    ids: dict[tuple[str, tuple[int, int]], set[str]] = defaultdict(set)
    nato_alerted = set()
    for at, hook_id, kind, rule, url in dump["hooks"]:
        if kind != "release.matched":
            continue
        key = parse_link(url)
        item = items.get(key) if key is not None else None
        if item is None:
            out.old += 1
            continue
        appeared, served, story, _ = item
        ids[(rule, story)].add(hook_id)
        if rule == "nato":
            nato_alerted.add(story)
        if start <= appeared <= end:
            out.sent += 1
            out.publication_to_alert.append(at - appeared)
            if served is not None:
                out.fetch_to_alert.append(at - served)
    out.repeated = [key for key, hooks in ids.items() if len(hooks) > 1]
    expected = {
        story
        for at, served, story, nato in items.values()
        if nato and served is not None and (served_by is None or served <= served_by)
    }
    every_nato = {story for _, _, story, nato in items.values() if nato}
    out.nato_expected = len(expected)
    out.nato_missing = sorted(expected - nato_alerted)
    out.nato_unexpected = sorted(nato_alerted - every_nato)
    return out


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def statuses(dump: dict[str, Any], start: float, end: float) -> Counter[int]:
    return Counter(status for at, _, status in dump["requests"] if start <= at <= end)
