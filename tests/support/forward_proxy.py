"""Real forwarding proxies on loopback for tests: HTTP (absolute URIs and CONNECT) and SOCKS5.

Each records what it was asked to reach (``seen``: ``GET http://host:port/path`` for a
forwarded request, ``CONNECT host:port`` for a tunnel, ``SOCKS host:port``), so a test can
assert which requests went through it. ``credentials`` (``user:password``) makes the HTTP
proxy answer 407 to requests without them, and the SOCKS5 proxy refuse them.
"""

from __future__ import annotations

import base64
import http.client
import select
import socket
import socketserver
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te"}


def _pipe(one: socket.socket, other: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    sockets = [one, other]
    while True:
        readable, _, _ = select.select(sockets, [], [], 30)
        if not readable:
            return
        for sock in readable:
            data = sock.recv(65536)
            if not data:
                return
            (other if sock is one else one).sendall(data)


class _Server(ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True


class ForwardProxy:
    """An HTTP forward proxy. ``url`` is what a client's ``proxy:`` names."""

    def __init__(self, credentials: str | None = None) -> None:
        self.seen: list[str] = []
        self.users: list[str | None] = []  # the Proxy-Authorization user of each, if any
        self._lock = threading.Lock()
        self._expected = (
            "Basic " + base64.b64encode(credentials.encode()).decode() if credentials else None
        )
        self._httpd = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> ForwardProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _record(self, line: str, auth: str | None) -> None:
        user = base64.b64decode(auth.split()[-1]).decode().split(":")[0] if auth else None
        with self._lock:
            self.seen.append(line)
            self.users.append(user)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _allowed(self) -> bool:
                auth = self.headers.get("Proxy-Authorization")
                proxy._record(f"{self.command} {self.path}", auth)
                if proxy._expected is None or auth == proxy._expected:
                    return True
                self.send_response(407)
                self.send_header("Proxy-Authenticate", 'Basic realm="test"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return False

            def do_CONNECT(self) -> None:
                if not self._allowed():
                    return
                host, _, port = self.path.rpartition(":")
                upstream = socket.create_connection((host, int(port)), timeout=30)
                self.send_response(200, "Connection established")
                self.end_headers()
                self.close_connection = True
                with upstream:
                    _pipe(self.connection, upstream)

            def _forward(self) -> None:
                if not self._allowed():
                    return
                target = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in _HOP_BY_HOP and not k.lower().startswith("proxy-")
                }
                upstream = http.client.HTTPConnection(
                    target.hostname or "", target.port or 80, timeout=30
                )
                try:
                    path = target.path + (f"?{target.query}" if target.query else "")
                    upstream.request(self.command, path or "/", body, headers)
                    response = upstream.getresponse()
                    data = response.read()
                    self.send_response(response.status, response.reason)
                    for key, value in response.getheaders():
                        if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    upstream.close()

            do_GET = do_POST = _forward

        return Handler


class SocksProxy:
    """A SOCKS5 proxy (RFC 1928; user/password auth of RFC 1929 when ``credentials``)."""

    def __init__(self, credentials: str | None = None) -> None:
        self.seen: list[str] = []
        self._lock = threading.Lock()
        self._credentials = credentials
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._serve(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> SocksProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _serve(self, client: socket.socket) -> None:
        def read(n: int) -> bytes:
            data = b""
            while len(data) < n:
                chunk = client.recv(n - len(data))
                if not chunk:
                    raise ConnectionError("client went away")
                data += chunk
            return data

        _, count = read(2)
        methods = read(count)
        wanted = 2 if self._credentials else 0
        if wanted not in methods:
            client.sendall(b"\x05\xff")
            return
        client.sendall(bytes([5, wanted]))
        if wanted == 2:
            _, size = read(2)
            user = read(size)
            (size,) = read(1)
            password = read(size)
            if f"{user.decode()}:{password.decode()}" != self._credentials:
                client.sendall(b"\x01\x01")
                return
            client.sendall(b"\x01\x00")
        _, command, _, kind = read(4)
        if kind == 1:
            host = socket.inet_ntoa(read(4))
        elif kind == 3:
            (size,) = read(1)
            host = read(size).decode()
        else:
            host = socket.inet_ntop(socket.AF_INET6, read(16))
        (port,) = struct.unpack("!H", read(2))
        with self._lock:
            self.seen.append(f"SOCKS {host}:{port}")
        if command != 1:  # only CONNECT
            client.sendall(b"\x05\x07\x00\x01" + bytes(6))
            return
        with socket.create_connection((host, port), timeout=30) as upstream:
            client.sendall(b"\x05\x00\x00\x01" + bytes(6))
            _pipe(client, upstream)
