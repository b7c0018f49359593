"""Digest periods and the rate plan: pure functions, tables of cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.config.model import Digest
from monitor.digest import group_by_rule, last_boundary, next_boundary, rate_plan
from monitor.model import Hit
from monitor.notify.payload import AlertView

DOHA = ZoneInfo("Asia/Qatar")  # UTC+3, no DST
BERLIN = ZoneInfo("Europe/Berlin")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("digest", "zone", "moment", "last", "following"),
    [
        # every hour, on the hour
        (Digest(every=timedelta(hours=1)), DOHA, utc(2024, 3, 12, 4, 10), utc(2024, 3, 12, 4), utc(2024, 3, 12, 5)),
        (Digest(every=timedelta(hours=1)), DOHA, utc(2024, 3, 12, 4), utc(2024, 3, 12, 4), utc(2024, 3, 12, 5)),
        # 6h periods count from local midnight (21:00 UTC in Doha)
        (Digest(every=timedelta(hours=6)), DOHA, utc(2024, 3, 12, 4), utc(2024, 3, 12, 3), utc(2024, 3, 12, 9)),
        (Digest(every=timedelta(minutes=30)), DOHA, utc(2024, 3, 12, 4, 45), utc(2024, 3, 12, 4, 30), utc(2024, 3, 12, 5)),
        # a period that does not divide a day counts from the epoch
        (Digest(every=timedelta(hours=7)), DOHA, utc(1970, 1, 1, 15), utc(1970, 1, 1, 14), utc(1970, 1, 1, 21)),
        # daily 08:00 Doha = 05:00 UTC
        (Digest(daily_at=(8, 0)), DOHA, utc(2024, 3, 12, 4, 59), utc(2024, 3, 11, 5), utc(2024, 3, 12, 5)),
        (Digest(daily_at=(8, 0)), DOHA, utc(2024, 3, 12, 5), utc(2024, 3, 12, 5), utc(2024, 3, 13, 5)),
        (Digest(daily_at=(0, 30)), DOHA, utc(2024, 3, 11, 21, 29), utc(2024, 3, 10, 21, 30), utc(2024, 3, 11, 21, 30)),
        # across the spring DST change in Berlin (31 March 2024): 08:00 CET then CEST
        (Digest(daily_at=(8, 0)), BERLIN, utc(2024, 3, 30, 12), utc(2024, 3, 30, 7), utc(2024, 3, 31, 6)),
        (Digest(every=timedelta(hours=1)), BERLIN, utc(2024, 3, 31, 1, 30), utc(2024, 3, 31, 1), utc(2024, 3, 31, 2)),
    ],
)  # fmt: skip
def test_boundaries(
    digest: Digest, zone: ZoneInfo, moment: datetime, last: datetime, following: datetime
) -> None:
    assert last_boundary(digest, zone, moment) == last
    assert next_boundary(digest, zone, moment) == following


@pytest.mark.parametrize(
    ("due", "budget", "plan"),
    [
        (0, 5, (0, 0)),
        (3, 5, (3, 0)),
        (5, 5, (5, 0)),
        (7, 3, (2, 5)),
        (4, 1, (0, 4)),
        (1, 1, (1, 0)),
        (9, 0, (0, 0)),
        (9, -2, (0, 0)),
    ],
)
def test_rate_plan(due: int, budget: int, plan: tuple[int, int]) -> None:
    assert rate_plan(due, budget) == plan
    alone, gathered = plan
    assert alone + (1 if gathered else 0) <= max(budget, 0)  # never over the budget
    assert alone + gathered == (due if budget > 0 else 0)  # nothing dropped


def _view(alert_id: str, rule_id: str) -> AlertView:
    return AlertView(
        alert_id,
        rule_id,
        rule_id,
        "r",
        "s",
        "s",
        "t",
        "u",
        None,
        None,
        "",
        (Hit("title", "t", 0, 1, "t"),),
    )


def test_group_by_rule_keeps_config_order_then_queue_order() -> None:
    alerts = [_view("1", "cyber"), _view("2", "gone"), _view("3", "nato"), _view("4", "cyber")]
    grouped = group_by_rule(alerts, ["nato", "cyber"])
    assert [a.alert_id for a in grouped] == ["3", "1", "4", "2"]
