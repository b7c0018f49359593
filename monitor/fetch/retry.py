"""How long a failing source waits: backoff, and the server's own Retry-After."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Retry-After is honoured up to a day, so a hostile header cannot park a source for ever.
MAX_RETRY_AFTER = 24 * 3600.0


def backoff_delay(
    failures: int,
    base: float = 60,
    cap: float = 6 * 3600,
    retry_after: float | None = None,
) -> float:
    """Seconds to wait after ``failures`` consecutive failures (1 = the first failure).

    Doubles from ``base`` up to ``cap``; never gives up. A longer Retry-After wins (up to a
    day). Jitter is the scheduler's business.
    """
    delay = 0.0 if failures <= 0 else min(float(cap), base * 2.0 ** min(failures - 1, 64))
    if retry_after is not None and retry_after > delay:
        delay = min(retry_after, max(MAX_RETRY_AFTER, float(cap)))
    return delay


def parse_retry_after(value: str | None, date_header: str | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds, or an HTTP-date counted from the response's
    own Date header when it has one (so clock skew between us and the server cancels)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    now = datetime.now(UTC)
    if date_header:
        with contextlib.suppress(TypeError, ValueError, IndexError):
            now = parsedate_to_datetime(date_header)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
