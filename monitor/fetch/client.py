"""Fetching one source over HTTP: conditional, bounded, polite.

``Fetcher.fetch`` makes one conditional GET (If-None-Match / If-Modified-Since) and returns
a ``FetchResult`` (status 200 with the body, or 304 with none), or raises one of the
``FetchError`` subclasses in ``monitor.errors``. What it guarantees, whatever the server does:

- an overall ``deadline`` on the whole request, body included: a server that trickles a
  byte a second never resets it, unlike the connect/read timeouts;
- the body is decoded here (gzip, deflate) a bounded slice at a time, so a compression bomb
  is cut off at ``max_bytes`` of decoded content without ever holding more than that;
- at most ``max_redirects`` redirects, followed by hand so that a 301/308 move is reported
  (``permanent_redirect``) and only http/https targets are followed;
- at most ``max_connections_per_host`` requests in flight per host (per ``Fetcher``; a host
  whose sources set their own limit gets the smallest of them); the deadline starts once
  the first slot is ours, so waiting politely is not a timeout;
- each request, redirects included, goes the way ``egress`` says (``monitor.egress``):
  directly or through the proxy, on that route's client.

The body is read in ``fetch.body``; ``fetch.retry`` says how long to wait before polling
a failing source again.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urljoin, urlsplit

import httpx

from monitor.egress import DIRECT, Egress
from monitor.errors import (
    FetchBrowserError,
    FetchHTTPError,
    FetchNetworkError,
    FetchRedirectError,
    FetchTimeout,
)
from monitor.fetch.body import Progress, read_body
from monitor.fetch.retry import parse_retry_after
from monitor.fetch.types import FetchLimits, FetchResult, PageBrowser, Render
from monitor.http_client import Clients, reason
from monitor.redact import redact_text

DEFAULT_LIMITS = FetchLimits()
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})


def _one_line(text: str, limit: int = 200) -> str:
    return " ".join(text.split())[:limit]


def _host_key(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{parts.port or ''}"


class Fetcher:
    """Fetches sources through the shared clients (one per event loop, one per route); a
    plain ``httpx.AsyncClient`` serves as the direct route."""

    def __init__(
        self,
        clients: Clients | httpx.AsyncClient,
        max_connections_per_host: int = 2,
        host_limits: Iterable[tuple[str, int]] = (),
        browser: PageBrowser | None = None,
    ) -> None:
        self._clients = clients if isinstance(clients, Clients) else Clients(clients)
        self.browser = browser  # for render: browser (monitor.render); started on first use
        self._per_host = max(1, max_connections_per_host)
        self._slots: dict[str, asyncio.Semaphore] = {}
        # (a source's URL, its limit): its host gets the smallest limit given for it
        self._limits: dict[str, int] = {}
        for url, limit in host_limits:
            key = _host_key(url)
            self._limits[key] = max(1, min(limit, self._limits.get(key, limit)))

    def _slot(self, url: str) -> asyncio.Semaphore:
        key = _host_key(url)
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = asyncio.Semaphore(self._limits.get(key, self._per_host))
        return slot

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        user_agent: str,
        limits: FetchLimits = DEFAULT_LIMITS,
        render: Render | None = None,
        egress: Egress = DIRECT,
    ) -> FetchResult:
        started = time.monotonic()
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise FetchNetworkError("not an http(s) URL")
        if render is not None:  # loaded in Chromium instead, with the same bounds
            if self.browser is None:
                raise FetchBrowserError("render: browser is not available in this command")
            async with self._slot(url):
                return await self.browser.fetch(
                    url,
                    user_agent=user_agent,
                    limits=limits,
                    render=render,
                    proxy=egress.proxy_for(url),
                    bypass=egress.no_proxy,
                )
        progress = Progress()
        try:
            # no deadline while we queue for a per-host slot; set when the first is ours
            async with asyncio.timeout(None) as deadline:
                progress.deadline = deadline
                return await self._follow(
                    url, etag, last_modified, user_agent, limits, egress, progress, started
                )
        except TimeoutError:
            raise FetchTimeout(
                f"deadline of {limits.deadline:g} s passed after {progress.received} bytes"
            ) from None

    async def _follow(
        self,
        url: str,
        etag: str | None,
        last_modified: str | None,
        user_agent: str,
        limits: FetchLimits,
        egress: Egress,
        progress: Progress,
        started: float,
    ) -> FetchResult:
        headers = {"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        http_timeout = httpx.Timeout(
            connect=limits.connect_timeout,
            read=limits.read_timeout,
            write=limits.read_timeout,
            pool=limits.deadline,
        )
        permanent: str | None = None
        all_permanent = True
        for hop in range(limits.max_redirects + 1):
            proxy = egress.proxy_for(url)
            async with self._slot(url):
                progress.start(limits.deadline)
                outcome = await self._one_request(
                    url, proxy, headers, http_timeout, limits, progress
                )
            if isinstance(outcome, _Redirect):
                if hop == limits.max_redirects:
                    raise FetchRedirectError(f"more than {limits.max_redirects} redirects")
                if outcome.status in PERMANENT_REDIRECTS and all_permanent:
                    permanent = outcome.location
                else:
                    all_permanent = False
                url = outcome.location
                continue
            status, body, response_headers = outcome
            not_modified = status == 304
            return FetchResult(
                status=status,
                url=url,
                body=body,
                headers=response_headers,
                etag=response_headers.get("etag") or (etag if not_modified else None),
                last_modified=response_headers.get("last-modified")
                or (last_modified if not_modified else None),
                not_modified=not_modified,
                permanent_redirect=permanent,
                elapsed=time.monotonic() - started,
                body_sha256=hashlib.sha256(body).hexdigest(),
            )
        raise AssertionError("unreachable")  # pragma: no cover

    async def _one_request(
        self,
        url: str,
        proxy: str | None,
        headers: dict[str, str],
        http_timeout: httpx.Timeout,
        limits: FetchLimits,
        progress: Progress,
    ) -> _Redirect | tuple[int, bytes, dict[str, str]]:
        try:
            client = self._clients.route(proxy)
        except (ValueError, ImportError) as exc:  # HTTPS_PROXY=ftp://…, or no socksio
            raise FetchNetworkError(_one_line(redact_text(f"proxy {proxy}: {exc}"))) from None
        try:
            async with client.stream(
                "GET", url, headers=headers, timeout=http_timeout, follow_redirects=False
            ) as response:
                status = response.status_code
                response_headers = {k.lower(): v for k, v in response.headers.items()}
                if status in REDIRECT_STATUSES:
                    return _Redirect(status, _redirect_target(url, response_headers))
                if status == 304:
                    # a 304 has no body (h11 enforces it); reading the empty end of it lets
                    # the connection go back to the pool instead of being closed
                    await response.aread()
                    return 304, b"", response_headers
                if not 200 <= status < 300:
                    raise http_error(status, response.reason_phrase, response_headers)
                body = await read_body(response, response_headers, limits.max_bytes, progress)
                return status, body, response_headers
        except httpx.ConnectTimeout:
            raise FetchTimeout(f"connect timeout ({limits.connect_timeout:g} s)") from None
        except (httpx.ReadTimeout, httpx.WriteTimeout):
            raise FetchTimeout(
                f"read timeout (no data for {limits.read_timeout:g} s) "
                f"after {progress.received} bytes"
            ) from None
        except httpx.PoolTimeout:
            raise FetchTimeout("no free connection in the client pool") from None
        except httpx.TransportError as exc:
            # "cannot reach www.nato.int: Name or service not known (ConnectError)"
            host = urlsplit(url).hostname or url
            if proxy is not None:  # which proxy (never its credentials)
                host += f" through the proxy {urlsplit(proxy).netloc.rpartition('@')[2]}"
            raise FetchNetworkError(
                _one_line(f"cannot reach {host}: {reason(exc)} ({type(exc).__name__})")
            ) from None
        except httpx.InvalidURL as exc:
            # the URL asked for was checked; httpx also parses a redirect's Location
            raise FetchRedirectError(
                _one_line(redact_text(f"redirect to an invalid URL: {exc}"))
            ) from None


@dataclass(frozen=True, slots=True)
class _Redirect:
    status: int
    location: str


def _redirect_target(url: str, headers: dict[str, str]) -> str:
    location = headers.get("location", "").strip()
    if not location:
        raise FetchRedirectError("redirect without a Location header")
    target = urljoin(url, location)
    if urlsplit(target).scheme.lower() not in ("http", "https"):
        raise FetchRedirectError(f"redirect to a non-HTTP URL ({urlsplit(target).scheme}:)")
    return target


def http_error(status: int, reason: str, headers: dict[str, str]) -> FetchHTTPError:
    if not reason:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
    retry_after = None
    if status in (429, 503):
        retry_after = parse_retry_after(headers.get("retry-after"), headers.get("date"))
    message = _one_line(f"HTTP {status} {reason}")
    if retry_after is not None:
        message += f" (retry after {retry_after:g} s)"
    return FetchHTTPError(message, status, retry_after)
