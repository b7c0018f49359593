"""The email channel against real SMTP servers on loopback (aiosmtpd).

Plain, STARTTLS (required by the server) and implicit TLS with a self-signed certificate
made at test time; AUTH PLAIN and LOGIN; and the failures: a tarpit that accepts the
connection and never speaks, a refused connection, an untrusted certificate, bad
credentials, refused recipients.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from monitor.errors import DeliveryError
from monitor.notify.email import EmailChannel, SmtpParams
from monitor.notify.payload import AlertView
from monitor.notify.render import Renderer
from tests.notify.smtp_server import SmtpServer, TlsFiles, refused_port, tarpit

SENDER = "Monitor <monitor@example.org>"
TO = ("ops@example.org", "soc@example.org")
PASSWORD = "s3cret-pa55"


def channel(port: int, tls: str = "none", **params: Any) -> EmailChannel:
    smtp = SmtpParams(host="127.0.0.1", port=port, tls=tls, **params)  # type: ignore[arg-type]
    return EmailChannel("ops-email", TO, SENDER, smtp, Renderer())


async def test_plain_delivery_parses_back(
    smtp_server: Callable[..., SmtpServer], seed_alert: AlertView
) -> None:
    server = smtp_server()
    await channel(server.port).send(seed_alert)
    [got] = server.messages
    assert got.mail_from == "monitor@example.org"
    assert got.rcpt_tos == list(TO)
    msg = got.message
    assert msg["Subject"] == f"[monitor] NATO: {seed_alert.title}"  # decoded from RFC 2047
    assert b"Subject: [monitor] NATO: =?utf-8?b?" in got.raw
    got.raw.split(b"\r\n\r\n", 1)[0].decode("ascii")  # every header line is ASCII
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    assert seed_alert.title in text.get_content()
    assert '<h2 dir="rtl"' in html.get_content()
    assert "<mark>الناتو</mark>" in html.get_content()


async def test_script_title_arrives_escaped_and_headers_uninjected(
    smtp_server: Callable[..., SmtpServer], make_alert: Callable[..., AlertView]
) -> None:
    server = smtp_server()
    alert = make_alert(title="<script>alert(1)</script>\r\nBcc: evil@x")
    await channel(server.port).send(alert)
    [got] = server.messages
    assert got.rcpt_tos == list(TO)  # nobody was added
    assert got.message["Bcc"] is None
    assert got.message["Subject"] == "[monitor] NATO: <script>alert(1)</script> Bcc: evil@x"
    html = got.message.get_body(("html",))
    assert html is not None
    assert "<script>" not in html.get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html.get_content()


async def test_message_id_is_the_same_on_a_resend(
    smtp_server: Callable[..., SmtpServer], make_alert: Callable[..., AlertView]
) -> None:
    server = smtp_server()
    email_channel = channel(server.port)
    await email_channel.send(make_alert())
    await email_channel.send(make_alert())
    first, second = server.messages
    assert first.message["Message-ID"] == second.message["Message-ID"] == "<alert-1@example.org>"


async def test_digest_delivery(
    smtp_server: Callable[..., SmtpServer],
    make_alert: Callable[..., AlertView],
    seed_alert: AlertView,
) -> None:
    server = smtp_server()
    await channel(server.port).send_digest("digest-1", [make_alert(), seed_alert])
    [got] = server.messages
    assert got.message["Subject"] == "[monitor] 2 new matches: NATO"
    assert got.message["Message-ID"] == "<digest-1@example.org>"


async def test_starttls_required_by_server(
    smtp_server: Callable[..., SmtpServer],
    tls_files: TlsFiles,
    make_alert: Callable[..., AlertView],
) -> None:
    server = smtp_server(tls_context=tls_files.server_context(), require_starttls=True)
    await channel(server.port, "starttls", ca_file=str(tls_files.cert)).send(make_alert())
    [got] = server.messages
    assert got.tls
    with pytest.raises(DeliveryError, match="530") as caught:  # no upgrade: no message
        await channel(server.port, "none").send(make_alert())
    assert not caught.value.permanent


async def test_implicit_tls(
    smtp_server: Callable[..., SmtpServer],
    tls_files: TlsFiles,
    make_alert: Callable[..., AlertView],
) -> None:
    server = smtp_server(ssl_context=tls_files.server_context())
    await channel(server.port, "ssl", ca_file=str(tls_files.cert)).send(make_alert())
    [got] = server.messages
    assert got.message["Message-ID"] == "<alert-1@example.org>"


@pytest.mark.parametrize("tls", ["starttls", "ssl"])
async def test_untrusted_certificate_fails(
    smtp_server: Callable[..., SmtpServer],
    tls_files: TlsFiles,
    make_alert: Callable[..., AlertView],
    tls: str,
) -> None:
    ctx = tls_files.server_context()
    server = smtp_server(**({"tls_context": ctx} if tls == "starttls" else {"ssl_context": ctx}))
    with pytest.raises(DeliveryError, match=r"smtp 127\.0\.0\.1") as caught:
        await channel(server.port, tls, timeout=5.0).send(make_alert())
    assert not caught.value.permanent
    assert server.messages == []


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
async def test_auth_over_starttls(
    smtp_server: Callable[..., SmtpServer],
    tls_files: TlsFiles,
    make_alert: Callable[..., AlertView],
    mechanism: str,
) -> None:
    other = {"PLAIN": "LOGIN", "LOGIN": "PLAIN"}[mechanism]
    server = smtp_server(
        credentials={"ops": PASSWORD},
        tls_context=tls_files.server_context(),
        require_starttls=True,
        auth_required=True,
        auth_exclude_mechanism=[other],
    )
    params = {"username": "ops", "password": PASSWORD, "ca_file": str(tls_files.cert)}
    await channel(server.port, "starttls", **params).send(make_alert())
    assert server.logins == [(mechanism, "ops")]
    assert len(server.messages) == 1


async def test_auth_without_tls_when_the_server_allows_it(
    smtp_server: Callable[..., SmtpServer], make_alert: Callable[..., AlertView]
) -> None:
    server = smtp_server(credentials={"ops": PASSWORD}, auth_require_tls=False)
    await channel(server.port, username="ops", password=PASSWORD).send(make_alert())
    assert [login for _, login in server.logins] == ["ops"]


async def test_wrong_password_fails_without_leaking_it(
    smtp_server: Callable[..., SmtpServer], make_alert: Callable[..., AlertView]
) -> None:
    server = smtp_server(credentials={"ops": PASSWORD}, auth_require_tls=False)
    with pytest.raises(DeliveryError, match="authentication failed") as caught:
        await channel(server.port, username="ops", password="wrong-horse").send(make_alert())
    assert "wrong-horse" not in str(caught.value)
    assert "\n" not in str(caught.value)
    assert server.messages == []


async def test_refused_recipients_are_permanent(
    smtp_server: Callable[..., SmtpServer], make_alert: Callable[..., AlertView]
) -> None:
    class Refuser:
        async def handle_RCPT(
            self, server: Any, session: Any, envelope: Any, address: str, options: Any
        ) -> str:
            return "550 no such user"

    server = SmtpServer()
    server._controller.handler = Refuser()
    server.start()
    try:
        with pytest.raises(DeliveryError, match="550") as caught:
            await channel(server.port).send(make_alert())
        assert caught.value.permanent
    finally:
        server.stop()


async def test_tarpit_fails_within_the_deadline(make_alert: Callable[..., AlertView]) -> None:
    with tarpit() as port, pytest.raises(DeliveryError, match=r"smtp 127\.0\.0\.1") as caught:
        await channel(port, timeout=0.3).send(make_alert())
    assert not caught.value.permanent


@pytest.mark.parametrize("tls", ["none", "starttls", "ssl"])
async def test_connection_refused(make_alert: Callable[..., AlertView], tls: str) -> None:
    with pytest.raises(DeliveryError, match=r"smtp 127\.0\.0\.1") as caught:
        await channel(refused_port(), tls, timeout=5.0).send(make_alert())
    assert not caught.value.permanent


def test_params_repr_hides_the_password() -> None:
    params = SmtpParams("h", 25, "none", "u", PASSWORD)
    assert PASSWORD not in repr(params)


@pytest.mark.parametrize(
    ("to", "tls", "timeout", "message"),
    [
        ((), "none", 1.0, "recipient"),
        (TO, "tls", 1.0, "none, starttls or ssl"),
        (TO, "none", 0.0, "positive"),
    ],
)
def test_channel_validates_its_settings(
    to: tuple[str, ...], tls: str, timeout: float, message: str
) -> None:
    smtp = SmtpParams("h", 25, tls, timeout=timeout)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        EmailChannel("c", to, SENDER, smtp, Renderer())


# --- a connection's security that does not match the server: the setting to change ----


async def test_starttls_not_offered_says_what_to_set(
    smtp_server: Callable[..., SmtpServer], make_alert: Callable[..., AlertView]
) -> None:
    server = smtp_server(credentials={"ops": PASSWORD}, auth_require_tls=False)
    params = {"username": "ops", "password": PASSWORD}
    with pytest.raises(DeliveryError) as caught:
        await channel(server.port, "starttls", **params).send(make_alert())
    assert str(caught.value) == (
        f"smtp 127.0.0.1:{server.port}: the server does not offer STARTTLS; "
        "set smtp.tls: none (plain) or ssl (implicit TLS, usually port 465)"
    )
    assert not caught.value.permanent  # fixed in the config, then the retries succeed
    assert server.logins == [] and server.messages == []  # no password over plain text


async def test_implicit_tls_against_a_plain_port_says_what_to_set(
    smtp_server: Callable[..., SmtpServer], make_alert: Callable[..., AlertView]
) -> None:
    server = smtp_server()
    with pytest.raises(DeliveryError) as caught:
        await channel(server.port, "ssl", timeout=5.0).send(make_alert())
    message = str(caught.value)
    assert message.startswith(f"smtp 127.0.0.1:{server.port}: TLS handshake failed (")
    assert message.endswith(
        "if this port speaks plain SMTP, set smtp.tls: starttls or none "
        "(implicit TLS is usually port 465)"
    )
    assert "\n" not in message and not caught.value.permanent


@pytest.mark.parametrize("tls", ["none", "starttls"])
async def test_plain_client_against_an_implicit_tls_port_says_what_to_set(
    smtp_server: Callable[..., SmtpServer],
    tls_files: TlsFiles,
    make_alert: Callable[..., AlertView],
    tls: str,
) -> None:
    server = smtp_server(ssl_context=tls_files.server_context())
    with pytest.raises(DeliveryError) as caught:
        await channel(server.port, tls, timeout=0.5).send(make_alert())
    assert str(caught.value) == (
        f"smtp 127.0.0.1:{server.port}: no answer within 0.5 s; "
        "if this port expects TLS at once (usually 465), set smtp.tls: ssl"
    )


async def test_untrusted_certificate_names_ca_file(
    smtp_server: Callable[..., SmtpServer],
    tls_files: TlsFiles,
    make_alert: Callable[..., AlertView],
) -> None:
    server = smtp_server(tls_context=tls_files.server_context(), require_starttls=True)
    with pytest.raises(DeliveryError, match=r": TLS: certificate not trusted \(self.signed"):
        await channel(server.port, "starttls", timeout=5.0).send(make_alert())
