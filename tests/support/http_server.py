"""A real HTTP server on loopback for tests: scripted responses, recorded requests.

Routes map a path to a ``Response`` or to a callable that takes the ``Request`` and returns
one. A response may hang (never answer) or trickle its body a chunk at a time, so tests can
exercise deadlines against a real socket. Every request is recorded, in order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    # socketserver's listen backlog is 5: eight clients connecting at once overflow it, the
    # kernel drops a SYN and that client waits a whole second to retry
    request_queue_size = 128


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    peer: tuple[str, int] = ("", 0)  # the client's address: one port per TCP connection


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # accept the request, never answer
    trickle_delay: float = 0.0  # seconds between body chunks
    chunk_size: int = 1


Handler = Response | Callable[[Request], Response]


class LoopbackServer:
    """Start with ``start()``, stop with ``stop()``; ``url(path)`` gives the full URL."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        # a short poll interval: shutdown() waits up to one interval, at every test teardown
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def route(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def requests_to(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def wait_for_requests(self, path: str, count: int, timeout: float = 10.0) -> list[Request]:
        """Wait until ``count`` requests reached ``path`` (a condition, not a sleep)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.requests_to(path)
            if len(got) >= count:
                return got
            time.sleep(0.01)
        raise AssertionError(f"{path}: {len(self.requests_to(path))} requests, wanted {count}")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path
                request = Request(
                    self.command, path, dict(self.headers.items()), body, self.client_address[:2]
                )
                with server._lock:
                    server.requests.append(request)
                handler = server.routes.get(
                    path.split("?", 1)[0] if path not in server.routes else path
                )
                if handler is None:
                    response = Response(404, b"not found")
                elif isinstance(handler, Response):
                    response = handler
                else:
                    response = handler(request)
                if response.hang:
                    server._stopping.wait(60)
                    return
                self.send_response(response.status)
                headers = {k.lower(): v for k, v in response.headers.items()}
                for key, value in response.headers.items():
                    self.send_header(key, value)
                if "content-length" not in headers and "transfer-encoding" not in headers:
                    self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                if self.command == "HEAD":
                    return
                try:
                    if response.trickle_delay:
                        for i in range(0, len(response.body), response.chunk_size):
                            if server._stopping.is_set():
                                return
                            self.wfile.write(response.body[i : i + response.chunk_size])
                            self.wfile.flush()
                            time.sleep(response.trickle_delay)
                    else:
                        self.wfile.write(response.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_HEAD = do_PUT = _serve

        return _Handler
