"""The log channel: one readable line per message on the ``monitor.alerts`` logger.

For the default configuration and for trying rules out: it needs nothing and cannot
fail. A story is one line listing every rule that matched it; a digest is one line per
story; an alarm notice says its kind and state. Release text is flattened to one line
(and cut) so a title cannot forge extra log lines; times are in the config's zone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from monitor.notify.base import flatten, group_stories, message_id, truncate
from monitor.notify.bounds import first_terms
from monitor.notify.payload import AlertView
from monitor.times import local_time

ALERTS_LOGGER = "monitor.alerts"
UTC_ZONE = ZoneInfo("UTC")


def _cut(text: str, limit: int) -> str:
    return truncate(flatten(text[: limit * 2 + 64]), limit)


def story_line(alerts: Sequence[AlertView], zone: ZoneInfo = UTC_ZONE) -> str:
    """``rules: title <url> [terms] (published …)``, one line."""
    first = alerts[0]
    rules = ", ".join(dict.fromkeys(_cut(a.rule_name, 100) for a in alerts))
    terms = ", ".join(dict.fromkeys(_cut(t, 60) for a in alerts for t in first_terms(a.matches)))
    line = f"{rules}: {_cut(first.title, 300)} <{_cut(first.url, 500)}> [{terms}]"
    if first.published_at is not None:
        line += f" (published {local_time(first.published_at, zone)})"
    return line


def alarm_line(alert: AlertView, zone: ZoneInfo = UTC_ZONE) -> str:
    """``source failing (raised): message``, one line."""
    assert alert.alarm is not None
    kind, state = alert.alarm.kind, alert.alarm.state
    at = f" at {local_time(alert.published_at, zone)}" if alert.published_at else ""
    return f"source {flatten(kind)} ({state}{at}): {_cut(alert.title, 300)}"


class LogChannel:
    """Writes messages to a logger (``monitor.alerts`` unless one is given) at INFO."""

    groups_stories = True

    def __init__(
        self, id: str, logger: logging.Logger | None = None, zone: ZoneInfo = UTC_ZONE
    ) -> None:
        self.id = id
        self.logger = logger or logging.getLogger(ALERTS_LOGGER)
        self.zone = zone

    async def send(self, alert: AlertView) -> None:
        await self.send_story(alert.alert_id, [alert])

    async def send_story(self, message_id: str, alerts: Sequence[AlertView]) -> None:
        self._log(message_id, alerts, digest=None)

    async def send_digest(self, digest_id: str, alerts: Sequence[AlertView]) -> None:
        for story in group_stories(alerts, lambda a: a.story_key):
            self._log(message_id([a.alert_id for a in story]), story, digest=digest_id)

    def _log(self, key: str, alerts: Sequence[AlertView], digest: str | None) -> None:
        first = alerts[0]
        extra = {
            "channel": self.id,
            "rule": ",".join(a.rule_id for a in alerts),
            "release": first.release_id,
            "alert": ",".join(a.alert_id for a in alerts),
            "message_id": key,
        }
        if digest is not None:
            extra["digest"] = digest
        if first.alarm is not None and len(alerts) == 1:
            self.logger.info("alarm %s", alarm_line(first, self.zone), extra=extra)
        else:
            self.logger.info("alert %s", story_line(alerts, self.zone), extra=extra)
