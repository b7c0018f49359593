"""The typed, frozen settings a config file becomes (SPEC section 2).

Every model forbids unknown keys: a typo must never be silently ignored. Durations are
``timedelta``; cron expressions are validated here and computed by ``config.cron``.
Email addresses (``to``, ``from``; a display name is allowed: ``Monitor <m@example.org>``),
language codes (BCP 47 shapes: ``ar``, ``en-GB``, ``zh-Hant``) and time zones (IANA
names, with a close one suggested) are checked here too (``config.values``).
"""

from __future__ import annotations

import ipaddress
import re
import weakref
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from monitor.config.channel_values import url_problem
from monitor.config.durations import parse_duration
from monitor.config.values import email_address, language_code, time_zone
from monitor.egress import Egress, env_problem, no_proxy_problem, proxy_problem, resolve

if TYPE_CHECKING:  # the fetch package is loaded by what fetches, not by every command
    from monitor.fetch import Render

SLUG = r"^[a-z0-9][a-z0-9-]*$"


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError(f"invalid duration {value!r}: use a string such as 30s, 10m, 2h, 1d")
    return parse_duration(value)


Duration = Annotated[timedelta, BeforeValidator(_duration)]
Slug = Annotated[str, Field(pattern=SLUG)]
Address = Annotated[str, BeforeValidator(email_address)]
Language = Annotated[str, BeforeValidator(language_code)]
TimeZone = Annotated[str, BeforeValidator(time_zone)]


# a host, and no whitespace anywhere (``\s`` is ``str.isspace``): one match, not a
# generator a character, for each of 100,000 sources' URLs
_HTTP_URL = re.compile(r"https?://[^/\s]+\S*")


def _http_url(value: str) -> str:
    if _HTTP_URL.fullmatch(value) is None:
        raise ValueError(f"invalid URL {value!r}: must be an absolute http:// or https:// URL")
    return value


HttpUrl = Annotated[str, BeforeValidator(lambda v: _http_url(v) if isinstance(v, str) else v)]


def _checked(problem_of: Any) -> Any:
    def check(value: str) -> str:
        problem = problem_of(value)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


def _proxy(value: str) -> str | None:
    # the variables are read here too: the daemon's environment is the one it loads with
    return env_problem() if value == "env" else proxy_problem(value)


# a URL, env or none (monitor.egress); its fields are repr=False: it may carry credentials
Proxy = Annotated[str, _checked(_proxy)]
NoProxyHost = Annotated[str, _checked(no_proxy_problem)]


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
    proxy: Proxy = Field(default="none", repr=False)  # a URL, env (HTTPS_PROXY…) or none
    no_proxy: tuple[NoProxyHost, ...] = ()  # hosts reached directly


class Select(Frozen):
    item: str
    title: str
    link: str
    date: str | None = None
    summary: str | None = None
    content: str | None = None  # on the release's own page, with full_text: true


class Source(Frozen):
    """One source. Every ``defaults`` key may be set here too (None: the defaults' value);
    ``Config.settings_of`` gives the values that apply to it."""

    id: Slug
    name: str | None = None
    url: HttpUrl
    type: Literal["feed", "html"] = "feed"
    interval: Duration | None = None
    cron: str | None = None
    language: Language | None = None
    timezone: TimeZone | None = None
    full_text: bool = False
    # browser: the listing (type: html) and the full-text pages are loaded in Chromium
    render: Literal["http", "browser"] = "http"
    identity: Literal["auto", "guid", "link", "content"] = "auto"
    select: Select | None = None
    # the defaults keys, overridden for this source
    user_agent: str | None = None
    max_connections_per_host: int | None = Field(default=None, ge=1, le=64)
    backfill: Duration | None = None
    timeout: Duration | None = None
    max_bytes: int | None = Field(default=None, ge=1024)
    max_alerts_per_poll: int | None = Field(default=None, ge=1)
    proxy: Proxy | None = Field(default=None, repr=False)  # default: defaults' (each one)
    no_proxy: tuple[NoProxyHost, ...] | None = None

    @model_validator(mode="after")
    def _one_schedule(self) -> Source:
        if self.interval is not None and self.cron is not None:
            raise ValueError("give either interval or cron, not both")
        if self.type == "html" and self.select is None:
            raise ValueError("an html source needs select: {item, title, link}")
        if self.render == "browser" and self.type != "html" and not self.full_text:
            raise ValueError(
                "render: browser loads a listing page (type: html) or full-text pages "
                "(full_text: true); a feed is read over HTTP"
            )
        return self

    def render_for(self, *, listing: bool) -> Render | None:
        """The ``Render`` for the listing (``listing``) or for a release's own page; None
        when the source is fetched over plain HTTP."""
        if self.render != "browser":
            return None
        from monitor.fetch import Render

        if self.select is None:
            return Render()
        return Render(self.select.item if listing else self.select.content)

    @property
    def display_name(self) -> str:
        return self.name or self.id


class Rule(Frozen):
    id: Slug
    name: str | None = None
    query: str
    sources: tuple[str, ...] = ()
    languages: tuple[Language, ...] = ()
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
    to: tuple[Address, ...] = Field(min_length=1)
    sender: Address = Field(alias="from")
    smtp: Smtp


class WebhookChannel(ChannelBase):
    type: Literal["webhook"]
    url: HttpUrl
    secret: str | None = Field(default=None, repr=False)
    timeout: Duration = timedelta(seconds=15)
    format: Literal["json", "slack"] = "json"  # slack: Slack/Mattermost text + blocks
    proxy: Proxy | None = Field(default=None, repr=False)  # default: defaults' (each one)
    no_proxy: tuple[NoProxyHost, ...] | None = None


class LogChannel(ChannelBase):
    type: Literal["log"]


def _apprise_url(value: Any) -> Any:
    if isinstance(value, str):
        problem = url_problem(value)
        if problem:
            raise ValueError(problem)
    return value


class AppriseChannel(ChannelBase):
    """Teams, Telegram, Matrix, ntfy, ... through Apprise URLs (secrets: ``${VAR}``)."""

    type: Literal["apprise"]
    urls: tuple[Annotated[str, AfterValidator(_apprise_url)], ...] = Field(min_length=1, repr=False)
    timeout: Duration = timedelta(seconds=30)  # the overall deadline of one message


AnyChannel = EmailChannel | WebhookChannel | AppriseChannel | LogChannel
Channel = Annotated[AnyChannel, Field(discriminator="type")]


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


class Console(Frozen):
    """The web console and its API (SPEC section 5), served by ``monitor run``."""

    listen: str = "127.0.0.1:8080"  # host:port
    public_url: HttpUrl | None = None  # where operators reach it (https: cookies are Secure)
    auth: Literal["password", "proxy"] = "password"
    proxy_header: str = "X-Remote-User"  # auth: proxy — the user name a proxy vouches for
    trusted_proxies: tuple[str, ...] = ()  # networks whose proxy_header is believed
    session: Duration = timedelta(hours=12)  # a sign-in lasts this long

    @field_validator("listen")
    @classmethod
    def _address(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(
                f"invalid listen address {value!r}: use host:port, e.g. 127.0.0.1:8080"
            )
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(
                    f"invalid network {network!r}: use an address or a CIDR block, "
                    "e.g. 127.0.0.1/32"
                ) from None
        return value

    @model_validator(mode="after")
    def _proxies_for_proxy_auth(self) -> Console:
        if self.auth == "proxy" and not self.trusted_proxies:
            raise ValueError("auth: proxy needs trusted_proxies (the proxy's addresses)")
        return self


class Alarms(Frozen):
    failing_for: Duration = timedelta(hours=1)  # a source failing this long raises an alarm
    silent_for: Duration = timedelta(days=7)  # a source that usually publishes, silent this long


class Retention(Frozen):
    releases: Duration | None = None  # keep forever unless set, e.g. 365d
    alerts: Duration | None = None  # e.g. 90d


class Polling(Frozen):
    """How ``monitor run`` schedules its polls (one instance's own, not a source's)."""

    # polls in flight at once: auto sizes it from the sources' due rate and the time a poll
    # takes (``ops.claims.poll_slots``); a number fixes it
    max_concurrent: Literal["auto"] | Annotated[int, Field(ge=1, le=4096)] = "auto"


class Config(Frozen):
    database: str = "sqlite:///data/monitor.db"
    timezone: TimeZone = "UTC"
    defaults: Defaults = Defaults()
    sources: tuple[Source, ...] = ()
    rules: tuple[Rule, ...] = ()
    channels: tuple[Channel, ...] = ()
    concepts: dict[str, tuple[str, ...]] = {}
    templates: str | None = None  # a directory whose templates override the shipped ones
    http: Http | None = None
    console: Console | None = None  # the web console (SPEC section 5); off unless set
    alarm_channels: tuple[str, ...] = ()
    alarms: Alarms = Alarms()
    retention: Retention = Retention()
    polling: Polling = Polling()

    def _memo_of(self) -> dict[str, Any]:
        return _memo_of(self)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def source(self, source_id: str) -> Source:
        found: Source = self._by_id()[source_id]  # KeyError: not configured
        return found

    def has_source(self, source_id: str) -> bool:
        """Whether a source has this id (the lookup ``source`` uses: no set of every id)."""
        return source_id in self._by_id()

    def _by_id(self) -> dict[str, Source]:
        memo = self._memo_of()
        if "sources" not in memo:
            memo["sources"] = {s.id: s for s in reversed(self.sources)}  # the first wins
        found: dict[str, Source] = memo["sources"]
        return found

    def channel(self, channel_id: str) -> AnyChannel:
        return next(c for c in self.channels if c.id == channel_id)

    def rule(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)

    def settings_of(self, source: Source) -> Defaults:
        """The ``defaults`` with what ``source`` overrides put in their place."""
        # keyed by what the source overrides, not by the source: at 100,000 sources that
        # override nothing (or the same few keys) one copy serves them all, where a copy
        # each held ~1 KB a source for the daemon's life
        own = tuple((key, getattr(source, key)) for key in _OVERRIDES)
        settings: dict[tuple[tuple[str, Any], ...], Defaults] = self._memo_of()["settings"]
        found = settings.get(own)
        if found is None:
            overrides = {key: value for key, value in own if value is not None}
            found = self.defaults.model_copy(update=overrides) if overrides else self.defaults
            settings[own] = found
        return found

    def interval_of(self, source: Source) -> timedelta:
        return self.settings_of(source).interval

    def backfill_of(self, source: Source) -> timedelta:
        return self.settings_of(source).backfill

    def egress_of(self, item: Source | WebhookChannel) -> Egress:
        """How requests for a source or a webhook channel leave (``monitor.egress``)."""
        no_proxy = self.defaults.no_proxy if item.no_proxy is None else item.no_proxy
        return resolve(item.proxy or self.defaults.proxy, no_proxy)

    def zone_of(self, source: Source) -> ZoneInfo:
        return ZoneInfo(source.timezone) if source.timezone else self.zone


# the ``defaults`` keys a source may override (every one, as ``Source`` is written)
_OVERRIDES = tuple(key for key in Defaults.model_fields if key in Source.model_fields)

# Per-source lookups a daemon makes on every poll (hundreds a second at scale), built once
# per config: by the config's id, and dropped with it. Not a private attribute: those
# take part in pydantic's ``==`` and are shared by ``model_copy``.
_MEMOS: dict[int, tuple[weakref.ref[Config], dict[str, Any]]] = {}


def _memo_of(config: Config) -> dict[str, Any]:
    key = id(config)
    known = _MEMOS.get(key)
    if known is not None and known[0]() is config:
        return known[1]

    def forget(ref: weakref.ref[Config]) -> None:
        if _MEMOS.get(key, (None,))[0] is ref:
            del _MEMOS[key]

    memo: dict[str, Any] = {"settings": {}}
    _MEMOS[key] = (weakref.ref(config, forget), memo)
    return memo
