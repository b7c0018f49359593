"""The one small protocol every channel implements.

A channel sends one alert, or a digest of several, and either returns (delivered) or
raises ``monitor.errors.DeliveryError`` with a one-line message that never holds a
secret; ``permanent=True`` when retrying cannot help. Library and OS exceptions never
escape a channel. Channels keep no delivery state: retries belong to the outbox.

The one-line helpers live here, free of Jinja2, so the log channel loads without it:
``flatten`` makes text safe for a header or a log line (no line breaks or control
characters), ``truncate`` shortens it, ``one_line`` does both for an error message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from monitor.notify.payload import AlertView


class Channel(Protocol):
    id: str

    async def send(self, alert: AlertView) -> None:
        """Deliver one alert or raise ``DeliveryError``."""
        ...

    async def send_digest(self, digest_id: str, alerts: Sequence[AlertView]) -> None:
        """Deliver several alerts as one message or raise ``DeliveryError``."""
        ...


def flatten(text: str) -> str:
    """One line: every line break and control character becomes a space, runs collapse."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace and control characters so an error message stays one line."""
    flat = flatten(text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
