"""The one small protocol every channel implements, and what one message is.

A channel sends one message — the alerts of one story, one alert or alarm notice, or a
digest of several — and either returns (delivered) or raises
``monitor.errors.DeliveryError`` with a one-line message that never holds a secret;
``permanent=True`` when retrying cannot help. Library and OS exceptions never escape a
channel. Channels keep no delivery state: retries belong to the outbox.

One message per story (SPEC section 4): the alerts of one story that fall due together on
one channel — several rules matching one release — are one message listing every rule,
on the channels people read (email, chat, the log; ``groups_stories``). A webhook with
JSON bodies keeps one event per alert. ``group_stories`` makes the groups and
``message_id`` gives each its id: one alert keeps its own (the webhook-id, the email
Message-ID), several get one derived from all of theirs, so a resend of the same alerts
carries the same id and a message with other alerts never does.

The one-line helpers live here, free of Jinja2, so the log channel loads without it:
``flatten`` makes text safe for a header or a log line (no line breaks or control
characters), ``truncate`` shortens it, ``one_line`` does both for an error message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from monitor.notify.payload import AlertView

T = TypeVar("T")


class Channel(Protocol):
    id: str
    groups_stories: bool  # True: one story's alerts travel as one message

    async def send(self, alert: AlertView) -> None:
        """Deliver one alert (or an alarm notice) as one message, or raise ``DeliveryError``."""
        ...

    async def send_story(self, message_id: str, alerts: Sequence[AlertView]) -> None:
        """Deliver the alerts of one story (one per rule) as one message, or raise."""
        ...

    async def send_digest(self, digest_id: str, alerts: Sequence[AlertView]) -> None:
        """Deliver several alerts as one message or raise ``DeliveryError``."""
        ...


def group_stories(items: Sequence[T], story_of: Callable[[T], object]) -> list[list[T]]:
    """``items`` grouped by story, stories in order of first appearance, items in order."""
    groups: dict[object, list[T]] = {}
    for item in items:
        groups.setdefault(story_of(item), []).append(item)
    return list(groups.values())


def message_id(alert_ids: Sequence[str]) -> str:
    """The id of a message carrying these alerts (at most 40 characters, as alert ids)."""
    if len(alert_ids) == 1:
        return alert_ids[0]
    joined = "\n".join(sorted(alert_ids)).encode("utf-8")
    return "story-" + hashlib.sha256(joined).hexdigest()[:32]


def flatten(text: str) -> str:
    """One line: every line break and control character becomes a space, runs collapse."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace and control characters so an error message stays one line."""
    flat = flatten(text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
