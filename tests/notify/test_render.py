"""Rendering: escaping, highlighting, direction, templates as data-only, operator overrides."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.model import Hit
from monitor.notify.base import flatten
from monitor.notify.context import highlight, mark_text, safe_href, term_spans, text_direction
from monitor.notify.payload import AlertView
from monitor.notify.render import Renderer
from monitor.notify.slack import ChatRenderer, chat_payload
from monitor.notify.template_check import check_templates


@pytest.mark.parametrize(
    ("text", "terms", "expected"),
    [
        ("talks on NATO today", ["NATO"], "talks on <mark>NATO</mark> today"),
        ("a <b> NATO & c", ["NATO"], "a &lt;b&gt; <mark>NATO</mark> &amp; c"),
        ("x <script> y", ["<script>"], "x <mark>&lt;script&gt;</mark> y"),
        ("nato and NATO", ["NATO"], "<mark>nato</mark> and <mark>NATO</mark>"),
        ("cyber security", ["cyber", "cyber security"], "<mark>cyber security</mark>"),
        ("North  Atlantic", ["North Atlantic"], "<mark>North  Atlantic</mark>"),
        ("لحلف /الناتو/ في", ["الناتو"], "لحلف /<mark>الناتو</mark>/ في"),
        ("nothing here", ["NATO"], "nothing here"),
        ("empty term", ["", "  "], "empty term"),
        ('say "hi"', ["hi"], "say &#34;<mark>hi</mark>&#34;"),
        ("<mark>fake</mark>", ["fake"], "&lt;mark&gt;<mark>fake</mark>&lt;/mark&gt;"),
    ],
)
def test_highlight_escapes_then_marks(text: str, terms: list[str], expected: str) -> None:
    assert str(highlight(text, terms)) == expected


def test_term_spans_do_not_overlap() -> None:
    assert term_spans("aaaa", ["aa", "aaa"]) == [(0, 3)]
    assert mark_text("the NATO summit", ["nato"]) == "the «NATO» summit"


@pytest.mark.parametrize(
    ("language", "expected"),
    [("ar", "rtl"), ("AR-qa", "rtl"), ("fa", "rtl"), ("he", "rtl"), ("ur_PK", "rtl"),
     ("en", "auto"), ("fr", "auto"), (None, "auto"), ("", "auto")],
)  # fmt: skip
def test_text_direction(language: str | None, expected: str) -> None:
    assert text_direction(language) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello\r\nBcc: evil@x", "Hello Bcc: evil@x"),
        ("a\nb\rc\td", "a b c d"),
        ("line\u2028sep\u2029par\x85nel", "line sep par nel"),
        ("nul\x00and\x1besc", "nul and esc"),
        ("  spaced   out  ", "spaced out"),
        ("الناتو", "الناتو"),
    ],
)
def test_flatten_leaves_one_line(text: str, expected: str) -> None:
    assert flatten(text) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/a?b=1", "https://example.org/a?b=1"),
        ("http://example.org", "http://example.org"),
        ("javascript:alert(1)", None),
        ("JavaScript:alert(1)", None),
        ("data:text/html,x", None),
        ("/relative", None),
        ("http://[bad", None),
    ],
)
def test_safe_href_links_only_http(url: str, expected: str | None) -> None:
    assert safe_href(url) == expected


def test_arabic_alert_html_is_right_to_left(seed_alert: AlertView) -> None:
    subject, text, html = Renderer().render_email([seed_alert])
    assert subject == f"[monitor] NATO: {seed_alert.title}"
    assert '<h2 dir="rtl"' in html
    assert '<span dir="rtl">' in html and "<mark>الناتو</mark>" in html
    assert "«الناتو»" in text


def test_english_alert_html_uses_dir_auto(make_alert: Callable[..., AlertView]) -> None:
    _, _, html = Renderer().render_email([make_alert()])
    assert '<h2 dir="auto"' in html
    assert 'dir="rtl"' not in html


def test_script_title_is_text_not_markup(make_alert: Callable[..., AlertView]) -> None:
    alert = make_alert(
        title="<script>alert(1)</script> NATO",
        summary='<img src=x onerror="alert(2)">',
        source_name="<b>bold</b>",
        url="javascript:alert(3)",
        matches=(Hit("title", "NATO", 26, 30, "<script>alert(1)</script> NATO"),),
        copies=(("<i>agency</i>", "javascript:alert(4)"),),
    )
    subject, text, html = Renderer().render_email([alert])
    for raw in ("<script>", "<img", "<b>bold", "<i>agency", 'href="javascript'):
        assert raw not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <mark>NATO</mark>" in html
    assert subject == "[monitor] NATO: <script>alert(1)</script> NATO"  # a header is plain text
    assert "<script>alert(1)</script> NATO" in text


def test_release_text_is_never_evaluated_as_a_template(
    make_alert: Callable[..., AlertView],
) -> None:
    alert = make_alert(title="{{ 7*7 }} {% if true %}yes{% endif %}", summary="{{ alert.url }}")
    subject, text, html = Renderer().render_email([alert])
    assert "{{ 7*7 }} {% if true %}yes{% endif %}" in subject
    assert "49" not in subject + text + html
    assert "{{ alert.url }}" in text


def test_subject_is_one_line_and_bounded(make_alert: Callable[..., AlertView]) -> None:
    subject, _, _ = Renderer().render_email(
        [make_alert(title="a\r\nBcc: evil@x\n" + "word " * 200)]
    )
    assert "\n" not in subject and "\r" not in subject
    assert subject.startswith("[monitor] NATO: a Bcc: evil@x word")
    assert len(subject) <= 300 and subject.endswith("…")


def test_digest_subject_counts_and_names_rules(make_alert: Callable[..., AlertView]) -> None:
    alerts = [
        make_alert(alert_id="1", release_id="r1"),
        make_alert(alert_id="2", release_id="r2", rule_id="cyber", rule_name="Cyber"),
        make_alert(alert_id="3", release_id="r3"),
    ]
    subject, text, html = Renderer().render_digest_email(alerts)
    assert subject == "[monitor] 3 new matches: NATO, Cyber"
    assert text.count("Minister meets NATO Secretary General") == 3
    assert html.count('<div class="story"') == 3


def test_operator_templates_override_by_name(
    templates_dir: Path, make_alert: Callable[..., AlertView]
) -> None:
    templates_dir.mkdir()
    (templates_dir / "email_subject.txt").write_text("ALERT {{ alert.rule_id }}: {{ title }}")
    renderer = Renderer(templates_dir)
    subject, text, _ = renderer.render_email([make_alert()])
    assert subject == "ALERT nato: Minister meets NATO Secretary General"
    assert "Rules:     NATO\n" in text  # the shipped text template still applies
    assert check_templates(renderer) == []


def test_shipped_templates_check_clean() -> None:
    assert check_templates(Renderer()) == []


@pytest.mark.parametrize(
    ("name", "source", "problem"),
    [
        ("email.html", "<p>{{ alert.title </p>", "email.html: line 1: "),
        ("email.txt", "\n\n{% for x in %}", "email.txt: line 3: "),
        ("digest.txt", "{{ no_such_variable }}", "digest.txt: 'no_such_variable' is undefined"),
        ("email_subject.txt", "{{ alert.nope }}", "email_subject.txt: "),
    ],
)
def test_check_templates_reports_one_line_per_problem(
    templates_dir: Path, name: str, source: str, problem: str
) -> None:
    templates_dir.mkdir()
    (templates_dir / name).write_text(source)
    problems = check_templates(Renderer(templates_dir))
    assert len(problems) == 1, problems
    assert problem in problems[0]
    assert str(templates_dir) in problems[0]
    assert "\n" not in problems[0]


def test_check_templates_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    assert check_templates(Renderer(missing)) == [f"{missing}: templates directory not found"]


@pytest.mark.parametrize(
    ("zone", "published", "shown"),
    [
        ("Asia/Qatar", datetime(2019, 3, 13, 7, 0, 12, 345678, tzinfo=UTC), "2019-03-13 10:00 +03"),
        ("UTC", datetime(2019, 3, 13, 7, 0, 12, 345678, tzinfo=UTC), "2019-03-13 07:00 +00"),
        ("Asia/Kolkata", datetime(2019, 3, 13, 7, 0), "2019-03-13 12:30 +05:30"),  # naive: UTC
        ("America/New_York", datetime(2019, 3, 13, 7, 0, tzinfo=UTC), "2019-03-13 03:00 -04"),
    ],
)
def test_times_are_shown_in_the_config_zone(
    make_alert: Callable[..., AlertView], zone: str, published: datetime, shown: str
) -> None:
    """Email, digest and chat show ``2019-03-13 10:00 +03``: never UTC without saying so,
    never microseconds, never ISO's ``T`` (issue 17.7)."""
    renderer = Renderer(zone=ZoneInfo(zone))
    alert = make_alert(published_at=published)
    _, text, html = renderer.render_email([alert])
    _, digest_text, digest_html = renderer.render_digest_email([alert])
    chat = str(chat_payload(ChatRenderer(renderer), [alert])["text"])
    for out in (text, html, digest_text, digest_html, chat):
        assert shown in out
        assert "T07:00" not in out and "345678" not in out and ":00:12" not in out
    assert f"Published: {shown}\n" in text
