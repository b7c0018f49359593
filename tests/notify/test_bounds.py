"""Bounded output (issue 22.2, the message side): whatever a release holds, a message and a
webhook body stay small, and the work to make them is bounded too.

The hostile inputs of the issue: a release whose hits are a million "NATO"s, and a 9.5 MB
Arabic summary. A webhook body stays under 64 KB (title and summary cut, ``"truncated":
true``, UTF-8), an email is a few KB, a chat message and a log line too; at most 3 snippets
per rule everywhere. A lazy hit list counts how many hits were looked at.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.model import Hit
from monitor.notify.bounds import (
    SCAN,
    WEBHOOK_BYTES,
    cut,
    cut_to_bytes,
    fit_json,
    json_size,
    shown_hits,
)
from monitor.notify.email import build_digest_email, build_email, message_bytes
from monitor.notify.log import story_line
from monitor.notify.payload import AlertView, build_digest_payload, build_payload, digest_parts
from monitor.notify.render import Renderer
from monitor.notify.slack import ChatRenderer, chat_digest_payload, chat_payload
from monitor.notify.webhook import encode_body

MILLION = 1_000_000
ARABIC_SUMMARY = "اجتماع حلف شمال الأطلسي الناتو في بروكسل " * 127_000  # 9.5 MB of UTF-8


class LazyHits(Sequence[Hit]):
    """``n`` hits, each made when asked for (a million cost nothing); counts the asking."""

    def __init__(self, n: int, term: str = "NATO") -> None:
        self.n, self.term, self.made = n, term, 0

    def __len__(self) -> int:
        return self.n

    def _hit(self, i: int) -> Hit:
        self.made += 1
        return Hit("content", self.term, i * 5, i * 5 + 4, f"… {self.term} number {i} …")

    @overload
    def __getitem__(self, i: int) -> Hit: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Hit]: ...
    def __getitem__(self, i: int | slice) -> Hit | Sequence[Hit]:
        if isinstance(i, slice):
            return [self._hit(j) for j in range(*i.indices(self.n))]
        return self._hit(i)

    def __iter__(self) -> Iterator[Hit]:
        return (self._hit(i) for i in range(self.n))


@pytest.fixture
def hostile(make_alert: Callable[..., AlertView]) -> Callable[..., AlertView]:
    def make(**changes: Any) -> AlertView:
        fields: dict[str, Any] = {
            "title": "الناتو " * 20_000,  # a 140,000-character title
            "summary": ARABIC_SUMMARY,
            "language": "ar",
            "matches": LazyHits(MILLION),
            "copies": tuple((f"agency-{i}", f"https://agency.example/{i}") for i in range(5000)),
        }
        return make_alert(**{**fields, **changes})

    return make


def test_the_summary_really_is_9_5_mb() -> None:
    assert 9_400_000 < len(ARABIC_SUMMARY.encode("utf-8")) < 9_700_000


def test_webhook_body_stays_under_64_kb(hostile: Callable[..., AlertView]) -> None:
    alert = hostile()
    body = encode_body(build_payload(alert))
    assert len(body) < 64 * 1024
    payload = json.loads(body)
    assert payload["truncated"] is True
    assert len(payload["matches"]) == 3 and payload["match_count"] == MILLION
    assert payload["copy_count"] == 5000 and len(payload["copies"]) <= 20
    assert payload["release"]["summary"].startswith("اجتماع حلف شمال الأطلسي")
    assert len(payload["release"]["title"]) > 1000  # cut to share the budget, not emptied
    assert b"\\u06" not in body  # UTF-8: Arabic costs 2 bytes, not a 6-byte escape
    assert alert.matches.made <= SCAN  # type: ignore[attr-defined]


def test_webhook_body_of_a_million_identical_hits(hostile: Callable[..., AlertView]) -> None:
    nato = Hit("content", "NATO", 0, 4, "NATO NATO NATO NATO NATO")
    payload = build_payload(hostile(matches=(nato,) * MILLION))
    assert payload["matches"] == [{"field": "content", "term": "NATO", "snippet": nato.snippet}]
    assert payload["match_count"] == MILLION


def test_email_is_a_few_kb(hostile: Callable[..., AlertView]) -> None:
    renderer = Renderer()
    alerts = [hostile(), hostile(alert_id="a2", rule_id="cyber", rule_name="Cyber")]
    raw = message_bytes(build_email("k", alerts, "m@example.org", ["o@example.org"], renderer))
    assert len(raw) < 16_000
    subject, text, html = renderer.render_email(alerts)
    assert len(subject) <= 300
    assert text.count("  - NATO in content:") == 6  # 3 per rule, two rules
    assert text.count(f"+ {MILLION - 3} more") == 2
    assert "+ 4990 more" in text  # copies: 10 shown
    assert len(text) < 6_000 and len(html) < 12_000
    # rendered twice above: each time, a thousand hits looked at at most, not a million
    assert all(a.matches.made <= 2 * (SCAN + 3) for a in alerts)  # type: ignore[attr-defined]


def test_digest_bodies_are_bounded(hostile: Callable[..., AlertView]) -> None:
    alerts = [hostile(alert_id=f"a{i}", release_id=f"r{i}") for i in range(40)]
    body = encode_body(build_digest_payload("d1", alerts))
    assert len(body) < 64 * 1024
    assert all(len(a["matches"]) == 3 for a in json.loads(body)["alerts"])
    many = [hostile(alert_id=f"b{i}", release_id=f"s{i}") for i in range(200)]
    parts = digest_parts("d2", many)  # too many for one body: parts, each under 64 KB
    assert len(parts) > 1
    assert [part_id for part_id, _ in parts] == [f"d2.{k}" for k in range(1, len(parts) + 1)]
    assert all(len(encode_body(body)) < 64 * 1024 for _, body in parts)
    assert all(body["parts"] == len(parts) and body["id"] == "d2" for _, body in parts)
    sent = [alert["id"] for _, body in parts for alert in body["alerts"]]
    assert sent == [f"b{i}" for i in range(200)]  # every alert once, in order
    assert digest_parts("d2", many) == parts  # the same ids on a retry
    raw = message_bytes(
        build_digest_email("d3", alerts[:10], "m@example.org", ["o@example.org"], Renderer())
    )
    assert len(raw) < 10 * 16_000


def test_chat_and_log_are_bounded(hostile: Callable[..., AlertView]) -> None:
    chat = ChatRenderer(Renderer())
    assert len(encode_body(chat_payload(chat, [hostile()]))) < 16_000
    digest = [hostile(alert_id=f"a{i}", release_id=f"r{i}") for i in range(30)]
    assert len(encode_body(chat_digest_payload(chat, digest))) < 200_000
    line = story_line([hostile()])
    assert len(line) < 1_500 and "\n" not in line


def test_shown_hits_prefers_different_snippets() -> None:
    same = Hit("title", "NATO", 0, 4, "NATO summit")
    hits = [
        same,
        same,
        Hit("content", "OTAN", 9, 13, "l'OTAN"),
        same,
        Hit("content", "x", 1, 2, "y"),
    ]
    assert [h.snippet for h in shown_hits(hits)] == ["NATO summit", "l'OTAN", "y"]
    long = Hit("content", "NATO", 0, 4, "word " * 500)
    (shown,) = shown_hits([long])
    assert len(shown.snippet) <= 300 and shown.snippet.endswith("…")


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, ("short", False)),
        ("one two three four five", 16, ("one two three…", True)),
        ("one two three four five", 12, ("one two thr…", True)),  # no space near the end
        ("abcdefghijklmnop", 8, ("abcdefg…", True)),
    ],
)
def test_cut(text: str, limit: int, expected: tuple[str, bool]) -> None:
    assert cut(text, limit) == expected


def test_cut_to_bytes_counts_json_escapes() -> None:
    assert json_size(cut_to_bytes("ا" * 100, 21)) - 2 <= 21
    assert cut_to_bytes('"\\' * 50, 10) == '"\\"…'
    assert cut_to_bytes("fits", 10) == "fits"


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["title", "summary", "url", "name", "language"]),
        st.text(max_size=3000),
        min_size=1,
    ),
    st.integers(min_value=400, max_value=5000),  # the keys and ids alone take ~200
)
def test_fit_json_fits_and_keeps_what_it_must(payload: dict[str, str], budget: int) -> None:
    payload = {**payload, "id": "0123456789abcdef0123456789abcdef"}  # ids are never cut
    nested: dict[str, Any] = {"type": "t", "release": dict(payload), "list": [dict(payload)]}
    before = json.loads(json.dumps(nested))
    changed = fit_json(nested, budget, {"type", "id"}.__contains__)
    assert json_size(nested) <= budget
    assert nested["release"]["id"] == before["release"]["id"]
    assert changed == (nested != before)
    for key, value in nested["release"].items():  # a cut string is a start of the original
        assert before["release"][key].startswith(value.removesuffix("…"))


def test_fit_json_leaves_small_fields_whole() -> None:
    payload = {"title": "Minister meets NATO chief", "summary": "x" * 100_000, "id": "a1"}
    assert fit_json(payload, WEBHOOK_BYTES, {"id"}.__contains__)
    assert payload["title"] == "Minister meets NATO chief"
    assert WEBHOOK_BYTES - 200 < json_size(payload) <= WEBHOOK_BYTES


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("الناتو " * 20_000, ARABIC_SUMMARY),
        ("x" * 200_000, "y" * 200_000),  # no space to cut at
        ("NATO\r\n" * 30_000, ("word " * 13_107) + "z" * 100_000),  # a space just before the read
    ],
    ids=["arabic", "one-word", "lines"],
)
def test_messages_need_only_the_texts_the_delivery_reads(
    hostile: Callable[..., AlertView], title: str, summary: str
) -> None:
    """The delivery reads title and summary cut to ``TEXT_READ`` characters (issue 22: a
    9.5 MB item's whole row took the poll to 258 MB): every body, email, chat message and
    log line is the same as from the whole texts."""
    from monitor.store.outbox import TEXT_READ

    def messages(title: str, summary: str) -> list[Any]:
        alerts = [
            hostile(title=title, summary=summary, matches=()),
            hostile(alert_id="a2", title=title, summary=summary, matches=()),
        ]
        renderer = Renderer()
        chat = ChatRenderer(renderer)
        return [
            build_payload(alerts[0]),
            build_payload(alerts[0], 2_000, 600),
            digest_parts("d", alerts),
            renderer.render_email(alerts),
            renderer.render_digest_email(alerts),
            chat_payload(chat, alerts),
            chat_digest_payload(chat, alerts),
            story_line(alerts),
        ]

    assert len(title) > TEXT_READ and len(summary) > TEXT_READ
    assert messages(title[:TEXT_READ], summary[:TEXT_READ]) == messages(title, summary)
