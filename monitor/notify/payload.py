"""What an alert says, independent of how it travels: ``AlertView`` and the webhook JSON.

``AlertView`` is the read-only view a channel gets of one alert (rule, release, hits,
copies). ``build_payload`` gives SPEC section 4's webhook body exactly; a digest wraps
several in ``{"type": "digest", "id": ..., "alerts": [...]}``. Every text field is
untrusted release text and is passed through as data, never interpreted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.model import Hit


@dataclass(frozen=True, slots=True)
class AlertView:
    """One alert as channels see it."""

    alert_id: str  # stable across retries: the webhook id and the email Message-ID
    rule_id: str
    rule_name: str
    release_id: str
    source_id: str
    source_name: str
    title: str
    url: str
    published_at: datetime | None  # a naive datetime is taken as UTC
    language: str | None
    summary: str
    matches: tuple[Hit, ...]
    copies: tuple[tuple[str, str], ...] = ()  # (source, url) of the story's other releases


def iso_datetime(value: datetime | None) -> str | None:
    """ISO 8601 with an explicit offset (naive values are taken as UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def build_payload(alert: AlertView) -> dict[str, Any]:
    """The ``release.matched`` webhook body of SPEC section 4."""
    return {
        "type": "release.matched",
        "id": alert.alert_id,
        "rule": {"id": alert.rule_id, "name": alert.rule_name},
        "release": {
            "id": alert.release_id,
            "source": {"id": alert.source_id, "name": alert.source_name},
            "title": alert.title,
            "url": alert.url,
            "published_at": iso_datetime(alert.published_at),
            "language": alert.language,
            "summary": alert.summary,
        },
        "matches": [
            {"field": hit.field, "term": hit.term, "snippet": hit.snippet} for hit in alert.matches
        ],
        "copies": [{"source": source, "url": url} for source, url in alert.copies],
    }


def build_digest_payload(digest_id: str, alerts: Sequence[AlertView]) -> dict[str, Any]:
    """The ``digest`` webhook body: the alerts' payloads, in order."""
    return {"type": "digest", "id": digest_id, "alerts": [build_payload(a) for a in alerts]}
