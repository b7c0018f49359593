"""The shared client: reuse, closed connections, errors as operators read them, TLS."""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from monitor.errors import FetchNetworkError
from monitor.fetch import Fetcher
from monitor.http_client import IdleCheckedStream, new_client, trust_context
from tests.support.http_server import LoopbackServer, Response
from tests.support.waiting import wait_until


async def test_requests_reuse_one_connection(http_server: LoopbackServer) -> None:
    http_server.route("/feed", Response(body=b"<rss/>" * 1000))
    async with new_client() as client:
        bodies = [(await client.get(http_server.url("/feed"))).content for _ in range(5)]
    assert bodies == [b"<rss/>" * 1000] * 5
    assert len({r.peer for r in http_server.requests_to("/feed")}) == 1


async def test_a_connection_past_descriptor_1024_is_reused(http_server: LoopbackServer) -> None:
    # a daemon with many feeds and files open: select() cannot watch such a descriptor, and
    # before reusing a pooled connection httpcore asks whether the server closed it
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"the descriptor limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    fillers = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        http_server.route("/feed", Response(body=b"ok"))
        async with new_client() as client:
            first = await client.get(http_server.url("/feed"))
            stream = first.extensions["network_stream"]
            # the pool's idle check is monitor's own (http_client.install): a peek, no select
            assert isinstance(stream, IdleCheckedStream)
            assert stream.get_extra_info("socket").fileno() > 1024
            assert not stream.get_extra_info("is_readable")
            assert (await client.get(http_server.url("/feed"))).content == b"ok"
        assert len({r.peer for r in http_server.requests_to("/feed")}) == 1
    finally:
        for fd in fillers:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@dataclass
class ClosingServer:
    port: int
    closed: threading.Event
    accepted: int = 0


@pytest.fixture
def closing_server() -> Iterator[ClosingServer]:
    """Answers each connection's first request, keeping it alive, then closes it."""
    listener = socket.create_server(("127.0.0.1", 0))
    server = ClosingServer(listener.getsockname()[1], threading.Event())

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            server.accepted += 1
            with conn:
                data = b""
                # a client that hangs up before a whole request ends the exchange: reading
                # on after EOF would spin this thread forever and hold up the teardown
                while b"\r\n\r\n" not in data and (chunk := conn.recv(4096)):
                    data += chunk
                if b"\r\n\r\n" in data:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            server.closed.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server
    # shutdown wakes the accept() blocked in the thread (close alone leaves it waiting)
    with contextlib.suppress(OSError):
        listener.shutdown(socket.SHUT_RDWR)
    listener.close()
    thread.join(timeout=5)
    assert not thread.is_alive(), "the closing server's thread did not end"


async def test_a_pooled_connection_the_server_closed_is_not_reused(
    closing_server: ClosingServer,
) -> None:
    url = f"http://127.0.0.1:{closing_server.port}/"
    async with new_client() as client:
        first = await client.get(url)
        assert first.text == "ok"
        assert closing_server.closed.wait(timeout=10), "the server never closed the connection"
        # what httpcore asks before reusing it: the server's close has reached us
        stream = first.extensions["network_stream"]
        wait_until(lambda: stream.get_extra_info("is_readable"), what="the close seen")
        assert (await client.get(url)).text == "ok"
    assert closing_server.accepted == 2


async def test_errors_are_httpx_errors(http_server: LoopbackServer) -> None:
    http_server.route("/hang", Response(hang=True))
    free = socket.create_server(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nothing listens there now
    async with new_client() as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(http_server.url("/hang"), timeout=httpx.Timeout(5, read=0.2))
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")
        # and as the operator reads it: the reason, not "All connection attempts failed"
        with pytest.raises(FetchNetworkError) as refused:
            await Fetcher(client).fetch(f"http://127.0.0.1:{port}/feed", user_agent="t")
        assert str(refused.value) == "cannot reach 127.0.0.1: Connection refused (ConnectError)"


async def test_tls_is_verified(tls_server: tuple[int, Path]) -> None:
    port, cert = tls_server
    url = f"https://127.0.0.1:{port}/"
    async with new_client() as client:  # the default trust store does not know this one
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(url)
        with pytest.raises(FetchNetworkError, match="certificate verify failed"):
            await Fetcher(client).fetch(url, user_agent="t")
    async with new_client(verify=ssl.create_default_context(cafile=cert)) as client:
        response = await client.get(url)
        assert response.text == "مرحبا"
        stream = response.extensions["network_stream"]
        assert stream.get_extra_info("ssl_object").version().startswith("TLS")


async def test_the_trust_store_loads_at_the_first_handshake(tls_server: tuple[int, Path]) -> None:
    port, _ = tls_server
    context = trust_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    async with new_client(verify=context) as client:
        assert context.cert_store_stats()["x509_ca"] == 0  # nothing loaded before TLS is used
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(f"https://127.0.0.1:{port}/")
    # certifi's roots were loaded for that handshake, and refused our self-signed one
    assert context.cert_store_stats()["x509_ca"] > 100
