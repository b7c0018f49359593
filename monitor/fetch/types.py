"""What a fetch is asked and answers: plain values, importable without the HTTP stack
(the config's model uses ``Render``; loading httpx for it cost ``monitor sources`` 0.2 s)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Render:
    """How a rendered page shows it is ready: the CSS of what it must contain, if any."""

    wait_for: str | None = None


class PageBrowser(Protocol):
    """Fetches a page rendered in a browser, within the same bounds as a plain fetch:
    ``render.Browser`` (Chromium) is the one there is, started on first use."""

    async def fetch(
        self,
        url: str,
        *,
        user_agent: str,
        limits: FetchLimits,
        render: Render,
        proxy: str | None = None,
        bypass: tuple[str, ...] = (),
    ) -> FetchResult: ...


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Bounds on one fetch. Seconds and bytes."""

    connect_timeout: float = 10.0  # to open the connection
    read_timeout: float = 20.0  # between two reads
    deadline: float = 30.0  # the whole request, every redirect and the body included
    max_bytes: int = 10_000_000  # of decoded body
    max_redirects: int = 5


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A successful fetch. On 304 ``body`` is empty and the validators are the ones sent."""

    status: int  # 200 (or another 2xx) or 304
    url: str  # the final URL, after redirects
    body: bytes  # decoded (Content-Encoding removed)
    headers: dict[str, str]  # the final response's headers, lower-case keys
    etag: str | None
    last_modified: str | None
    not_modified: bool
    permanent_redirect: str | None  # where a 301/308 chain moved the source, else None
    elapsed: float  # seconds
    body_sha256: str
