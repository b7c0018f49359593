"""When a source is next due: its interval or cron time, with jitter, or a backoff.

Jitter spreads sources that share an interval so they do not all hit the network in the
same second: at most 10 % of the interval and at most 30 s. After a failure the source
waits ``backoff_delay`` (its interval doubling up to 6 h, or a longer Retry-After) but is
never abandoned.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from monitor.config.cron import Crontab
from monitor.config.model import Config, Source

BACKOFF_CAP = timedelta(hours=6)


def _jitter(gap: timedelta) -> timedelta:
    return timedelta(seconds=random.uniform(0, min(gap.total_seconds() * 0.1, 30.0)))


def next_due(config: Config, source: Source, moment: datetime) -> datetime:
    if source.cron:
        crontab = Crontab.parse(source.cron, config.zone_of(source))
        due = crontab.next_after(moment)
        return due + _jitter(crontab.next_after(due) - due)
    interval = config.interval_of(source)
    return moment + interval + _jitter(interval)


def next_after_failure(
    config: Config, source: Source, moment: datetime, failures: int, retry_after: float | None
) -> datetime:
    from monitor.fetch import backoff_delay

    regular = next_due(config, source, moment)
    base = config.interval_of(source).total_seconds()
    delay = backoff_delay(
        failures, base=base, cap=BACKOFF_CAP.total_seconds(), retry_after=retry_after
    )
    return max(regular, moment + timedelta(seconds=delay))


def poll_lease(config: Config) -> timedelta:
    """How long a claimed source stays claimed: longer than a poll's own deadlines (the fetch,
    full-text fetches and the match step; the longest ``timeout`` any source has), so that
    only a crashed instance's lease expires and another instance takes the source over."""
    timeouts = [config.defaults.timeout, *(config.settings_of(s).timeout for s in config.sources)]
    return max(max(timeouts) * 3, timedelta(seconds=30))
