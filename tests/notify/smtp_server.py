"""Real SMTP servers on loopback for the email channel tests.

``SmtpServer`` wraps aiosmtpd's threaded ``Controller`` on a free port and records every
message it accepts (envelope and parsed ``EmailMessage``), plus the credentials of each
successful AUTH. ``tarpit`` accepts TCP connections and never says a word.
"""

from __future__ import annotations

import email
import email.policy
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage
    tls: bool


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.logins: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.content)
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        got = Received(
            envelope.mail_from, list(envelope.rcpt_tos), raw, parsed, session.ssl is not None
        )
        with self.lock:
            self.messages.append(got)
        return "250 OK"


class SmtpServer:
    """aiosmtpd on 127.0.0.1:<free port>; ``messages`` and ``logins`` are what it saw."""

    def __init__(self, credentials: dict[str, str] | None = None, **smtp_kwargs: Any) -> None:
        self._recorder = _Recorder()
        self.credentials = credentials
        if credentials is not None:
            smtp_kwargs["authenticator"] = self._authenticate
        self.port = free_port()
        self._controller = Controller(
            self._recorder,
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="localhost",
            **smtp_kwargs,
        )

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert self.credentials is not None
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        if self.credentials.get(login) == password:
            with self._recorder.lock:
                self.logins.append((mechanism, login))
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    @property
    def messages(self) -> list[Received]:
        with self._recorder.lock:
            return list(self._recorder.messages)

    @property
    def logins(self) -> list[tuple[str, str]]:
        return self._recorder.logins

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


@contextmanager
def tarpit() -> Iterator[int]:
    """A port that accepts TCP connections (kernel backlog) and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield int(s.getsockname()[1])


def refused_port() -> int:
    """A port nothing listens on (it was free a moment ago)."""
    return free_port()


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx


def make_self_signed(directory: Path) -> TlsFiles | None:
    """A self-signed certificate for localhost/127.0.0.1, or None without a generator.

    Uses ``cryptography`` when installed, else the ``openssl`` command.
    """
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        return _with_cryptography(cert, key)
    except ImportError:
        pass
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return TlsFiles(cert, key)


def _with_cryptography(cert_path: Path, key_path: Path) -> TlsFiles:
    import datetime
    import ipaddress

    from cryptography import x509  # type: ignore[import-not-found, unused-ignore]
    from cryptography.hazmat.primitives import hashes, serialization  # type: ignore[import-not-found, unused-ignore]
    from cryptography.hazmat.primitives.asymmetric import ec  # type: ignore[import-not-found, unused-ignore]
    from cryptography.x509.oid import NameOID  # type: ignore[import-not-found, unused-ignore]

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    san = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return TlsFiles(cert_path, key_path)
