"""The apprise channel: the services Apprise reaches (Teams, Telegram, Matrix, ntfy, ...).

``urls`` are Apprise URLs (``tgram://${TG_TOKEN}/${TG_CHAT}``, ``msteams://…``,
``ntfys://…``, ``json://host/path``); each gets every message. A message is the one people
read in email: the alerts of one story as one message listing every rule (at most 3
snippets per rule, the summary cut, times in the config's zone), an alarm notice, or a
digest — the email templates' subject as the title and their plain text as the body
(``notify.render``), so an operator's template overrides apply here too.

Apprise URLs are secrets (a bot token, a webhook key): they are never logged, never in an
error message, never shown. A target is named by its service and place in the list
(``Telegram (urls[1])``); Apprise's own log lines are kept off the daemon's log (they can
name a chat or a host) and the reason a target gave is scrubbed of every piece of its URL
before it becomes the one-line ``DeliveryError`` the outbox records and retries.

Apprise's ``notify()`` is synchronous and may block, so each target is sent in this
channel's own worker threads (never the loop's default executor, which resolves host
names for everything else), all targets side by side, within the channel's ``timeout``.
A target that succeeded is not sent the same message again when a retry follows another
target's failure (remembered in memory for the last messages: after a restart, at least
once, as every channel).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from monitor.config.channel_values import apprise_plugin, url_problem
from monitor.errors import DeliveryError
from monitor.notify.base import one_line
from monitor.notify.payload import AlertView
from monitor.notify.render import Renderer

REMEMBERED = 1000  # messages whose delivered targets are remembered across retries
CONNECT_TIMEOUT = 10.0  # seconds, at most: Apprise's own per-request connect deadline
_MIN_SECRET = 3  # URL pieces this long or longer are scrubbed from error messages


class _Capture(logging.Handler):
    """Apprise's log records, kept per thread for the send that made them; nothing else
    (the ``apprise`` logger does not propagate to the daemon's handlers)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        records: list[str] | None = getattr(self.local, "records", None)
        if records is not None:
            with contextlib.suppress(Exception):  # a malformed record must not break a send
                records.append(record.getMessage())


_CAPTURE = _Capture()
_APPRISE_LOG = logging.getLogger("apprise")
_APPRISE_LOG.propagate = False  # its records may hold a chat id, a host, a token's tail
if _CAPTURE not in _APPRISE_LOG.handlers:
    _APPRISE_LOG.addHandler(_CAPTURE)
# requests' connection pool logs each request's path at DEBUG (a token, for many services);
# only Apprise uses urllib3 here
logging.getLogger("urllib3").setLevel(logging.WARNING)


def shown_targets(urls: Sequence[str]) -> str:
    """What an apprise channel reaches, safe to show (the console's channel list): each
    URL's service name (``Telegram, ntfy``), never the URL."""
    names = []
    for url in urls:
        plugin = apprise_plugin(url)
        name = getattr(plugin, "service_name", None) if plugin is not None else None
        names.append(one_line(str(name), 40) if name else "not understood")
    return ", ".join(names)


def url_secrets(url: str) -> list[str]:
    """Every piece of ``url`` that might be secret (all but the scheme), longest first."""
    parts = urlsplit(url)
    pieces = {url, parts.netloc, parts.path, parts.query, parts.fragment}
    pieces.update(parts.netloc.replace("@", ":").split(":"))
    pieces.update(p for p in parts.path.split("/"))
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        pieces.update((key, value))
    pieces.update({unquote(p) for p in pieces})
    return sorted((p for p in pieces if len(p) >= _MIN_SECRET), key=len, reverse=True)


def scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


@dataclass(frozen=True)
class _Target:
    index: int
    label: str  # "Telegram (urls[1])": never the URL
    plugin: Any
    secrets: tuple[str, ...]

    def send(self, title: str, body: str) -> str | None:
        """Runs in a worker thread: None when delivered, else the (scrubbed) reason."""
        from apprise import NotifyFormat

        records: list[str] = []
        _CAPTURE.local.records = records
        try:
            ok = self.plugin.notify(body=body, title=title, body_format=NotifyFormat.TEXT)
        except Exception as exc:  # a plugin's own bug must not escape the channel
            return f"{type(exc).__name__} in Apprise"
        finally:
            _CAPTURE.local.records = None
        if ok:
            return None
        reason = records[-1] if records else "the service refused the message"
        return one_line(scrub(reason, self.secrets), 160)


class AppriseChannel:
    """Sends each message to every Apprise URL of the channel; ``timeout`` bounds it."""

    groups_stories = True

    def __init__(
        self, id: str, urls: Sequence[str], renderer: Renderer, timeout: float = 30.0
    ) -> None:
        if not urls:
            raise ValueError("an apprise channel needs at least one URL")
        if timeout <= 0:
            raise ValueError("apprise timeout must be positive")
        self.id = id
        self.renderer = renderer
        self.timeout = timeout
        targets = []
        for index, url in enumerate(urls):
            plugin = apprise_plugin(url)
            if plugin is None:
                raise ValueError(f"urls[{index}]: {url_problem(url) or 'not understood'}")
            # Apprise's own deadlines inside ours, so a worker thread never outlives a send
            plugin.socket_connect_timeout = min(CONNECT_TIMEOUT, timeout)
            plugin.socket_read_timeout = timeout
            name = one_line(str(getattr(plugin, "service_name", None) or "Apprise"), 40)
            targets.append(
                _Target(index, f"{name} (urls[{index}])", plugin, tuple(url_secrets(url)))
            )
        self._targets = tuple(targets)
        self._executor = ThreadPoolExecutor(
            max_workers=2 * len(targets), thread_name_prefix=f"apprise-{id}"
        )
        self._delivered: OrderedDict[str, set[int]] = OrderedDict()

    def __repr__(self) -> str:  # never the URLs
        return f"AppriseChannel(id={self.id!r}, targets={[t.label for t in self._targets]!r})"

    async def send(self, alert: AlertView) -> None:
        await self.send_story(alert.alert_id, [alert])

    async def send_story(self, message_id: str, alerts: Sequence[AlertView]) -> None:
        subject, text, _ = self._render(lambda: self.renderer.render_email(alerts))
        await self._notify(message_id, subject, text)

    async def send_digest(self, digest_id: str, alerts: Sequence[AlertView]) -> None:
        subject, text, _ = self._render(lambda: self.renderer.render_digest_email(alerts))
        await self._notify(digest_id, subject, text)

    def _render(self, build: Callable[[], tuple[str, str, str]]) -> tuple[str, str, str]:
        import jinja2

        try:
            return build()
        except jinja2.TemplateError as exc:
            raise DeliveryError(f"apprise template: {one_line(str(exc))}") from None

    async def _notify(self, key: str, title: str, body: str) -> None:
        delivered = self._delivered.setdefault(key, set())
        self._delivered.move_to_end(key)
        while len(self._delivered) > REMEMBERED:
            self._delivered.popitem(last=False)
        pending = [t for t in self._targets if t.index not in delivered]
        if not pending:
            self._delivered.pop(key, None)
            return
        loop = asyncio.get_running_loop()
        futures = [loop.run_in_executor(self._executor, t.send, title, body) for t in pending]
        done, late = await asyncio.wait(futures, timeout=self.timeout)
        failures: list[str] = []
        for target, future in zip(pending, futures, strict=True):
            if future not in done:
                failures.append(f"{target.label}: no answer within {self.timeout:g} s")
                continue
            reason = future.result()
            if reason is None:
                delivered.add(target.index)
            else:
                failures.append(f"{target.label}: {reason}")
        for future in late:  # it goes on in its thread, bounded by Apprise's own deadlines
            future.add_done_callback(_ignore)
        if failures:
            raise DeliveryError(one_line("; ".join(failures)))
        self._delivered.pop(key, None)


def _ignore(future: asyncio.Future[str | None]) -> None:
    if not future.cancelled():
        future.exception()  # retrieved: no "exception was never retrieved" warning
