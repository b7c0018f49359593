"""The ``httpx.AsyncClient`` every fetch and webhook goes through: plain httpx, public API.

What a fetch must never exceed (the overall deadline, the body's size, the redirects, the
requests in flight per host) is ``monitor.fetch``'s business; this module only builds the
client: a pool bounded by ``httpx.Limits``, TLS verified against certifi's roots (loaded at
the first handshake, not at start-up), no ``.netrc`` or proxy taken from the environment
unless the config asks for it (``monitor.egress``), and the proxy, when there is one,
through httpx's own ``proxy=`` support (``http://``, ``https://``, ``socks5://``).

``Clients`` holds one client per route (direct, or each proxy URL), made on first use and
closed together: a proxy's pool never mixes with the direct one.
"""

from __future__ import annotations

import os
import socket
import ssl
from typing import Any

import httpx


class LazyTrustContext(ssl.SSLContext):
    """httpx's default TLS context (certifi's roots, hostname checked, certificate
    required), whose roots are loaded at the first TLS handshake rather than at start-up:
    loading them costs 30-70 ms, which a poll of plain-http feeds, or a warm poll whose
    connections are all answered 304 over http, never needs to pay."""

    _roots_loaded = False

    def _load_roots(self) -> None:
        if not self._roots_loaded:
            import certifi

            self.load_verify_locations(cafile=certifi.where())
            self._roots_loaded = True

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:  # asyncio's and anyio's TLS
        self._load_roots()
        return super().wrap_bio(*args, **kwargs)

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self._load_roots()
        return super().wrap_socket(*args, **kwargs)


def trust_context() -> ssl.SSLContext:
    """A verifying TLS context whose roots load at its first handshake."""
    return LazyTrustContext(ssl.PROTOCOL_TLS_CLIENT)


def new_client(
    *,
    proxy: str | None = None,
    max_connections: int = 100,
    max_keepalive_connections: int = 20,
    verify: ssl.SSLContext | bool = True,
    **options: Any,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient``, through ``proxy`` when given; other ``options`` as for it.

    ``trust_env`` is off: a proxy comes from the config (``proxy: env`` reads the variables
    in ``monitor.egress``), and httpx would otherwise also apply ``~/.netrc`` credentials.
    """
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_keepalive_connections
    )
    return httpx.AsyncClient(
        limits=limits,
        verify=trust_context() if verify is True else verify,
        proxy=proxy,
        trust_env=False,
        **options,
    )


def reason(exc: BaseException) -> str:
    """What went wrong, as an operator reads it: ``Connection refused`` rather than anyio's
    ``All connection attempts failed``, whose cause (an ``OSError``, or a group of them, one
    per address tried) says why."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, BaseExceptionGroup):
            seen = seen.exceptions[0]
            continue
        if isinstance(seen, OSError) and seen.errno:
            if isinstance(seen, (ssl.SSLError, socket.gaierror)):
                return str(seen.strerror).split("] ", 1)[-1]  # "[SSL: …] certificate …"
            # asyncio words it "Connect call failed ('203.0.113.9', 443)"
            return os.strerror(seen.errno)
        seen = seen.__cause__ or seen.__context__  # httpcore re-raises without "from"
    return str(exc).split("] ", 1)[-1] or "connection failed"


class Clients:
    """The clients of one event loop, one per route: ``None`` is direct, else a proxy URL.

    ``direct`` is used as the direct route when given (and is then the caller's to close).
    """

    def __init__(self, direct: httpx.AsyncClient | None = None, **options: Any) -> None:
        self._options = options
        self._owned: list[httpx.AsyncClient] = []
        self._routes: dict[str | None, httpx.AsyncClient] = {}
        if direct is not None:
            self._routes[None] = direct

    def route(self, proxy: str | None) -> httpx.AsyncClient:
        """The client that sends through ``proxy`` (or directly, for ``None``)."""
        client = self._routes.get(proxy)
        if client is None:
            client = self._routes[proxy] = new_client(proxy=proxy, **self._options)
            self._owned.append(client)
        return client

    async def aclose(self) -> None:
        for client in self._owned:
            await client.aclose()
        self._owned.clear()
        self._routes.clear()
