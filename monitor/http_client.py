"""The ``httpx.AsyncClient`` every fetch and webhook goes through: plain httpx, but for a
cheaper idle-connection check in its pool (below: ``install``).

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
import select
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
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
    # the transport is built here, rather than by the client from the same arguments, for
    # its pool to get the cheap idle-connection check (``install``, below)
    transport = httpx.AsyncHTTPTransport(
        limits=limits,
        verify=trust_context() if verify is True else verify,
        proxy=proxy,
        trust_env=False,
    )
    install(transport)
    return httpx.AsyncClient(transport=transport, trust_env=False, **options)


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


# httpcore's own network backend, with the idle-connection check made cheap.
#
# Before each request and after each response httpcore's pool asks every idle keep-alive
# connection whether the server has closed it (``get_extra_info("is_readable")``). Its anyio
# stream answers by rebuilding anyio's table of socket attributes (a ``getpeername`` system
# call among them) and then polling the socket: with 8 idle connections that was 9 % of a
# 304 poll's CPU (bench_poll_cost, py-spy). Here the stream keeps its socket from the
# connect and polls it; everything else is httpcore's anyio backend, unchanged.
#
# httpx has no argument for a pool's network backend: ``install`` sets it on the transport's
# httpcore pool, whose attribute is private to both libraries (a test checks that the
# streams are ``IdleCheckedStream``: an upgrade that moves it is noticed, not just slower).


class IdleCheckedStream(httpcore.AsyncNetworkStream):
    """httpcore's anyio stream, answering ``is_readable`` from its socket directly."""

    def __init__(self, inner: httpcore.AsyncNetworkStream, sock: socket.socket | None) -> None:
        self._inner = inner
        self._socket = sock
        # one poll object for the connection's life: the pool asks ~35 times a request
        # (every idle connection, 4-5 passes), and a new object each time doubled the cost
        self._poller: Any = None
        if sock is not None and sock.fileno() >= 0:
            self._poller = select.poll()
            self._poller.register(sock.fileno(), select.POLLIN)

    # httpcore's interface, timeouts as arguments
    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
    ) -> httpcore.AsyncNetworkStream:
        # TLS runs over the same socket: its readability is still the connection's
        tls = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        return IdleCheckedStream(tls, self._socket)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            return self._readable()
        return self._inner.get_extra_info(info)

    def _readable(self) -> bool:
        """Whether the peer sent something (or closed): on an idle HTTP/1.1 connection
        either means it cannot be reused. httpcore's own check, less anyio's attribute
        lookups; poll rather than select, for descriptors past 1024."""
        assert self._socket is not None
        if self._socket.fileno() < 0 or self._poller is None:
            return True
        return bool(self._poller.poll(0))


class Backend(httpcore.AsyncNetworkBackend):
    """httpcore's anyio backend, whose streams are ``IdleCheckedStream``."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return IdleCheckedStream(stream, stream.get_extra_info("socket"))

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def install(transport: httpx.AsyncHTTPTransport) -> None:
    """Give ``transport``'s pool (direct, HTTP or SOCKS proxy) the cheap idle check."""
    pool = getattr(transport, "_pool", None)
    if pool is not None and hasattr(pool, "_network_backend"):
        pool._network_backend = Backend()
