"""What an alert says, independent of how it travels: ``AlertView`` and the webhook JSON.

``AlertView`` is the read-only view a channel gets of one alert (rule, release, hits,
copies). ``build_payload`` gives SPEC section 4's webhook body; a digest wraps several in
``{"type": "digest", "id": ..., "alerts": [...]}``. Every text field is untrusted release
text and is passed through as data, never interpreted.

Bounded (``notify.bounds``): at most 3 matches per alert, with ``"match_count"`` (all of
the release's hits for the rule) when there were more; a body over 64 KB has its longest
strings (summary, then title, …) cut, with ``"truncated": true``; a digest's alerts carry
600 characters of summary at most and a share of the 64 KB (1 KB at least). An ordinary
alert's body is exactly SPEC's.

A source alarm (``ops.alarms``) travels as an ``AlertView`` too, through the ordinary
channels; email, chat and the log give it its own form (the ``alarm_*`` templates), and
its webhook body is its own, so that a receiver routing on ``type`` never takes it for a
matched release::

    {"type": "source.alarm", "id": "alarm-7", "alarm": {"kind": "failing", "state": "raised"},
     "source": {"id": "mofa-qa-ar", "name": "...", "url": "..."},
     "message": "...", "at": "2019-03-13T10:00:00+00:00"}
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from monitor.model import Hit
from monitor.notify.bounds import (
    SUMMARY_CHARS,
    WEBHOOK_BYTES,
    cut,
    fit_json,
    shown_hits,
)

# never cut to fit: ids, enumerations and times (bounded by the store and the config)
DIGEST_ENTRY_BYTES = 1024  # the least an alert of a digest is given
COPIES_SENT = 20  # a story's other copies in a webhook body (``copy_count`` gives them all)
_KEEP = frozenset({"type", "id", "field", "language", "published_at", "at", "kind", "state"})


@dataclass(frozen=True, slots=True)
class AlarmNotice:
    kind: str  # failing | empty | silent | flood: templates show any kind
    state: Literal["raised", "cleared"]


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
    alarm: AlarmNotice | None = None  # set on a source alarm's notice, which is no release
    story_id: str = ""  # alerts of one story travel as one message (empty: its release's)
    match_total: int | None = None  # the release's hits for the rule, if more than ``matches``

    @property
    def match_count(self) -> int:
        return max(self.match_total or 0, len(self.matches))

    @property
    def story_key(self) -> str:
        return self.story_id or f"release:{self.release_id}"


def iso_datetime(value: datetime | None) -> str | None:
    """ISO 8601 with an explicit offset (naive values are taken as UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def build_payload(
    alert: AlertView, budget: int = WEBHOOK_BYTES, summary_chars: int | None = None
) -> dict[str, Any]:
    """The ``release.matched`` webhook body of SPEC section 4 (``source.alarm`` for an
    alarm), within ``budget`` bytes; ``summary_chars`` cuts the summary further."""
    if alert.alarm is not None:
        return _fit(_alarm_payload(alert, alert.alarm), budget, False)
    summary, cut_summary = cut(alert.summary, summary_chars or budget)
    matches = shown_hits(alert.matches)
    payload: dict[str, Any] = {
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
            "summary": summary,
        },
        "matches": [
            {"field": hit.field, "term": hit.term, "snippet": hit.snippet} for hit in matches
        ],
        "copies": [{"source": source, "url": url} for source, url in alert.copies[:COPIES_SENT]],
    }
    if alert.match_count > len(matches):
        payload["match_count"] = alert.match_count
    if len(alert.copies) > COPIES_SENT:
        payload["copy_count"] = len(alert.copies)
    return _fit(payload, budget, cut_summary)


def _fit(payload: dict[str, Any], budget: int, truncated: bool) -> dict[str, Any]:
    if fit_json(payload, budget - len(',"truncated":true'), _KEEP.__contains__):
        truncated = True
    if truncated:
        payload["truncated"] = True
    return payload


def _alarm_payload(alert: AlertView, alarm: AlarmNotice) -> dict[str, Any]:
    return {
        "type": "source.alarm",
        "id": alert.alert_id,
        "alarm": {"kind": alarm.kind, "state": alarm.state},
        "source": {"id": alert.source_id, "name": alert.source_name, "url": alert.url},
        "message": alert.title,
        "at": iso_datetime(alert.published_at),
    }


def build_digest_payload(digest_id: str, alerts: Sequence[AlertView]) -> dict[str, Any]:
    """The ``digest`` webhook body of a digest that fits one body (``digest_parts`` says)."""
    parts = digest_parts(digest_id, alerts)
    if len(parts) != 1:
        raise ValueError(f"digest {digest_id} takes {len(parts)} bodies: use digest_parts")
    return parts[0][1]


# what a body holds besides its alerts: {"type":"digest","id":…,"part":…,"parts":…,"alerts":[]}
_ENVELOPE = 512


def digest_parts(digest_id: str, alerts: Sequence[AlertView]) -> list[tuple[str, dict[str, Any]]]:
    """The ``digest`` webhook bodies of a digest, each under ``WEBHOOK_BYTES``, with the
    ``webhook-id`` of each: the alerts' payloads in order, summaries cut to 600 characters,
    each within its share of a body (1 KB at least). A digest that fits one body is the
    SPEC's ``{"type": "digest", "id", "alerts"}`` under the digest's id; a larger one (a
    busy day's digest of hundreds) is sent as ``parts`` bodies, each with ``"part": k`` and
    ``"parts": n``, under the ids ``<digest id>.k`` — stable across retries, as the packing
    depends only on the digest's alerts."""
    room = WEBHOOK_BYTES - _ENVELOPE
    share = max(room // max(len(alerts), 1), DIGEST_ENTRY_BYTES)
    packed: list[list[dict[str, Any]]] = [[]]
    used = 0
    for alert in alerts:
        entry = build_payload(alert, share, SUMMARY_CHARS)
        size = len(json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode()) + 1
        if packed[-1] and used + size > room:
            packed.append([])
            used = 0
        packed[-1].append(entry)
        used += size
    if len(packed) == 1:
        return [(digest_id, {"type": "digest", "id": digest_id, "alerts": packed[0]})]
    return [
        (
            f"{digest_id}.{k}",
            {"type": "digest", "id": digest_id, "part": k, "parts": len(packed), "alerts": part},
        )
        for k, part in enumerate(packed, start=1)
    ]
