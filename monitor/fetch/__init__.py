"""Fetching one source over HTTP: conditional, bounded, polite (``client``), its body read
within bounds (``body``), and the wait after a failure (``retry``)."""

from monitor.fetch.client import (
    PERMANENT_REDIRECTS,
    REDIRECT_STATUSES,
    Fetcher,
    FetchLimits,
    FetchResult,
    PageBrowser,
    Render,
    http_error,
)
from monitor.fetch.retry import MAX_RETRY_AFTER, backoff_delay, parse_retry_after

__all__ = [
    "MAX_RETRY_AFTER",
    "PERMANENT_REDIRECTS",
    "REDIRECT_STATUSES",
    "FetchLimits",
    "FetchResult",
    "Fetcher",
    "PageBrowser",
    "Render",
    "backoff_delay",
    "http_error",
    "parse_retry_after",
]
