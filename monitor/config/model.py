"""The typed, frozen settings a config file becomes (SPEC section 2).

Every model forbids unknown keys: a typo must never be silently ignored. Durations are
``timedelta``; cron expressions are validated here and computed by ``config.cron``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from monitor.config.durations import parse_duration

SLUG = r"^[a-z0-9][a-z0-9-]*$"


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError(f"invalid duration {value!r}: use a string such as 30s, 10m, 2h, 1d")
    return parse_duration(value)


Duration = Annotated[timedelta, BeforeValidator(_duration)]
Slug = Annotated[str, Field(pattern=SLUG)]


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value) or any(c.isspace() for c in value):
        raise ValueError(f"invalid URL {value!r}: must be an absolute http:// or https:// URL")
    return value


HttpUrl = Annotated[str, BeforeValidator(lambda v: _http_url(v) if isinstance(v, str) else v)]


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Defaults(Frozen):
    interval: Duration = timedelta(minutes=15)
    user_agent: str = "monitor/0.1 (+https://github.com/monitor-project/monitor)"
    max_connections_per_host: int = Field(default=2, ge=1, le=64)
    backfill: Duration = timedelta(days=1)
    timeout: Duration = timedelta(seconds=30)  # the overall deadline of one fetch
    max_bytes: int = Field(default=10_000_000, ge=1024)
    # more alertable releases than this in one poll of a source: one notice per channel
    max_alerts_per_poll: int = Field(default=50, ge=1)


class Select(Frozen):
    item: str
    title: str
    link: str
    date: str | None = None
    summary: str | None = None
    content: str | None = None  # on the release's own page, with full_text: true


class Source(Frozen):
    id: Slug
    name: str | None = None
    url: HttpUrl
    type: Literal["feed", "html"] = "feed"
    interval: Duration | None = None
    cron: str | None = None
    language: str | None = None
    timezone: str | None = None
    full_text: bool = False
    identity: Literal["auto", "guid", "link", "content"] = "auto"
    user_agent: str | None = None
    backfill: Duration | None = None
    select: Select | None = None
    max_alerts_per_poll: int | None = Field(default=None, ge=1)  # default: defaults'

    @model_validator(mode="after")
    def _one_schedule(self) -> Source:
        if self.interval is not None and self.cron is not None:
            raise ValueError("give either interval or cron, not both")
        if self.type == "html" and self.select is None:
            raise ValueError("an html source needs select: {item, title, link}")
        return self

    @property
    def display_name(self) -> str:
        return self.name or self.id


class Rule(Frozen):
    id: Slug
    name: str | None = None
    query: str
    sources: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    channels: tuple[str, ...] = Field(min_length=1)

    @property
    def display_name(self) -> str:
        return self.name or self.id


class Retry(Frozen):
    initial: Duration = timedelta(minutes=1)
    max: Duration = timedelta(hours=1)
    give_up_after: Duration = timedelta(hours=24)


class Smtp(Frozen):
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    tls: Literal["none", "starttls", "ssl"] = "starttls"
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    timeout: Duration = timedelta(seconds=30)
    ca_file: str | None = None  # a PEM bundle for a relay with a private certificate


_DAILY = re.compile(r"^daily ([01]\d|2[0-3]):([0-5]\d)$")


class Digest(Frozen):
    """``1h`` (every period) or ``daily 08:00`` (at that time in the config's timezone)."""

    every: timedelta | None = None
    daily_at: tuple[int, int] | None = None  # (hour, minute)


def _digest(value: Any) -> Any:
    if value is None or isinstance(value, Digest | dict):
        return value
    if not isinstance(value, str):
        raise ValueError(f"invalid digest {value!r}: use a duration such as 1h, or 'daily 08:00'")
    daily = _DAILY.match(value.strip())
    if daily:
        return Digest(daily_at=(int(daily.group(1)), int(daily.group(2))))
    try:
        return Digest(every=parse_duration(value))
    except ValueError:
        raise ValueError(
            f"invalid digest {value!r}: use a duration such as 1h, or 'daily 08:00'"
        ) from None


class ChannelBase(Frozen):
    id: Slug
    digest: Annotated[Digest | None, BeforeValidator(_digest)] = None
    retry: Retry = Retry()
    max_per_hour: int | None = Field(default=None, ge=1)  # beyond it: one summary message


class EmailChannel(ChannelBase):
    type: Literal["email"]
    to: tuple[str, ...] = Field(min_length=1)
    sender: str = Field(alias="from")
    smtp: Smtp


class WebhookChannel(ChannelBase):
    type: Literal["webhook"]
    url: HttpUrl
    secret: str | None = Field(default=None, repr=False)
    timeout: Duration = timedelta(seconds=15)
    format: Literal["json", "slack"] = "json"  # slack: Slack/Mattermost text + blocks


class LogChannel(ChannelBase):
    type: Literal["log"]


Channel = Annotated[EmailChannel | WebhookChannel | LogChannel, Field(discriminator="type")]


class Http(Frozen):
    listen: str = "127.0.0.1:9464"  # host:port of /healthz, /readyz and /metrics

    @field_validator("listen")
    @classmethod
    def _address(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(
                f"invalid listen address {value!r}: use host:port, e.g. 127.0.0.1:9464"
            )
        return value


class Alarms(Frozen):
    failing_for: Duration = timedelta(hours=1)  # a source failing this long raises an alarm
    silent_for: Duration = timedelta(days=7)  # a source that usually publishes, silent this long


class Retention(Frozen):
    releases: Duration | None = None  # keep forever unless set, e.g. 365d
    alerts: Duration | None = None  # e.g. 90d


class Config(Frozen):
    database: str = "sqlite:///data/monitor.db"
    timezone: str = "UTC"
    defaults: Defaults = Defaults()
    sources: tuple[Source, ...] = ()
    rules: tuple[Rule, ...] = ()
    channels: tuple[Channel, ...] = ()
    concepts: dict[str, tuple[str, ...]] = {}
    templates: str | None = None  # a directory whose templates override the shipped ones
    http: Http | None = None
    alarm_channels: tuple[str, ...] = ()
    alarms: Alarms = Alarms()
    retention: Retention = Retention()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def source(self, source_id: str) -> Source:
        return next(s for s in self.sources if s.id == source_id)

    def channel(self, channel_id: str) -> EmailChannel | WebhookChannel | LogChannel:
        return next(c for c in self.channels if c.id == channel_id)

    def rule(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)

    def interval_of(self, source: Source) -> timedelta:
        return source.interval or self.defaults.interval

    def backfill_of(self, source: Source) -> timedelta:
        return source.backfill or self.defaults.backfill

    def zone_of(self, source: Source) -> ZoneInfo:
        return ZoneInfo(source.timezone) if source.timezone else self.zone
