"""Waiting after failures: each alert backs off (``backoff``, ``retry_time``), and a
channel whose receiver keeps failing is left alone for a while (``Breaker``).

Each failed attempt waits ``retry.initial`` doubling to ``retry.max`` (with 10 % jitter)
until ``retry.give_up_after`` has passed since the alert was queued.

Why a breaker: a receiver that accepts connections and never answers costs each attempt its whole
timeout. Tried one alert at a time, a hanging webhook with ``timeout: 5s`` took one
attempt every 5 s and its backlog grew without end; every alert also burned an attempt
towards ``dead``. With the breaker:

- closed (healthy): up to ``width`` messages in flight at once; after a failure, one at a
  time until a message gets through (so a receiver that just started hanging gets
  ``max(width, threshold)`` attempts at most before the breaker opens, not more);
- after ``threshold`` failed attempts in a row it opens: nothing is attempted until
  ``probe_at``, then one message is sent alone (half-open, the probe);
- the probe's success closes it and the backlog flows; its failure opens it again for
  twice as long, up to ``max_pause`` (the channel's ``retry.initial`` and ``retry.max``);
- an operator's retry of one of the channel's alerts after it opened (``probe_now``) makes
  the probe due at once: whoever fixed the receiver should not wait up to ``max_pause``.

Alerts not attempted while it is open are left as they are — no attempt counted, no
retry time moved — so they neither burn attempts nor die early.

The state lives in memory, per instance and per channel: it steers how this instance
spends its own time, it costs no database write per attempt, and an instance that starts
(or restarts) learns a receiver's state again within ``threshold`` attempts. Pure: the
caller passes the time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from monitor.config.model import Retry

THRESHOLD = 3  # failed attempts in a row that open the breaker
WIDTH = 4  # messages in flight at once on a healthy channel


def backoff(retry: Retry, attempts: int) -> timedelta:
    """The wait after ``attempts`` failed attempts: ``initial`` doubling to ``max``, ±10 %."""
    delay = min(retry.initial * (1 << min(max(attempts - 1, 0), 40)), retry.max)
    return delay * random.uniform(0.9, 1.1)


def retry_time(
    retry: Retry, attempts: int, queued_at: datetime, moment: datetime
) -> datetime | None:
    """When to try again after ``attempts`` failed attempts; None once retries are exhausted."""
    at = moment + backoff(retry, attempts)
    return None if at - queued_at > retry.give_up_after else at


@dataclass
class Breaker:
    pause: timedelta  # the first time the breaker stays open
    max_pause: timedelta
    threshold: int = THRESHOLD
    width: int = WIDTH
    failures: int = 0  # in a row
    probe_at: datetime | None = None  # set while open
    opened_at: datetime | None = None  # when it last opened (or opened again)
    probing: bool = False  # the probe is in flight
    _next_pause: timedelta | None = None

    @property
    def is_open(self) -> bool:
        return self.probe_at is not None

    def ready(self, now: datetime) -> bool:
        """Whether a message could start now (ignoring the ones in flight)."""
        return self.probe_at is None or (now >= self.probe_at and not self.probing)

    def start(self, in_flight: int, now: datetime) -> bool:
        """Whether one more message may start now, with ``in_flight`` already running; True
        while open (its probe time reached) makes that message the probe."""
        if self.probe_at is None:
            return in_flight < (1 if self.failures else self.width)
        if in_flight or self.probing or now < self.probe_at:
            return False
        self.probing = True
        return True

    def probe_now(self, now: datetime) -> None:
        """Make the probe due now (an operator asked for a retry); nothing if not open."""
        if self.probe_at is not None and self.probe_at > now:
            self.probe_at = now

    def abandoned(self) -> None:
        """A message that ``start`` allowed was not attempted after all."""
        self.probing = False

    def succeeded(self) -> Literal["closed"] | None:
        """A message was delivered: the receiver works. "closed" if that closed the breaker."""
        was_open = self.probe_at is not None
        self.failures, self.probe_at, self.probing, self._next_pause = 0, None, False, None
        self.opened_at = None
        return "closed" if was_open else None

    def failed(self, now: datetime) -> Literal["opened"] | None:
        """A message failed. "opened" if that opened the breaker (or opened it again)."""
        self.failures += 1
        if self.probing or (self.probe_at is None and self.failures >= self.threshold):
            pause = self._next_pause or self.pause
            self.probe_at, self.probing, self.opened_at = now + pause, False, now
            self._next_pause = min(pause * 2, self.max_pause)
            return "opened"
        return None
