"""The webhook channel: POST the SPEC section 4 JSON, signed the Standard Webhooks way.

Headers: ``webhook-id`` (the alert or digest id, stable across retries),
``webhook-timestamp`` (Unix seconds) and, with a ``whsec_`` secret,
``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` keyed with
the base64-decoded part of the secret, so any Standard Webhooks library verifies it.

A 2xx answer is success. Anything else fails and is retried by the outbox: other
statuses (a redirect is never followed: it could send a signed alert elsewhere), a
refused connection, or the overall deadline passing, whatever the server trickles.
Error messages name the host only: webhook URLs often carry a token in their path.

``format: slack`` sends the chat message of ``notify.slack`` instead of the JSON payload,
with the same headers (Slack and Mattermost ignore them; a relay may verify them): a chat
message is read by people, so a story's alerts are one message there, while a JSON
receiver gets one event per alert. Only the chat format loads the templates (Jinja2).
Bodies are UTF-8 JSON (Arabic costs 2 bytes a character, not 6) and bounded
(``notify.payload``: under 64 KB).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import httpx

from monitor.config.channel_values import webhook_key
from monitor.errors import DeliveryError
from monitor.notify.base import one_line
from monitor.notify.bounds import json_text
from monitor.notify.payload import AlertView, build_payload, digest_parts

if TYPE_CHECKING:
    from monitor.notify.render import Renderer
    from monitor.notify.slack import ChatRenderer


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one request."""
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def encode_body(payload: dict[str, Any]) -> bytes:
    """UTF-8 JSON (Arabic 2 bytes a character); a lone surrogate becomes U+FFFD."""
    return json_text(payload)


def request_headers(key: bytes | None, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    headers = {
        "content-type": "application/json; charset=utf-8",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
    }
    if key is not None:
        headers["webhook-signature"] = sign(key, msg_id, timestamp, body)
    return headers


class WebhookChannel:
    """POSTs alerts to ``url`` with the shared ``client``; ``timeout`` bounds each request."""

    def __init__(
        self,
        id: str,
        url: str,
        client: httpx.AsyncClient,
        secret: str | None = None,
        timeout: float = 15.0,
        format: Literal["json", "slack"] = "json",
        renderer: Renderer | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("webhook url must be an absolute http(s) URL")
        if timeout <= 0:
            raise ValueError("webhook timeout must be positive")
        self.id = id
        self.url = url
        self.client = client
        self.timeout = timeout
        self._host = parts.hostname
        self._key = webhook_key(secret) if secret is not None else None
        if format not in ("json", "slack"):
            raise ValueError("webhook format must be json or slack")
        self.format = format
        self.groups_stories = format == "slack"
        self._chat: ChatRenderer | None = None
        if format == "slack":
            from monitor.notify.render import Renderer
            from monitor.notify.slack import ChatRenderer

            self._chat = ChatRenderer(renderer or Renderer())

    def __repr__(self) -> str:  # never show the secret or the URL's path
        return f"WebhookChannel(id={self.id!r}, host={self._host!r})"

    async def send(self, alert: AlertView) -> None:
        await self.send_story(alert.alert_id, [alert])

    async def send_story(self, message_id: str, alerts: Sequence[AlertView]) -> None:
        if self._chat is None:
            for alert in alerts:  # one event per alert, each under its own id
                await self._post(alert.alert_id, build_payload(alert))
            return
        from monitor.notify.slack import chat_payload

        await self._post(message_id, self._render(lambda chat: chat_payload(chat, alerts)))

    async def send_digest(self, digest_id: str, alerts: Sequence[AlertView]) -> None:
        if self._chat is not None:
            from monitor.notify.slack import chat_digest_payload

            await self._post(
                digest_id, self._render(lambda chat: chat_digest_payload(chat, alerts))
            )
            return
        # each part under 64 KB; a failed part fails the digest, and its retry sends every
        # part again under the same ids (receivers deduplicate by webhook-id)
        for part_id, payload in digest_parts(digest_id, alerts):
            await self._post(part_id, payload)

    def _render(self, build: Callable[[ChatRenderer], dict[str, Any]]) -> dict[str, Any]:
        import jinja2

        assert self._chat is not None
        try:
            return build(self._chat)
        except jinja2.TemplateError as exc:
            raise DeliveryError(f"chat template: {one_line(str(exc))}") from None

    async def _post(self, msg_id: str, payload: dict[str, Any]) -> None:
        body = encode_body(payload)
        headers = request_headers(self._key, msg_id, int(time.time()), body)
        where = f"webhook {self._host}"
        try:
            async with asyncio.timeout(self.timeout):
                request = self.client.build_request(
                    "POST", self.url, content=body, headers=headers, timeout=self.timeout
                )
                # Streamed and never read: the answer's body does not matter, only its status.
                response = await self.client.send(request, stream=True, follow_redirects=False)
                await response.aclose()
        except TimeoutError:
            raise DeliveryError(f"{where}: no answer within {self.timeout:g} s") from None
        except httpx.TimeoutException:
            raise DeliveryError(f"{where}: timed out") from None
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{where}: {self._describe(exc)}") from None
        except OSError as exc:
            raise DeliveryError(f"{where}: {one_line(str(exc) or type(exc).__name__)}") from None
        status = response.status_code
        if 200 <= status < 300:
            return
        if status in (301, 302, 303, 307, 308):
            raise DeliveryError(f"{where}: HTTP {status} redirect (not followed)")
        raise DeliveryError(f"{where}: HTTP {status}")

    def _describe(self, exc: Exception) -> str:
        text = one_line(str(exc)).replace(self.url, self._host)
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
