"""The ``httpx.AsyncClient`` every fetch and webhook goes through, on asyncio's own streams.

httpcore runs its connections on anyio by default. Two of anyio's costs are paid on every
request: each read and write opens a cancel scope for its timeout, and before reusing a
pooled connection httpcore asks the stream whether the peer has closed it, which anyio
answers by building a dict of every socket attribute (with a ``getpeername`` call) to find
the raw socket. For a warm poll of 250 feeds that is about a third of the client's CPU.
This backend reads and writes through ``asyncio`` streams with ``asyncio.timeout``, and
keeps the socket at hand.

What httpx does above it (the pool, HTTP/1.1 with h11, TLS verification, the exceptions
callers see) is unchanged: timeouts and network errors surface as the same httpx
exceptions, since httpx maps httpcore's exceptions raised here exactly as anyio's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

# bytes asyncio buffers per connection before it stops reading from the socket
_BUFFER = 256 * 1024
# seconds before the next address of a host is tried beside the first (RFC 8305's 250 ms)
_HAPPY_EYEBALLS = 0.25
# as httpcore's interface names it (the `timeout` parameters below are its names too, hence
# the ASYNC109 exemptions)
_SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


def _reason(exc: OSError) -> str:
    """What went wrong, in the words an operator expects: ``[Errno 111] Connection refused``
    rather than asyncio's ``Connect call failed ('203.0.113.9', 443)``."""
    if isinstance(exc, (ssl.SSLError, socket.gaierror)) or not exc.errno:
        return str(exc) or type(exc).__name__
    return f"[Errno {exc.errno}] {os.strerror(exc.errno)}"


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError:
            raise httpcore.ReadTimeout("timed out reading") from None
        except OSError as exc:
            raise httpcore.ReadError(_reason(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if not buffer:
            return
        try:
            self._writer.write(buffer)
            async with asyncio.timeout(timeout):
                await self._writer.drain()
        except TimeoutError:
            raise httpcore.WriteTimeout("timed out writing") from None
        except OSError as exc:
            raise httpcore.WriteError(_reason(exc)) from exc

    async def aclose(self) -> None:
        # abort: no flush of unsent bytes, no wait for the peer (a server that stopped
        # reading could hold a graceful close forever); then the one loop turn in which
        # asyncio actually closes the socket, so none is left for the garbage collector
        self._writer.transport.abort()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError:
            self._writer.transport.abort()
            raise httpcore.ConnectTimeout("timed out in the TLS handshake") from None
        except (OSError, ssl.SSLError) as exc:
            self._writer.transport.abort()
            raise httpcore.ConnectError(_reason(exc)) from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # an idle pooled connection that is readable was closed (or spoken to) by its
            # server: httpcore drops it rather than send a request into it
            sock = self._writer.get_extra_info("socket")
            if sock is None or sock.fileno() < 0:
                return True
            # poll, not select: a daemon's descriptors may number past select's 1024
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend on asyncio streams (what anyio does on asyncio, cheaper)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host,
                    port,
                    local_addr=(local_address, 0) if local_address else None,
                    limit=_BUFFER,
                    # as anyio did: with a host's addresses tried one after the other, a
                    # dead IPv6 route would cost a whole connect timeout before IPv4
                    happy_eyeballs_delay=_HAPPY_EYEBALLS,
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout("timed out connecting") from None
        except OSError as exc:
            raise httpcore.ConnectError(_reason(exc)) from exc
        sock: socket.socket = writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return _Stream(reader, writer)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by monitor")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


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

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:  # asyncio's TLS
        self._load_roots()
        return super().wrap_bio(*args, **kwargs)

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self._load_roots()
        return super().wrap_socket(*args, **kwargs)


def _tls_context(verify: ssl.SSLContext | bool) -> ssl.SSLContext:
    if verify is True:
        return LazyTrustContext(ssl.PROTOCOL_TLS_CLIENT)
    return httpx.create_ssl_context(verify=verify, trust_env=False)


class _Transport(httpx.AsyncHTTPTransport):
    """httpx's transport over a pool on ``AsyncioBackend``.

    httpx names no backend when it builds its pool, so this builds the pool itself (what
    ``AsyncHTTPTransport.__init__`` would, minus proxies, which monitor does not use) and
    leaves the rest of the transport (request and response mapping, exception mapping) to
    httpx. ``tests/fetch/test_http_client.py`` fails if httpx stops sending requests
    through ``_pool``.
    """

    def __init__(self, limits: httpx.Limits, verify: ssl.SSLContext | bool) -> None:
        # no super().__init__(): it would build a pool (and an SSL context) to throw away
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=_tls_context(verify),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=AsyncioBackend(),
        )


def new_client(
    *,
    max_connections: int = 100,
    max_keepalive_connections: int = 20,
    verify: ssl.SSLContext | bool = True,
    **options: Any,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` on the asyncio backend; other ``options`` as for the client.

    No proxy from the environment (``trust_env`` is off): the transport is ours.
    """
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_keepalive_connections
    )
    return httpx.AsyncClient(
        transport=_Transport(limits, verify), limits=limits, trust_env=False, **options
    )
