"""The log channel: one readable line per alert on the ``monitor.alerts`` logger.

For the default configuration and for trying rules out: it needs nothing and cannot
fail. Release text is flattened to one line so a title cannot forge extra log lines.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from monitor.notify.base import flatten, truncate
from monitor.notify.payload import AlertView

ALERTS_LOGGER = "monitor.alerts"


def alert_line(alert: AlertView) -> str:
    """``rule: title <url> [terms]``, one line."""
    terms = ", ".join(dict.fromkeys(flatten(hit.term) for hit in alert.matches))
    title = truncate(flatten(alert.title), 300)
    return f"{flatten(alert.rule_name)}: {title} <{flatten(alert.url)}> [{terms}]"


class LogChannel:
    """Writes alerts to a logger (``monitor.alerts`` unless one is given) at INFO."""

    def __init__(self, id: str, logger: logging.Logger | None = None) -> None:
        self.id = id
        self.logger = logger or logging.getLogger(ALERTS_LOGGER)

    async def send(self, alert: AlertView) -> None:
        self._log(alert, digest=None)

    async def send_digest(self, digest_id: str, alerts: Sequence[AlertView]) -> None:
        for alert in alerts:
            self._log(alert, digest=digest_id)

    def _log(self, alert: AlertView, digest: str | None) -> None:
        extra = {
            "channel": self.id,
            "rule": alert.rule_id,
            "release": alert.release_id,
            "alert": alert.alert_id,
        }
        if digest is not None:
            extra["digest"] = digest
        self.logger.info("alert %s", alert_line(alert), extra=extra)
