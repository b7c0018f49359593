"""Every exception monitor raises on purpose, in one tree.

    MonitorError
    ├── ConfigError            the configuration file is invalid (exit code 2)
    │   └── QuerySyntaxError   a rule query does not parse; carries the 1-based column
    ├── StoreError             the database is unreachable or at an unknown schema
    ├── UnknownSourceError     a source id given to ``monitor poll`` names no source (exit code 2)
    ├── FetchError             a source could not be fetched; ``kind`` names the failure
    │   ├── FetchTimeout       connect/read timeout or the overall deadline passed
    │   ├── FetchNetworkError  DNS, refused connection, TLS, reset
    │   ├── FetchHTTPError     a non-2xx/304 status; carries ``status`` and ``retry_after``
    │   ├── FetchTooLarge      the decoded body passed the cap
    │   ├── FetchRedirectError too many redirects, or a redirect to a non-HTTP URL
    │   └── FetchBrowserError  render: browser: no browser, or it or the page crashed
    ├── ParseError             the body is not a usable feed or page
    └── DeliveryError          an alert could not be delivered; ``permanent`` says retry is useless

A failing source or channel is recorded on its row and skipped: these errors never stop the
daemon. Messages are one line and never contain secrets.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error monitor raises deliberately."""


class ConfigError(MonitorError):
    """The configuration is invalid. ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class QuerySyntaxError(MonitorError):
    """A rule query does not parse. ``column`` is 1-based."""

    def __init__(self, message: str, column: int) -> None:
        self.message = message
        self.column = column
        super().__init__(f"{message} at column {column}")


class StoreError(MonitorError):
    """The database cannot be used (unreachable, or a schema newer than this code)."""


class UnknownSourceError(MonitorError):
    """A source id asked for (``monitor poll --source``) names no source of the config."""


class FetchError(MonitorError):
    """A source could not be fetched. ``kind`` is a stable short name for logs and status."""

    kind = "fetch"


class FetchTimeout(FetchError):
    kind = "timeout"


class FetchNetworkError(FetchError):
    kind = "network"


class FetchHTTPError(FetchError):
    kind = "http"

    def __init__(self, message: str, status: int, retry_after: float | None = None) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)


class FetchTooLarge(FetchError):
    kind = "too-large"


class FetchRedirectError(FetchError):
    kind = "redirect"


class FetchBrowserError(FetchError):
    kind = "browser"


class ParseError(MonitorError):
    """The body is not a usable feed or listing page."""

    kind = "parse"


class DeliveryError(MonitorError):
    """An alert could not be delivered. ``permanent``: retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        self.permanent = permanent
        super().__init__(message)
