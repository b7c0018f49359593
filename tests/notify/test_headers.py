"""Email headers arrive as meant (issue 17.1): every space of an Arabic subject, and names.

The email package's SMTP policy folded long non-ASCII subjects between encoded words and
left the text's space there, where RFC 2047 decoders drop it: "قطر وحلف الناتو" arrived
as "قطر وحلفالناتو". Here thousands of subjects (the seed release under the shipped rule
names, generated Arabic, English and mixed ones) are built, turned into bytes and parsed
back with the standard library, in process; a smaller set goes through a real SMTP
server. Each must be identical to what was meant, with header lines RFC 2047 allows.
"""

from __future__ import annotations

import base64
import dataclasses
import email
import email.header
import email.headerregistry
import email.policy
from collections.abc import Callable
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape

from monitor.notify.base import truncate
from monitor.notify.email import EmailChannel, SmtpParams, build_email, message_bytes
from monitor.notify.headers import POLICY, fold_text
from monitor.notify.payload import AlertView
from monitor.notify.render import Renderer
from tests.notify.smtp_server import SmtpServer
from tests.notify.subjects import all_subjects, generated_titles, rule_names, subject_prefixes

SENDER = "وزارة الخارجية - قطر <monitor@example.org>"  # an Arabic display name
SENDER_NAME = "وزارة الخارجية - قطر"
TO = ["فريق العمليات <ops@example.org>", "soc@example.org"]


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def header_lines(raw: bytes) -> list[bytes]:
    return raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


def assert_wire_form(raw: bytes) -> None:
    """ASCII headers; a line that holds an encoded word is at most 76 characters."""
    for line in header_lines(raw):
        line.decode("ascii")
        if b"=?" in line:
            assert len(line) <= 76, line


def headers_only(subject: str) -> bytes:
    msg = EmailMessage(policy=POLICY)
    msg["Subject"] = subject
    msg["From"] = SENDER
    msg["To"] = ", ".join(TO)
    msg.set_content("x")
    return message_bytes(msg)


def test_thousands_of_subjects_round_trip() -> None:
    subjects = all_subjects(stride=2, generated=1000)
    assert len(subjects) > 4000
    altered = []
    for i, subject in enumerate(subjects):
        raw = headers_only(subject)
        assert_wire_form(raw)
        msg = parse(raw)
        if msg["Subject"] != subject:
            altered.append((subject, str(msg["Subject"])))
        if i % 50 == 0:
            assert msg["From"].addresses[0].display_name == SENDER_NAME
            assert msg["To"].addresses[0].display_name == "فريق العمليات"
    assert altered == [], f"{len(altered)} of {len(subjects)} altered, e.g. {altered[:3]}"


@settings(max_examples=400, deadline=None)
@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=300))
def test_any_text_round_trips(value: str) -> None:
    raw = fold_text("Subject", value).encode("ascii") + b"\r\n"
    assert_wire_form(raw)
    assert parse(raw)["Subject"] == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        " leading and trailing ",
        "two  spaces",
        "A B ",
        "=?utf-8?q?looks_encoded?= but is text",
        "x" * 200,
        "plain ascii " * 20,
        "[monitor] NATO: " + "ا" * 200,
        "🇶🇦" * 40,
    ],
)
def test_edge_values_round_trip(value: str) -> None:
    raw = fold_text("Subject", value).encode("ascii") + b"\r\n"
    assert_wire_form(raw)
    assert parse(raw)["Subject"] == value


def test_words_are_never_split_across_encoded_words() -> None:
    """Some mail clients show a space where one encoded word ends inside a word: every
    encoded word but the last ends after a space (the seed's words each fit in one)."""
    for subject in all_subjects(stride=7, generated=0):
        folded = fold_text("Subject", subject)
        words = [w for w in folded.split() if w.startswith("=?utf-8?b?")]
        texts = [base64.b64decode(w[10:-2]).decode("utf-8") for w in words]
        assert all(text.endswith(" ") for text in texts[:-1]), (subject, texts)


def test_readable_ascii_prefix_then_encoded_words() -> None:
    folded = fold_text("Subject", "[monitor] NATO: قطر وحلف الناتو")
    assert folded.startswith("Subject: [monitor] NATO: =?utf-8?b?")
    assert "?= =?" not in folded  # never two encoded words on one line with text between


@pytest.mark.parametrize("group", [1, 2, 5])
def test_seed_title_under_the_shipped_rule_names(seed_alert: AlertView, group: int) -> None:
    names = rule_names()[:group]
    alerts = [
        dataclasses.replace(seed_alert, alert_id=f"a{i}", rule_id=f"r{i}", rule_name=name)
        for i, name in enumerate(names)
    ]
    msg = parse(message_bytes(build_email("k", alerts, SENDER, TO, Renderer())))
    assert msg["Subject"] == f"[monitor] {', '.join(names)}: {seed_alert.title}"
    html = msg.get_body(("html",))
    assert html is not None and '<h2 dir="rtl"' in html.get_content()
    assert str(escape(seed_alert.title)) in html.get_content()


def test_built_emails_round_trip(make_alert: Callable[..., AlertView]) -> None:
    renderer = Renderer()
    titles = list(generated_titles(600, seed=2047))
    for i, title in enumerate(titles):
        alert = make_alert(alert_id=f"a{i}", title=title, language="ar")
        subject, _, _ = renderer.render_email([alert])
        raw = message_bytes(build_email(alert.alert_id, [alert], SENDER, TO, renderer))
        assert_wire_form(raw)
        msg = parse(raw)
        assert msg["Subject"] == subject == truncate(f"[monitor] NATO: {title}", 300)
        assert msg["From"].addresses[0].display_name == SENDER_NAME
        html, text = msg.get_body(("html",)), msg.get_body(("plain",))
        assert html is not None and text is not None
        assert str(escape(title)) in html.get_content()
        assert title in text.get_content()


@pytest.mark.parametrize(
    "name",
    [
        "وزارة الخارجية",
        "مكتب الاتصال الحكومي - دولة قطر",
        "Ministère des Affaires étrangères",
        'O\'Neil "Ops" (desk)',
    ],
)
def test_display_names_round_trip(name: str) -> None:
    msg = EmailMessage(policy=POLICY)
    msg["From"] = email.headerregistry.Address(display_name=name, addr_spec="m@example.org")
    msg.set_content("x")
    raw = message_bytes(msg)
    assert_wire_form(raw)
    assert parse(raw)["From"].addresses[0].display_name == name


def test_long_arabic_display_name_is_exact_for_rfc2047_decoders() -> None:
    """A name longer than one encoded word is split after a space. RFC 2047 decoders read
    it exactly; the standard library's address parser keeps the fold as a second space."""
    name = "وزارة الخارجية دولة قطر مكتب الاتصال الحكومي إدارة الإعلام والاتصال"
    msg = EmailMessage(policy=POLICY)
    msg["From"] = email.headerregistry.Address(display_name=name, addr_spec="m@example.org")
    msg.set_content("x")
    raw = message_bytes(msg)
    assert_wire_form(raw)
    value = raw.split(b"From: ", 1)[1].split(b" <m@example.org>", 1)[0].decode("ascii")
    decoded = email.header.decode_header(value.replace("\r\n", ""))
    assert "".join(part.decode(charset or "ascii") for part, charset in decoded) == name  # type: ignore[union-attr]
    stdlib = parse(raw)["From"].addresses[0].display_name
    assert " ".join(stdlib.split()) == name


async def test_subjects_through_a_real_smtp_server(
    smtp_server: Callable[..., SmtpServer], make_alert: Callable[..., AlertView]
) -> None:
    server = smtp_server()
    smtp = SmtpParams(host="127.0.0.1", port=server.port, tls="none", timeout=10.0)
    renderer = Renderer()
    channel = EmailChannel("ops", TO, SENDER, smtp, renderer)
    first = subject_prefixes()[0]
    seed = [s for s in all_subjects(generated=0) if s.startswith(first)]
    titles = [s.split(": ", 1)[1] for s in seed[::8]] + list(generated_titles(120, seed=465))
    sent = []
    for i, title in enumerate(titles):
        alert = make_alert(alert_id=f"m{i}", title=title, language="ar")
        sent.append((renderer.render_email([alert])[0], title))
        await channel.send(alert)
    received = server.messages
    assert len(received) == len(titles) > 200
    for (subject, title), got in zip(sent, received, strict=True):
        assert got.message["Subject"] == subject
        assert got.message["From"].addresses[0].display_name == SENDER_NAME
        html = got.message.get_body(("html",))
        assert html is not None and str(escape(title)) in html.get_content()
        assert_wire_form(got.raw)
