"""The opt-in HTTP endpoint (``http: {listen: "127.0.0.1:9464"}``), on plain asyncio.

- ``GET /healthz``  200 ``ok`` while the process lives and its event loop turns.
- ``GET /readyz``   200 ``ready`` when ``ready()`` says so (scheduler running, the daemon's
  writes working, database reachable), else 503 with the reason on one line.
- ``GET /metrics``  the Prometheus text format (``CONTENT_TYPE_LATEST``).

Anything else is 404; a method other than GET or HEAD is 405. One request per connection
(``Connection: close``): scrapers and probes need no more, and it keeps the parser small.
A client gets ``REQUEST_TIMEOUT`` seconds to send its request head, which may not exceed
``MAX_HEAD`` bytes, so a slow or hostile client cannot hold the daemon's attention.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("monitor.http")

ReadyCheck = Callable[[], Awaitable[tuple[bool, str]]]
MetricsRender = Callable[[], Awaitable[bytes]]

REQUEST_TIMEOUT = 5.0
HANDLER_TIMEOUT = 10.0
MAX_HEAD = 8192
_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_TEXT = "text/plain; charset=utf-8"


def split_listen(listen: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9464`` for IPv6) → (host, port)."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


def parse_request_line(line: bytes) -> tuple[str, str] | None:
    """(method, path without query) of ``GET /path?x HTTP/1.1``; None if malformed."""
    try:
        text = line.decode("ascii").rstrip("\r\n")
    except UnicodeDecodeError:
        return None
    parts = text.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not parts[1].startswith("/"):
        return None
    method, target = parts[0], parts[1]
    if not method.isalpha() or not method.isupper():
        return None
    return method, target.split("?", 1)[0]


def response(status: int, body: bytes, content_type: str = _TEXT, *, head: bool = False) -> bytes:
    lines = [
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Cache-Control: no-store",
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + (b"" if head else body)


async def read_head(reader: asyncio.StreamReader) -> tuple[str, str] | int:
    """The request line parsed, after reading (and ignoring) the headers; or an error status."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT)
    except TimeoutError:
        return 408
    except asyncio.LimitOverrunError:
        return 431
    except asyncio.IncompleteReadError:
        return 400
    parsed = parse_request_line(head.split(b"\r\n", 1)[0])
    return 400 if parsed is None else parsed


async def start_http(
    listen: str, ready: ReadyCheck, metrics: MetricsRender | None = None
) -> asyncio.Server:
    """Serve the endpoint on ``listen``; close with ``server.close(); await server.wait_closed()``.

    ``metrics`` renders the exposition (``lambda: Metrics.scrape(engine)``); without it
    ``/metrics`` is 404. Raises ``OSError`` if the address cannot be bound.
    """

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await read_head(reader)
            if isinstance(request, int):
                payload = response(request, f"{_REASONS[request].lower()}\n".encode())
            else:
                payload = await asyncio.wait_for(route(*request), HANDLER_TIMEOUT)
            writer.write(payload)
            await writer.drain()
        except (ConnectionError, TimeoutError):
            pass
        except Exception:
            log.exception("http handler failed", extra={"action": "http"})
            with contextlib.suppress(Exception):
                writer.write(response(500, b"internal error\n"))
                await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def route(method: str, path: str) -> bytes:
        head = method == "HEAD"
        if method not in ("GET", "HEAD"):
            return response(405, b"method not allowed\n")
        if path == "/healthz":
            return response(200, b"ok\n", head=head)
        if path == "/readyz":
            try:
                ok, reason = await ready()
            except Exception as exc:
                ok, reason = False, f"readiness check failed: {exc}"
            reason = " ".join(reason.split()) or ("ready" if ok else "not ready")
            return response(200 if ok else 503, f"{reason}\n".encode(), head=head)
        if path == "/metrics" and metrics is not None:
            from prometheus_client import CONTENT_TYPE_LATEST

            return response(200, await metrics(), CONTENT_TYPE_LATEST, head=head)
        return response(404, b"not found\n", head=head)

    host, port = split_listen(listen)
    server = await asyncio.start_server(handle, host, port, limit=MAX_HEAD)
    log.info("http endpoint on %s", listen, extra={"action": "http"})
    return server


async def database_ready(engine: AsyncEngine, limit: float = 2.0) -> tuple[bool, str]:
    """(True, "") if ``SELECT 1`` answers within ``limit`` seconds, else why not."""

    async def probe() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(probe(), limit)
    except TimeoutError:
        return False, f"database did not answer within {limit:g} s"
    except Exception as exc:
        return False, f"database unreachable: {type(exc).__name__}"
    return True, ""


def readiness(
    engine: AsyncEngine,
    scheduler_running: Callable[[], bool],
    problem: Callable[[], str | None] = lambda: None,
) -> ReadyCheck:
    """The daemon's ``ready()``: the scheduler runs, the daemon's own work finds the
    database usable (``problem()``, from ``ops.health``: writes fail on a full disk while
    ``SELECT 1`` still answers) and the database answers."""

    async def ready() -> tuple[bool, str]:
        if not scheduler_running():
            return False, "scheduler not running"
        trouble = problem()
        if trouble is not None:
            return False, trouble
        ok, reason = await database_ready(engine)
        return (True, "ready") if ok else (False, reason)

    return ready
