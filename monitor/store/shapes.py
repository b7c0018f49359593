"""The shapes the console, its API and the CLI's ``--json`` share (SPEC sections 1 and 5).

Read functions (``store.reads``, ``store.archive``, ``store.people``, ``store.audit``)
return these; the API serialises them as they are (times ISO 8601 with their offset), the
templates render them (times in the config's zone). Nothing here holds a secret: a URL is
shown without its credentials (``public_url``), a channel by what it reaches, never how.
The CLI, which shows them as ``***`` (``monitor.redact``), passes its own ``shown`` to the
read functions: one query, two ways of hiding the same secret.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, PlainSerializer

# ISO 8601 with its offset, as every other JSON monitor writes (pydantic would write "Z")
When = Annotated[datetime, PlainSerializer(lambda v: v.isoformat(), when_used="json")]

Role = Literal["viewer", "editor", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "editor", "admin")


def public_url(url: str | None) -> str | None:
    """``url`` without user name and password (SPEC: credentials are never shown)."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


class Shape(BaseModel):
    model_config = ConfigDict(frozen=True)


class SourceHealth(Shape):
    """A source as ``sources --json`` gives it, plus ``origin`` (SPEC section 5)."""

    id: str
    name: str
    url: str | None
    type: str
    status: Literal["ok", "failing", "never"] | str
    last_error: str | None
    last_warning: str | None
    last_poll_at: When | None
    last_success_at: When | None
    next_poll_at: When | None
    releases: int
    new_24h: int
    items_seen: int
    items_skipped: int
    consecutive_failures: int
    moved_to: str | None
    language: str | None = None
    origin: Literal["file", "console"] = "file"


class AlarmEpisode(Shape):
    kind: str
    detail: str
    raised_at: When
    cleared_at: When | None


class Segment(Shape):
    """A run of text; ``mark``: a matched term, highlighted."""

    text: str
    mark: bool = False


class Copy(Shape):
    """Another release of the same story."""

    id: int
    source: str
    title: str
    url: str | None
    first_seen_at: When


class ReleaseItem(Shape):
    """A release as ``releases --json`` gives it."""

    id: int
    source: str
    title: str
    url: str | None
    published_at: When | None
    first_seen_at: When
    story: int | None
    language: str | None


class ReleaseCard(ReleaseItem):
    """A release in a listing: its snippet (query hits marked), rules matched, copies."""

    snippet: list[Segment] = []
    title_marks: list[Segment] = []  # the title with the query's hits marked, when any
    rules: list[str] = []
    copies: list[Copy] = []


class ReleasePage(Shape):
    items: list[ReleaseCard]
    next: str | None  # the cursor of the next page; None on the last


class HitShape(Shape):
    field: str
    term: str
    start: int
    end: int
    snippet: str


class MatchShape(Shape):
    rule: str
    rule_name: str
    matched_at: When
    hits: list[HitShape]


class Revision(Shape):
    revision: int
    title: str
    seen_at: When


class AlertItem(Shape):
    """An alert as ``alerts --json`` gives it, with its times and release title."""

    id: str
    rule: str
    channel: str
    release: int
    story: int
    status: str
    attempts: int
    last_error: str | None
    created_at: When
    next_attempt_at: When | None
    sent_at: When | None
    title: str = ""
    source: str = ""  # of the release
    url: str | None = None  # the release's
    digest: str | None = None  # the digest that carries it; None: sent on its own


class AlertPage(Shape):
    items: list[AlertItem]
    next: str | None


class ReleaseDetail(ReleaseItem):
    summary: str
    content: str
    updated_at: When
    revision: int
    copies: list[Copy]
    matches: list[MatchShape]
    alerts: list[AlertItem]
    revisions: list[Revision]
    # the fields with every match marked (rules' hits, and the search query's if given)
    marked: dict[str, list[Segment]] = {}


class CopyLink(Shape):
    """A copy of an alert's story, as its message names it."""

    source: str
    url: str | None


class AlertDetail(AlertItem):
    published_at: When | None
    hits: list[HitShape]  # the rule's first hits in the release
    hit_total: int  # every hit, when more than ``hits`` holds
    copies: list[CopyLink]
    payload: dict[str, Any]  # the webhook body exactly as the channel gets it


class LatestMatch(Shape):
    rule: str
    rule_name: str
    release: int
    source: str
    title: str
    matched_at: When


class Overview(Shape):
    failing: list[SourceHealth]
    sources: int
    alerts_24h: dict[str, int]  # by status: pending, sent, failed, dead
    latest: list[LatestMatch]


class RuleItem(Shape):
    id: str
    name: str
    query: str
    channels: list[str]
    sources: list[str]
    languages: list[str]
    origin: Literal["file", "console"] = "file"
    muted_until: When | None = None  # muted: matches and records, sends nothing until then
    version: int | None = None  # a console rule's, to send back with a change
    notice: str | None = None  # why a console rule is not in force (a clash, say)


class ChannelItem(Shape):
    """A channel as the console shows it: what it reaches, never a secret."""

    id: str
    type: str
    target: str  # addresses, or the host of a webhook: its path and query may be a secret
    digest: str | None
    max_per_hour: int | None
    alerts: dict[str, int]  # by status


class UserItem(Shape):
    name: str
    role: str
    created_at: When
    updated_at: When
    password: bool  # whether one is set (a proxy-only user has none)


class TokenItem(Shape):
    name: str
    role: str
    created_by: str | None
    created_at: When
    last_used_at: When | None


class AuditEntry(Shape):
    id: int
    at: When
    actor: str
    action: str
    target: str
    before: Any = None
    after: Any = None
    address: str | None = None


class AuditPage(Shape):
    items: list[AuditEntry]
    next: str | None
