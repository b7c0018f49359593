"""The shared client on asyncio streams: requests, reuse, closed connections, errors, TLS."""

from __future__ import annotations

import os
import resource
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest

from monitor.errors import FetchNetworkError
from monitor.fetch import Fetcher
from monitor.http_client import AsyncioBackend, LazyTrustContext, new_client
from tests.support.http_server import LoopbackServer, Response
from tests.support.waiting import wait_until


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every connection ``AsyncioBackend`` opens, as (host, port)."""
    opened: list[tuple[str, int]] = []
    connect = AsyncioBackend.connect_tcp

    async def counting(self: AsyncioBackend, host: str, port: int, **kwargs: Any) -> Any:
        opened.append((host, port))
        return await connect(self, host, port, **kwargs)

    monkeypatch.setattr(AsyncioBackend, "connect_tcp", counting)
    return opened


async def test_requests_go_through_the_asyncio_backend_on_one_connection(
    http_server: LoopbackServer, connects: list[tuple[str, int]]
) -> None:
    http_server.route("/feed", Response(body=b"<rss/>" * 1000))
    async with new_client() as client:
        bodies = [(await client.get(http_server.url("/feed"))).content for _ in range(5)]
    assert bodies == [b"<rss/>" * 1000] * 5
    # if httpx stopped sending through the transport's `_pool`, nothing would be counted
    assert connects == [("127.0.0.1", http_server.port)]
    assert len({r.peer for r in http_server.requests_to("/feed")}) == 1


async def test_a_connection_past_descriptor_1024_is_reused(
    http_server: LoopbackServer, connects: list[tuple[str, int]]
) -> None:
    # a daemon with many feeds and files open: select() cannot watch such a descriptor
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"the descriptor limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    fillers = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        http_server.route("/feed", Response(body=b"ok"))
        async with new_client() as client:
            assert (await client.get(http_server.url("/feed"))).content == b"ok"
            pool = client._transport._pool  # type: ignore[attr-defined]
            assert (
                pool.connections[0]._connection._network_stream.get_extra_info("socket").fileno()
                > 1024
            )
            assert not pool.connections[0].has_expired()  # asks whether it is readable
            assert (await client.get(http_server.url("/feed"))).content == b"ok"
        assert len(connects) == 1
    finally:
        for fd in fillers:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.fixture
def closing_server() -> Iterator[tuple[int, threading.Event]]:
    """Answers each connection's first request, keeping it alive, then closes it."""
    listener = socket.create_server(("127.0.0.1", 0))
    closed = threading.Event()

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(4096)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            closed.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], closed
    listener.close()
    thread.join(timeout=10)


async def test_a_pooled_connection_the_server_closed_is_not_reused(
    closing_server: tuple[int, threading.Event], connects: list[tuple[str, int]]
) -> None:
    port, closed = closing_server
    async with new_client() as client:
        assert (await client.get(f"http://127.0.0.1:{port}/")).text == "ok"
        closed.wait(timeout=10)
        pool = client._transport._pool  # type: ignore[attr-defined]
        # the backend reports the server's close: httpcore sees the idle connection expired
        wait_until(lambda: all(c.has_expired() for c in pool.connections), what="expired")
        assert (await client.get(f"http://127.0.0.1:{port}/")).text == "ok"
    assert len(connects) == 2


async def test_errors_are_httpx_errors(http_server: LoopbackServer) -> None:
    http_server.route("/hang", Response(hang=True))
    free = socket.create_server(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nothing listens there now
    async with new_client() as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(http_server.url("/hang"), timeout=httpx.Timeout(5, read=0.2))
        with pytest.raises(httpx.ConnectError, match=r"^\[Errno 111\] Connection refused$"):
            await client.get(f"http://127.0.0.1:{port}/")
        # and as the operator reads it
        with pytest.raises(FetchNetworkError) as refused:
            await Fetcher(client).fetch(f"http://127.0.0.1:{port}/feed", user_agent="t")
        assert str(refused.value) == "cannot reach 127.0.0.1: Connection refused (ConnectError)"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """An HTTPS server on loopback with a self-signed certificate for 127.0.0.1."""
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = "مرحبا".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], cert
    server.shutdown()
    server.server_close()


async def test_tls_is_verified(tls_server: tuple[int, Path]) -> None:
    port, cert = tls_server
    url = f"https://127.0.0.1:{port}/"
    async with new_client() as client:  # the default trust store does not know this one
        context = client._transport._pool._ssl_context  # type: ignore[attr-defined]
        assert isinstance(context, LazyTrustContext)
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
        assert context.cert_store_stats()["x509_ca"] == 0  # nothing loaded before TLS is used
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(url)
        # certifi's roots were loaded for that handshake, and refused our self-signed one
        assert context.cert_store_stats()["x509_ca"] > 100
    async with new_client(verify=ssl.create_default_context(cafile=cert)) as client:
        response = await client.get(url)
        assert response.text == "مرحبا"
        stream = response.extensions["network_stream"]
        assert stream.get_extra_info("ssl_object").version().startswith("TLS")


def test_the_backend_speaks_httpcore_directly() -> None:
    # the interface httpx drives, used on its own: one request on a pool of ours
    import asyncio

    server = LoopbackServer()
    server.route("/x", Response(body=b"direct"))
    server.start()
    try:

        async def go() -> bytes:
            async with httpcore.AsyncConnectionPool(network_backend=AsyncioBackend()) as pool:
                response = await pool.request("GET", server.url("/x"))
                return response.content

        assert asyncio.run(go()) == b"direct"
    finally:
        server.stop()
