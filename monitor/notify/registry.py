"""Channel types by their config ``type`` name: one explicit dict, and a factory.

Each type names the module and class that implement it. The module is imported when a
channel of that type is built, so a config without email channels never loads aiosmtplib
and Jinja2 (a ``monitor poll`` with only a log channel starts that much sooner).
``build_channels`` turns each configured channel into keyword arguments for its class
(the templates and the config's time zone included); ``build_channel`` only looks the
class up, so a new channel is one file and one line here.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from monitor.config.model import AnyChannel, Config
from monitor.config.model import AppriseChannel as AppriseSpec
from monitor.config.model import EmailChannel as EmailSpec
from monitor.config.model import LogChannel as LogSpec
from monitor.config.model import WebhookChannel as WebhookSpec
from monitor.notify.base import Channel

if TYPE_CHECKING:
    import httpx

    from monitor.http_client import Clients
    from monitor.notify.render import Renderer

CHANNEL_TYPES: dict[str, tuple[str, str]] = {  # type: (module, class)
    "email": ("monitor.notify.email", "EmailChannel"),
    "webhook": ("monitor.notify.webhook", "WebhookChannel"),
    "log": ("monitor.notify.log", "LogChannel"),
    "apprise": ("monitor.notify.apprise", "AppriseChannel"),
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


def build_channels(config: Config, clients: Clients | httpx.AsyncClient) -> dict[str, Channel]:
    """The configured channels. A channel type's module, and the templates, are loaded only
    when a channel needs them: a log-only config never imports the email stack. A webhook
    posts on the client of its route (directly or through the egress proxy); a plain
    ``httpx.AsyncClient`` serves as the direct route."""
    from monitor.http_client import Clients

    routes = clients if isinstance(clients, Clients) else Clients(clients)
    renderer: Renderer | None = None

    def templates() -> Renderer:
        nonlocal renderer
        if renderer is None:
            from monitor.notify.render import Renderer

            # relative to the working directory, as ``monitor check`` reads it
            renderer = Renderer(Path(config.templates) if config.templates else None, config.zone)
        return renderer

    channels: dict[str, Channel] = {}
    for spec in config.channels:
        if isinstance(spec, EmailSpec):
            from monitor.notify.email import SmtpParams

            smtp = SmtpParams(
                host=spec.smtp.host,
                port=spec.smtp.port,
                tls=spec.smtp.tls,
                username=spec.smtp.username or None,
                password=spec.smtp.password or None,
                timeout=spec.smtp.timeout.total_seconds(),
                ca_file=spec.smtp.ca_file,
            )
            channels[spec.id] = build_channel(
                "email",
                id=spec.id,
                to=list(spec.to),
                sender=spec.sender,
                smtp=smtp,
                renderer=templates(),
            )
        elif isinstance(spec, WebhookSpec):
            channels[spec.id] = build_channel(
                "webhook",
                id=spec.id,
                url=spec.url,
                client=routes.route(config.egress_of(spec).proxy_for(spec.url)),
                secret=spec.secret or None,
                timeout=spec.timeout.total_seconds(),
                format=spec.format,
                renderer=templates() if spec.format == "slack" else None,
            )
        elif isinstance(spec, LogSpec):
            channels[spec.id] = build_channel("log", id=spec.id, zone=config.zone)
        elif isinstance(spec, AppriseSpec):
            timeout = spec.timeout.total_seconds()
            channels[spec.id] = build_channel(
                "apprise", id=spec.id, urls=spec.urls, renderer=templates(), timeout=timeout
            )
    return channels


def shown_target(spec: AnyChannel) -> str:
    """What a channel reaches, safe to show (the console's channel list): email addresses,
    a webhook's scheme and host (its path and query are, for many services, the secret),
    an apprise channel's services by name (``Telegram, ntfy``), never a URL."""
    if isinstance(spec, EmailSpec):
        return ", ".join(spec.to)
    if isinstance(spec, WebhookSpec):
        parts = urlsplit(spec.url)
        host = parts.netloc.rpartition("@")[2]
        return f"{parts.scheme}://{host}/" + ("…" if parts.path not in ("", "/") else "")
    if isinstance(spec, AppriseSpec):
        from monitor.notify.apprise import shown_targets  # loads apprise: only when shown

        return shown_targets(spec.urls)
    return "the daemon's log"
