"""The webhook JSON of SPEC section 4, field for field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from monitor.model import Hit
from monitor.notify.payload import AlertView, build_digest_payload, build_payload, iso_datetime


def test_payload_is_spec_shape(seed_alert: AlertView) -> None:
    payload = build_payload(seed_alert)
    assert payload == {
        "type": "release.matched",
        "id": "01J8ZK2Q7M-nato-ops",
        "rule": {"id": "nato", "name": "NATO"},
        "release": {
            "id": "rel-42",
            "source": {"id": "mofa-qa-ar", "name": "وزارة الخارجية - قطر"},
            "title": seed_alert.title,
            "url": seed_alert.url,
            "published_at": "2019-03-13T10:00:00+03:00",
            "language": "ar",
            "summary": seed_alert.summary,
        },
        "matches": [
            {"field": h.field, "term": h.term, "snippet": h.snippet} for h in seed_alert.matches
        ],
        "copies": [{"source": "qna-ar", "url": "https://www.qna.org.qa/ar/News/19031301"}],
    }
    assert payload["matches"][0]["term"] == "الناتو"


def test_payload_carries_release_text_verbatim(make_alert: Callable[..., AlertView]) -> None:
    alert = make_alert(title='<script>alert("x")</script>\r\nBcc: evil@x', summary="{{ 7*7 }}")
    release = build_payload(alert)["release"]
    assert release["title"] == '<script>alert("x")</script>\r\nBcc: evil@x'
    assert release["summary"] == "{{ 7*7 }}"


def test_digest_wraps_alert_payloads(make_alert: Callable[..., AlertView]) -> None:
    one = make_alert(alert_id="a1")
    two = make_alert(alert_id="a2", rule_id="cyber", rule_name="Cyber", published_at=None)
    digest = build_digest_payload("digest-7", [one, two])
    assert digest == {
        "type": "digest",
        "id": "digest-7",
        "alerts": [build_payload(one), build_payload(two)],
    }
    assert digest["alerts"][1]["release"]["published_at"] is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (datetime(2019, 3, 13, 7, 0), "2019-03-13T07:00:00+00:00"),  # naive is UTC
        (datetime.fromisoformat("2019-03-13T10:00:00+03:00"), "2019-03-13T10:00:00+03:00"),
        (
            datetime.fromisoformat("2024-01-02T03:04:05.678-05:00"),
            "2024-01-02T03:04:05.678000-05:00",
        ),
    ],
)
def test_iso_datetime_always_has_an_offset(value: datetime | None, expected: str | None) -> None:
    assert iso_datetime(value) == expected


def test_matches_keep_order_and_only_spec_keys() -> None:
    hits = (Hit("title", "NATO", 0, 4, "NATO x"), Hit("content", "OTAN", 9, 13, "y OTAN"))
    alert = AlertView("a", "r", "R", "rel", "s", "S", "NATO", "u", None, None, "", hits)
    assert build_payload(alert)["matches"] == [
        {"field": "title", "term": "NATO", "snippet": "NATO x"},
        {"field": "content", "term": "OTAN", "snippet": "y OTAN"},
    ]
    assert build_payload(alert)["copies"] == []
