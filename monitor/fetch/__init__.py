"""Fetching one source over HTTP: conditional, bounded, polite (``client``), its body read
within bounds (``body``), the wait after a failure (``retry``) and the values a fetch is
given and gives (``types``).

``Fetcher`` and what else needs httpx load on first use (PEP 562): a command that only
reads the config or the database (``monitor sources``) never imports the HTTP stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from monitor.fetch.retry import MAX_RETRY_AFTER, backoff_delay, parse_retry_after
from monitor.fetch.types import FetchLimits, FetchResult, PageBrowser, Render

if TYPE_CHECKING:
    from monitor.fetch.client import PERMANENT_REDIRECTS, REDIRECT_STATUSES, Fetcher, http_error

_CLIENT = frozenset({"PERMANENT_REDIRECTS", "REDIRECT_STATUSES", "Fetcher", "http_error"})


def __getattr__(name: str) -> Any:
    if name in _CLIENT:
        from monitor.fetch import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
