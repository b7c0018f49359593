"""The email channel: a multipart text + HTML message over SMTP (aiosmtplib).

``build_email``/``build_digest_email`` are pure: they turn alerts — the alerts of one
story (one message listing every rule), an alarm notice, or a digest — into an
``EmailMessage`` (no I/O), so headers and structure are tested without a server.
Header safety: the subject is flattened to one line by the renderer (release text never
brings a CR/LF into a header); ``Subject``, ``From`` and ``To`` are RFC 2047-encoded by
``notify.headers`` so that every space of an Arabic title arrives (the email package's
own folding dropped spaces at folds); the ``Message-ID`` is derived from the alert id so a
retry is recognisably the same message. ``message_bytes`` is what goes on the wire.

``EmailChannel`` sends with ``none``, ``starttls`` or ``ssl`` transport security and
optional authentication, all of it (connect, TLS, auth, send, quit) inside one overall
deadline: a server that accepts the connection and never answers fails the send, it
does not stall the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import re
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Literal

import aiosmtplib
import jinja2

from monitor.errors import DeliveryError
from monitor.notify.base import one_line
from monitor.notify.headers import POLICY
from monitor.notify.payload import AlertView
from monitor.notify.render import Renderer

CLOSE_GRACE = 1.0  # seconds to let a finished connection close cleanly
_NOT_MSG_ID = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]")


@dataclass(frozen=True, slots=True)
class SmtpParams:
    """How to reach the SMTP server."""

    host: str
    port: int
    tls: Literal["none", "starttls", "ssl"]
    username: str | None = None
    password: str | None = None  # never logged, never in an error message
    timeout: float = 30.0  # overall deadline for one send, seconds
    ca_file: str | None = None  # extra CA bundle (PEM) for a private relay's certificate

    def __repr__(self) -> str:
        return (
            f"SmtpParams(host={self.host!r}, port={self.port}, tls={self.tls!r}, "
            f"username={self.username!r}, password={'***' if self.password else None})"
        )


def message_id(key: str, sender: str) -> str:
    """A Message-ID stable for ``key`` (the alert or digest id), in the sender's domain."""
    address = email.utils.parseaddr(sender)[1]
    domain = address.rpartition("@")[2] if "@" in address else ""
    domain = _NOT_MSG_ID.sub("", domain).strip(".") or "monitor"
    local = _NOT_MSG_ID.sub("-", key).strip(".") or "alert"
    return f"<{local}@{domain}>"


def _check_address(value: str, what: str) -> str:
    if not value.strip() or any(not c.isprintable() for c in value):
        raise ValueError(f"email {what} must be a non-empty address on one line")
    return value.strip()


def _message(
    key: str,
    rendered: tuple[str, str, str],
    sender: str,
    to: Sequence[str],
    now: datetime | None,
) -> EmailMessage:
    subject, text, html = rendered
    msg = EmailMessage(policy=POLICY)
    msg["Subject"] = subject
    msg["From"] = _check_address(sender, "sender")
    msg["To"] = ", ".join(_check_address(a, "recipient") for a in to)
    msg["Date"] = email.utils.format_datetime(now or datetime.now(UTC))
    msg["Message-ID"] = message_id(key, sender)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as sent: CRLF lines, 7bit, headers folded by ``notify.headers``."""
    return msg.as_bytes(policy=POLICY)


def build_email(
    message_key: str,
    alerts: Sequence[AlertView],
    sender: str,
    to: Sequence[str],
    renderer: Renderer,
    now: datetime | None = None,
) -> EmailMessage:
    """One message about one story (its alerts, one per rule) or one alarm notice:
    multipart/alternative, text/plain then text/html; ``message_key`` makes its Message-ID."""
    return _message(message_key, renderer.render_email(alerts), sender, to, now)


def build_digest_email(
    digest_id: str,
    alerts: Sequence[AlertView],
    sender: str,
    to: Sequence[str],
    renderer: Renderer,
    now: datetime | None = None,
) -> EmailMessage:
    """The message for a digest of several alerts."""
    return _message(digest_id, renderer.render_digest_email(alerts), sender, to, now)


def _smtp_error(exc: aiosmtplib.SMTPException) -> DeliveryError:
    """Map an SMTP failure: a 5xx refusal of the sender, recipients or data is permanent."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [e.code for e in exc.recipients]
        detail = "; ".join(f"{e.code} {one_line(e.message, 80)}" for e in exc.recipients)
        return DeliveryError(
            f"recipients refused: {detail}", permanent=bool(codes) and min(codes) >= 500
        )
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        # Not permanent: the operator may fix the password and the retries then succeed.
        return DeliveryError(f"authentication failed: {exc.code} {one_line(exc.message, 120)}")
    if isinstance(exc, aiosmtplib.SMTPSenderRefused | aiosmtplib.SMTPDataError):
        # 530/534/535/538: authentication or TLS is required - a setting to fix, then retry.
        permanent = exc.code >= 500 and exc.code not in (530, 534, 535, 538)
        return DeliveryError(f"refused: {exc.code} {one_line(exc.message)}", permanent=permanent)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return DeliveryError(f"{exc.code} {one_line(exc.message)}")
    return DeliveryError(one_line(str(exc)) or type(exc).__name__)


class EmailChannel:
    """Sends each story (or alarm notice, or digest) as one email to ``to`` through ``smtp``."""

    groups_stories = True

    def __init__(
        self,
        id: str,
        to: Sequence[str],
        sender: str,
        smtp: SmtpParams,
        renderer: Renderer,
    ) -> None:
        if not to:
            raise ValueError("email channel needs at least one recipient")
        if smtp.tls not in ("none", "starttls", "ssl"):
            raise ValueError("smtp.tls must be none, starttls or ssl")
        if smtp.timeout <= 0:
            raise ValueError("smtp timeout must be positive")
        self.id = id
        self.to = tuple(_check_address(a, "recipient") for a in to)
        self.sender = _check_address(sender, "sender")
        self.smtp = smtp
        self.renderer = renderer
        # The SMTP envelope takes bare addresses; headers keep the display names.
        self._envelope_from = email.utils.parseaddr(self.sender)[1] or self.sender
        self._envelope_to = [email.utils.parseaddr(a)[1] or a for a in self.to]

    async def send(self, alert: AlertView) -> None:
        await self.send_story(alert.alert_id, [alert])

    async def send_story(self, message_id: str, alerts: Sequence[AlertView]) -> None:
        msg = self._build(
            lambda: build_email(message_id, alerts, self.sender, self.to, self.renderer)
        )
        await self.deliver(msg)

    async def send_digest(self, digest_id: str, alerts: Sequence[AlertView]) -> None:
        msg = self._build(
            lambda: build_digest_email(digest_id, alerts, self.sender, self.to, self.renderer)
        )
        await self.deliver(msg)

    def _build(self, build: Callable[[], EmailMessage]) -> EmailMessage:
        try:
            return build()
        except jinja2.TemplateError as exc:
            raise DeliveryError(f"email template: {one_line(str(exc))}") from None

    async def deliver(self, msg: EmailMessage) -> None:
        """Send a built message within the overall deadline, or raise ``DeliveryError``.

        The steps are explicit — connect (TLS at once for ``ssl``), STARTTLS when asked
        for and offered, then AUTH, so credentials never cross an unencrypted
        connection that was meant to be upgraded — and a failure in the connection's
        security names the ``smtp.tls`` setting that would work.
        """
        p = self.smtp
        where = f"smtp {p.host}:{p.port}"
        client = aiosmtplib.SMTP(
            hostname=p.host,
            port=p.port,
            use_tls=p.tls == "ssl",
            start_tls=False,  # upgraded below, only when asked for: "none" never upgrades
            timeout=p.timeout,
            cert_bundle=p.ca_file,
        )
        closed: asyncio.Future[None] | None = None
        stage = "connect"
        try:
            async with asyncio.timeout(p.timeout):
                await client.connect()
                closed = _closed_future(client)
                if p.tls == "starttls":
                    stage = "starttls"
                    await client.ehlo()
                    if not client.supports_extension("starttls"):
                        raise DeliveryError(f"{where}: {NO_STARTTLS}")
                    await client.starttls()
                stage = "send"
                if p.username:
                    await client.login(p.username, p.password or "")
                await client.sendmail(self._envelope_from, self._envelope_to, message_bytes(msg))
                await client.quit()
        except TimeoutError:
            hint = f"; {NO_GREETING}" if stage == "connect" and p.tls != "ssl" else ""
            raise DeliveryError(f"{where}: no answer within {p.timeout:g} s{hint}") from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            tls = _tls_failure(exc, p.tls, stage)
            if tls is not None:
                raise DeliveryError(f"{where}: {tls}") from None
            if isinstance(exc, aiosmtplib.SMTPException):
                error = _smtp_error(exc)
                raise DeliveryError(f"{where}: {error}", permanent=error.permanent) from None
            raise DeliveryError(f"{where}: {one_line(str(exc) or type(exc).__name__)}") from None
        finally:
            client.close()
            if closed is not None:
                # A TLS close completes in the background (close_notify both ways); wait a
                # moment for it so a short-lived loop (``monitor poll``) leaves no socket open.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(CLOSE_GRACE, p.timeout)):
                        await closed


NO_STARTTLS = (
    "the server does not offer STARTTLS; set smtp.tls: none (plain) "
    "or ssl (implicit TLS, usually port 465)"
)
NO_GREETING = "if this port expects TLS at once (usually 465), set smtp.tls: ssl"


def _tls_failure(exc: BaseException, tls: str, stage: str) -> str | None:
    """A one-line account of a failed TLS handshake, with the setting to change; None when
    the failure is not TLS's."""
    error = exc if isinstance(exc, ssl.SSLError) else exc.__cause__
    if not isinstance(error, ssl.SSLError) or stage not in ("connect", "starttls"):
        return None
    reason = one_line(error.reason or str(error), 120)
    if isinstance(error, ssl.SSLCertVerificationError):
        detail = one_line(error.verify_message or reason, 120)
        return (
            f"TLS: certificate not trusted ({detail}); trust the relay's certificate "
            "with smtp.ca_file (a PEM bundle)"
        )
    if tls == "ssl":
        return (
            f"TLS handshake failed ({reason}); if this port speaks plain SMTP, set "
            "smtp.tls: starttls or none (implicit TLS is usually port 465)"
        )
    return f"TLS handshake failed after STARTTLS ({reason}); set smtp.tls: none or ssl"


def _closed_future(client: aiosmtplib.SMTP) -> asyncio.Future[None] | None:
    """A future set when the client's connection is really gone (its socket closed)."""
    protocol = client.protocol
    if protocol is None or not protocol.is_connected:
        return None
    closed = asyncio.get_running_loop().create_future()
    lost = protocol.connection_lost

    def connection_lost(exc: Exception | None) -> None:
        lost(exc)
        if not closed.done():
            closed.set_result(None)

    # aiosmtplib offers no close waiter; the transport calls this attribute when done.
    setattr(protocol, "connection_lost", connection_lost)  # noqa: B010
    return closed
