"""Crontab semantics: 0 and 7 are Sunday, 1-5 is Monday to Friday, dom OR dow."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from monitor.config.cron import Crontab

QATAR = ZoneInfo("Asia/Qatar")


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # Saturday 2026-11-28 12:00 -> Monday 09:00 for Monday-Friday
        (
            "0 9 * * 1-5",
            datetime(2026, 11, 28, 12, 0, tzinfo=QATAR),
            datetime(2026, 11, 30, 9, 0, tzinfo=QATAR),
        ),
        (
            "0 9 * * 0",
            datetime(2026, 11, 28, 12, 0, tzinfo=QATAR),
            datetime(2026, 11, 29, 9, 0, tzinfo=QATAR),
        ),
        (
            "0 9 * * 7",
            datetime(2026, 11, 28, 12, 0, tzinfo=QATAR),
            datetime(2026, 11, 29, 9, 0, tzinfo=QATAR),
        ),
        (
            "0 9 * * sun-tue",
            datetime(2026, 11, 30, 12, 0, tzinfo=QATAR),
            datetime(2026, 12, 1, 9, 0, tzinfo=QATAR),
        ),
        (
            "*/10 7-20 * * *",
            datetime(2026, 11, 28, 20, 55, tzinfo=QATAR),
            datetime(2026, 11, 29, 7, 0, tzinfo=QATAR),
        ),
        # day-of-month 1 OR Friday: from Tuesday 2026-12-01 10:00 the next is Friday the 4th
        (
            "0 8 1 * 5",
            datetime(2026, 12, 1, 10, 0, tzinfo=QATAR),
            datetime(2026, 12, 4, 8, 0, tzinfo=QATAR),
        ),
        (
            "0 8 1 * 5",
            datetime(2026, 12, 26, 10, 0, tzinfo=QATAR),
            datetime(2027, 1, 1, 8, 0, tzinfo=QATAR),
        ),
    ],
)
def test_next_fire_time(expression: str, after: datetime, expected: datetime) -> None:
    assert Crontab.parse(expression, QATAR).next_after(after) == expected


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        (
            "* * * *",
            "cron expression '* * * *' needs 5 fields (minute hour day-of-month month day-of-week)",
        ),
        ("61 * * * *", "minute '61' is not in 0-59"),
        ("x 9 * * *", "minute 'x' is not in 0-59"),
        ("0 25 * * *", "hour '25' is not in 0-23"),
        ("0 9 32 * *", "day '32' is not in 1-31"),
        ("0 9 * 13 *", "month '13' is not in 1-12"),
        ("0 9 * * 8", "day of week '8' is not 0-7 or sun-sat"),
        ("0 9 * * 5-1", "day-of-week range '5-1' runs backwards"),
        ("0 9 * * fri-mon", "day-of-week range 'fri-mon' runs backwards"),
        ("*/0 * * * *", "bad step '0' in minute"),
        # a date that never comes: `check` had accepted it, then every next_due raised
        ("0 9 30 2 *", "cron expression '0 9 30 2 *' is not valid: bad day-of-month"),
    ],
)
def test_invalid(expression: str, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        Crontab.parse(expression, QATAR)
    assert str(caught.value) == problem


def test_the_next_time_is_strictly_after() -> None:
    # the scheduler's jitter is a share of the gap to the fire time after the next one: it
    # was always 0 while next_after(a fire time) returned that same time
    nine = datetime(2026, 11, 28, 9, 0, tzinfo=QATAR)
    assert Crontab.parse("0 9 * * *", QATAR).next_after(nine) == datetime(
        2026, 11, 29, 9, 0, tzinfo=QATAR
    )


def test_extensions_and_other_zones() -> None:
    # the second Friday of the month, computed in the source's zone whatever `now`'s zone
    after = datetime(2026, 12, 1, 0, 0, tzinfo=ZoneInfo("UTC"))
    assert Crontab.parse("0 9 * * 5#2", QATAR).next_after(after) == datetime(
        2026, 12, 11, 9, 0, tzinfo=QATAR
    )
    assert Crontab.parse("0 9 * * 5#2", QATAR) is Crontab.parse("0 9 * * 5#2", QATAR)  # cached
