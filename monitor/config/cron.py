"""Crontab expressions with standard crontab semantics, computed by cronsim.

cronsim (the cron evaluator of healthchecks.io) follows cron itself: 0 and 7 are Sunday,
``1-5`` is Monday to Friday, names (``sun-tue``, ``jan``), and day-of-month OR day-of-week
when both are restricted; ``L``, ``W`` and ``5#2`` (the second Friday) too. Times are
computed in the source's zone, across daylight-saving changes as cron does. A parsed
expression is cached (the scheduler asks for every cron source after every poll).

cronsim's own errors name only the field (``Bad minute``); ``check`` should say which
value and what is allowed, so a rejected expression is described here, field by field.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, tzinfo

from cronsim import CronSim, CronSimError

_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# name, lowest, highest, names allowed
_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)


@dataclass(frozen=True)
class Crontab:
    """A validated crontab expression; ``next_after`` gives the next fire time."""

    expression: str
    zone: tzinfo

    @classmethod
    def parse(cls, expression: str, timezone: tzinfo) -> Crontab:
        return _parse(expression, timezone)

    def next_after(self, now: datetime) -> datetime:
        """The first fire time strictly after ``now``, in the expression's zone."""
        return next(CronSim(self.expression, now.astimezone(self.zone)))


@functools.lru_cache(maxsize=1024)
def _parse(expression: str, timezone: tzinfo) -> Crontab:
    try:
        CronSim(expression, datetime.now(timezone))
    except CronSimError as exc:
        raise ValueError(_describe(expression, str(exc))) from None
    return Crontab(expression, timezone)


def _describe(expression: str, reason: str) -> str:
    """What is wrong with ``expression``, which cronsim refused for ``reason``."""
    fields = expression.split()
    if len(fields) != 5:
        return (
            f"cron expression {expression!r} needs 5 fields "
            "(minute hour day-of-month month day-of-week)"
        )
    for (name, low, high, names), field in zip(_FIELDS, fields, strict=True):
        for part in field.split(","):
            base, _, step = part.partition("/")
            if step and (not step.isdigit() or int(step) == 0):
                return f"bad step {step!r} in {name}"
            bounds = [] if base == "*" else base.split("-", 1)
            for bound in bounds:
                if bound.lower() not in names and not (
                    bound.isdigit() and low <= int(bound) <= high
                ):
                    if names == _DAYS:
                        return f"day of week {bound!r} is not 0-7 or sun-sat"
                    return f"{name} {bound!r} is not in {low}-{high}"
            if len(bounds) == 2 and _number(bounds[1], names) < _number(bounds[0], names):
                return f"{name.replace(' ', '-')} range {part!r} runs backwards"
    return f"cron expression {expression!r} is not valid: {reason.lower()}"


def _number(bound: str, names: tuple[str, ...]) -> int:
    return names.index(bound.lower()) + (names == _MONTHS) if bound.lower() in names else int(bound)
