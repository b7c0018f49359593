"""Channel types by their config ``type`` name: one explicit dict, and a factory.

Each type names the module and class that implement it. The module is imported when a
channel of that type is built, so a config without email channels never loads aiosmtplib
and Jinja2 (a ``monitor poll`` with only a log channel starts that much sooner). The
caller (the delivery setup) turns each configured channel into keyword arguments for its
class; ``build_channel`` only looks the class up, so a new channel is one file and one
line here.
"""

from __future__ import annotations

import importlib
from typing import Any

from monitor.notify.base import Channel

CHANNEL_TYPES: dict[str, tuple[str, str]] = {  # type: (module, class)
    "email": ("monitor.notify.email", "EmailChannel"),
    "webhook": ("monitor.notify.webhook", "WebhookChannel"),
    "log": ("monitor.notify.log", "LogChannel"),
}


def build_channel(kind: str, **kwargs: Any) -> Channel:
    """An instance of the channel class for ``kind``; ValueError for an unknown kind."""
    try:
        module, name = CHANNEL_TYPES[kind]
    except KeyError:
        known = ", ".join(sorted(CHANNEL_TYPES))
        raise ValueError(f"unknown channel type {kind!r} (known: {known})") from None
    channel: Channel = getattr(importlib.import_module(module), name)(**kwargs)
    return channel
