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
    "expression", ["* * * *", "61 * * * *", "0 9 * * 8", "0 9 * * 5-1", "0 9 32 * *", "*/0 * * * *"]
)
def test_invalid(expression: str) -> None:
    with pytest.raises(ValueError):
        Crontab.parse(expression, QATAR)
