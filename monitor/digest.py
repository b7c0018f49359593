"""When digests close and how batched alerts are laid out: pure functions of values.

A digest channel sends, at each period boundary, one message with every alert queued
before that boundary (and nothing when there is none). Boundaries:

- ``digest: 1h`` (any duration): multiples of the period counted from midnight in the
  config's time zone when the period divides a day (``30m`` → :00 and :30, ``6h`` →
  00:00, 06:00, …); otherwise multiples counted from the Unix epoch.
- ``digest: "daily 08:00"``: 08:00 each day in the config's time zone (on a DST day
  with no 08:00 the wall clock is resolved the way ``zoneinfo`` does).

Rate limit (``max_per_hour``): at most that many messages in any sliding hour. On a
channel without a digest, when more alerts are due than the hour's remaining budget, the
oldest go one by one and the last message of the budget is one summary of all the rest. On
a digest channel (where it matters for periods shorter than the budget allows, such as
``digest: 5m`` with ``max_per_hour: 4``) a period closes only while the hour has room: its
alerts stay queued and go in the first digest that fits, so none is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from monitor.config.model import Digest
from monitor.notify.payload import AlertView

DAY = timedelta(days=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RATE_WINDOW = timedelta(hours=1)


def last_boundary(digest: Digest, zone: ZoneInfo, moment: datetime) -> datetime:
    """The latest period boundary at or before ``moment`` (UTC-aware result)."""
    local = moment.astimezone(zone)
    if digest.daily_at is not None:
        hour, minute = digest.daily_at
        at = datetime.combine(local.date(), time(hour, minute), tzinfo=zone)
        if at > local:
            at = datetime.combine(local.date() - timedelta(days=1), time(hour, minute), tzinfo=zone)
        return at.astimezone(UTC)
    every = digest.every
    if every is None or every <= timedelta(0):
        raise ValueError("a digest needs a positive period or a daily time")
    if every <= DAY and DAY % every == timedelta(0):
        midnight = datetime.combine(local.date(), time(0), tzinfo=zone)
        # count in absolute time from local midnight (a DST day is 23 or 25 hours long)
        steps = (moment - midnight) // every
        return (midnight + steps * every).astimezone(UTC)
    steps = (moment - EPOCH) // every
    return EPOCH + steps * every


def next_boundary(digest: Digest, zone: ZoneInfo, moment: datetime) -> datetime:
    """The first period boundary strictly after ``moment``."""
    if digest.daily_at is not None:
        probe = moment + DAY + timedelta(hours=2)  # past tomorrow's boundary even across DST
        candidate = last_boundary(digest, zone, probe)
        while True:
            earlier = last_boundary(digest, zone, candidate - timedelta(seconds=1))
            if earlier <= moment:
                return candidate
            candidate = earlier
    assert digest.every is not None
    return last_boundary(digest, zone, moment) + digest.every


def rate_plan(due: int, budget: int) -> tuple[int, int]:
    """(alerts to send one by one, alerts to gather into one summary) for this run.

    ``due``: alerts due now; ``budget``: messages still allowed in the sliding hour.
    """
    if budget <= 0 or due <= 0:
        return 0, 0
    if due <= budget:
        return due, 0
    return budget - 1, due - (budget - 1)


def group_by_rule(alerts: Sequence[AlertView], order: Sequence[str]) -> list[AlertView]:
    """The alerts ordered by rule (config order; rules no longer configured last, by id),
    and within a rule in their given (queue) order."""
    rank = {rule_id: i for i, rule_id in enumerate(order)}
    keyed = sorted(
        enumerate(alerts), key=lambda p: (rank.get(p[1].rule_id, len(rank)), p[1].rule_id, p[0])
    )
    return [alert for _, alert in keyed]
