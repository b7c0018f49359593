"""The email message itself, built without a server: headers, structure, encodings."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from monitor.notify.email import build_digest_email, build_email, message_id
from monitor.notify.payload import AlertView
from monitor.notify.render import Renderer

SENDER = "Monitor <monitor@example.org>"
TO = ["ops@example.org", "soc@example.org"]


def reparse(raw: bytes) -> email.message.EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


def header_block(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0]


def test_structure_and_headers(make_alert: Callable[..., AlertView]) -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    raw = build_email("alert-1", [make_alert()], SENDER, TO, Renderer(), now=now).as_bytes()
    msg = reparse(raw)
    assert msg["Subject"] == "[monitor] NATO: Minister meets NATO Secretary General"
    assert msg["From"] == SENDER
    assert msg["To"] == "ops@example.org, soc@example.org"
    assert msg["Date"] == "Wed, 01 May 2024 12:00:00 +0000"
    assert msg["Message-ID"] == "<alert-1@example.org>"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    raw.decode("ascii")  # 7bit on the wire: bodies are encoded, headers RFC 2047


def test_arabic_subject_is_rfc2047_encoded(seed_alert: AlertView) -> None:
    raw = build_email(seed_alert.alert_id, [seed_alert], SENDER, TO, Renderer()).as_bytes()
    headers = header_block(raw)
    assert b"=?utf-8?" in headers
    headers.decode("ascii")
    msg = reparse(raw)
    assert msg["Subject"] == f"[monitor] NATO: {seed_alert.title}"
    html = msg.get_body(("html",))
    assert html is not None and '<h2 dir="rtl"' in html.get_content()


@pytest.mark.parametrize(
    "title",
    [
        "Hello\r\nBcc: evil@x",
        "Hello\nBcc: evil@x",
        "Hello\rBcc: evil@x",
        "Hello\r\n\r\n<html>body injection",
        "Hello\u2028Bcc: evil@x",
        "Hello\x00\x0bBcc: evil@x",
    ],
)
def test_no_header_injection_from_title(make_alert: Callable[..., AlertView], title: str) -> None:
    raw = build_email("alert-1", [make_alert(title=title)], SENDER, TO, Renderer()).as_bytes()
    msg = reparse(raw)
    assert msg["Bcc"] is None
    assert "\n" not in msg["Subject"] and "\r" not in msg["Subject"]
    assert msg["Subject"].startswith("[monitor] NATO: Hello ")
    assert b"\r\nBcc:" not in header_block(raw)


def test_message_id_is_stable_per_alert(make_alert: Callable[..., AlertView]) -> None:
    renderer = Renderer()
    first = build_email("alert-1", [make_alert()], SENDER, TO, renderer)
    again = build_email("alert-1", [make_alert()], SENDER, TO, renderer)
    other = build_email("alert-2", [make_alert(alert_id="alert-2")], SENDER, TO, renderer)
    assert first["Message-ID"] == again["Message-ID"] != other["Message-ID"]


@pytest.mark.parametrize(
    ("key", "sender", "expected"),
    [
        ("alert-1", "monitor@example.org", "<alert-1@example.org>"),
        ("alert-1", "Monitor <monitor@mail.example.org>", "<alert-1@mail.example.org>"),
        ("a b<c>@d", "monitor@example.org", "<a-b-c--d@example.org>"),
        ("alert-1", "monitor", "<alert-1@monitor>"),
    ],
)
def test_message_id(key: str, sender: str, expected: str) -> None:
    assert message_id(key, sender) == expected


def test_digest_email(make_alert: Callable[..., AlertView], seed_alert: AlertView) -> None:
    alerts = [
        make_alert(),
        make_alert(alert_id="2", release_id="rel-2", rule_id="cyber", rule_name="Cyber"),
        seed_alert,
    ]
    msg = reparse(build_digest_email("digest-9", alerts, SENDER, TO, Renderer()).as_bytes())
    assert msg["Subject"] == "[monitor] 3 new matches: NATO, Cyber"
    assert msg["Message-ID"] == "<digest-9@example.org>"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]


@pytest.mark.parametrize("bad", ["ops@example.org\r\nBcc: evil@x", "", "  "])
def test_addresses_must_be_one_line(make_alert: Callable[..., AlertView], bad: str) -> None:
    with pytest.raises(ValueError, match="one line"):
        build_email("alert-1", [make_alert()], SENDER, [bad], Renderer())
