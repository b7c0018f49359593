"""Crontab expressions with standard crontab semantics, computed with APScheduler 3.

APScheduler 3 numbers weekdays 0 = Monday (and keeps that in 3.x), while crontab says
0 or 7 = Sunday and ``1-5`` = Monday to Friday. We therefore expand the day-of-week field
ourselves into weekday *names*, which both agree on. Crontab also ORs day-of-month and
day-of-week when both are restricted; APScheduler ANDs them, so that case is two triggers
and the earlier fire time wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

_DOW_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_FIELD_NAMES = ("minute", "hour", "day", "month", "day_of_week")
_RANGES = {"minute": (0, 59), "hour": (0, 23), "day": (1, 31), "month": (1, 12)}


def _dow_number(token: str) -> int:
    token = token.lower()
    if token in _DOW_NAMES:
        return _DOW_NAMES.index(token)
    if not token.isdigit() or not 0 <= int(token) <= 7:
        raise ValueError(f"day of week {token!r} is not 0-7 or sun-sat")
    return int(token) % 7


def _expand_dow(field: str) -> list[str]:
    """Expand a crontab day-of-week field into APScheduler weekday names."""
    days: set[int] = set()
    for part in field.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"bad step {step_text!r} in day of week")
            step = int(step_text)
        if part == "*":
            low, high = 0, 6
        elif "-" in part:
            low_text, high_text = part.split("-", 1)
            low, high = _dow_number(low_text), _dow_number(high_text)
            if high_text.strip() == "7":
                high = 7
            if high < low:
                raise ValueError(f"day-of-week range {part!r} runs backwards")
        else:
            low = high = _dow_number(part)
        days.update(d % 7 for d in range(low, high + 1, step))
    return [_DOW_NAMES[d] for d in sorted(days)]


def _check_field(name: str, field: str) -> None:
    low, high = _RANGES[name]
    for part in field.split(","):
        base, _, step = part.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            raise ValueError(f"bad step {step!r} in {name.replace('_', ' ')}")
        if base == "*":
            continue
        for bound in base.split("-", 1):
            value = bound.lower()
            if name == "month" and value in _MONTHS:
                continue
            if not value.isdigit() or not low <= int(value) <= high:
                raise ValueError(f"{name.replace('_', ' ')} {bound!r} is not in {low}-{high}")


@dataclass(frozen=True)
class Crontab:
    """A validated crontab expression; ``next_after`` gives the next fire time."""

    expression: str
    _triggers: tuple[Any, ...]

    @classmethod
    def parse(cls, expression: str, timezone: tzinfo) -> Crontab:
        from apscheduler.triggers.cron import CronTrigger

        fields = expression.split()
        if len(fields) != 5:
            raise ValueError(
                f"cron expression {expression!r} needs 5 fields "
                "(minute hour day-of-month month day-of-week)"
            )
        minute, hour, day, month, dow = fields
        for name, value in zip(_FIELD_NAMES[:4], fields[:4], strict=True):
            _check_field(name, value)
        weekdays = ",".join(_expand_dow(dow))
        common = {"minute": minute, "hour": hour, "month": month, "timezone": timezone}
        try:
            if day != "*" and dow != "*":
                triggers: tuple[Any, ...] = (
                    CronTrigger(day=day, **common),
                    CronTrigger(day_of_week=weekdays, **common),
                )
            else:
                triggers = (CronTrigger(day=day, day_of_week=weekdays, **common),)
        except ValueError as exc:
            raise ValueError(f"cron expression {expression!r}: {exc}") from None
        return cls(expression, triggers)

    def next_after(self, now: datetime) -> datetime:
        times = [t.get_next_fire_time(None, now) for t in self._triggers]
        found: list[datetime] = [t for t in times if t is not None]
        return min(found)
