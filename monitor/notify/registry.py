"""Channel types by their config ``type`` name: one explicit dict, and a factory.

The caller (the delivery setup) turns each configured channel into keyword arguments
for its class; ``build_channel`` only looks the class up, so a new channel is one file
and one line here.
"""

from __future__ import annotations

from typing import Any

from monitor.notify.base import Channel
from monitor.notify.email import EmailChannel
from monitor.notify.log import LogChannel
from monitor.notify.webhook import WebhookChannel

CHANNEL_TYPES: dict[str, type[EmailChannel] | type[WebhookChannel] | type[LogChannel]] = {
    "email": EmailChannel,
    "webhook": WebhookChannel,
    "log": LogChannel,
}


def build_channel(kind: str, **kwargs: Any) -> Channel:
    """An instance of the channel class for ``kind``; ValueError for an unknown kind."""
    try:
        cls = CHANNEL_TYPES[kind]
    except KeyError:
        known = ", ".join(sorted(CHANNEL_TYPES))
        raise ValueError(f"unknown channel type {kind!r} (known: {known})") from None
    channel: Channel = cls(**kwargs)
    return channel
