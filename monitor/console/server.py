"""Serving the console inside ``monitor run``: uvicorn on the daemon's own event loop.

The daemon owns SIGTERM, SIGINT and SIGHUP: uvicorn's ``capture_signals`` (which would
replace them with ``signal.signal`` for the life of the server) is turned into a no-op,
and the daemon stops the server itself. The socket is bound here, before uvicorn starts,
so an address in use is an ``OSError`` that ``monitor run`` reports in one line (uvicorn
would call ``sys.exit`` from inside its task). uvicorn's logging set-up, forwarded-header
handling and lifespan are off: the daemon logs, ``console.security`` reads
``X-Forwarded-For`` only from trusted proxies, and the runtime owns every resource.
Stopping takes at most ``GRACE`` seconds for requests in flight, well inside the 10 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

from monitor.console.context import ConsoleContext

if TYPE_CHECKING:
    import uvicorn

    from monitor.runtime import Runtime

log = logging.getLogger("monitor.console")
GRACE = 2.0  # seconds given to requests in flight at shutdown


def _in_loop_server(config: uvicorn.Config) -> uvicorn.Server:
    import uvicorn

    class InLoopServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # the daemon owns the signals (uvicorn.Server.capture_signals)

    return InLoopServer(config)


def bind(listen: str) -> socket.socket:
    """A listening socket on ``host:port`` (``[::1]:8080`` for IPv6); OSError if taken."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, int(port)), family=family, backlog=128)
    # the connections accepted inherit it. asyncio sets it only on sockets made with
    # proto=IPPROTO_TCP, which create_server's are not: without it every answer after
    # the first on a kept-alive connection waited 40 ms for the client's delayed ACK
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class ConsoleServer:
    def __init__(self, server: uvicorn.Server, task: asyncio.Task[None], address: str) -> None:
        self.server = server
        self.task = task
        self.address = address

    async def stop(self) -> None:
        self.server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self.task), GRACE + 2.0)
        except (TimeoutError, asyncio.CancelledError):
            self.task.cancel()
        except Exception:
            log.exception("console server failed while stopping", extra={"action": "console"})


async def serve(ctx: ConsoleContext, listen: str) -> ConsoleServer:
    """Start serving the console on ``listen``; returns once it accepts connections."""
    import uvicorn

    from monitor.console.app import build_app

    sock = bind(listen)
    config = uvicorn.Config(
        build_app(ctx),
        lifespan="off",
        log_config=None,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        http="h11",
        ws="none",
        timeout_keep_alive=5,
        timeout_graceful_shutdown=int(GRACE),
    )
    server = _in_loop_server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="console")
    while not server.started and not task.done():  # noqa: ASYNC110 (uvicorn has no event)
        await asyncio.sleep(0.01)
    if task.done():
        sock.close()
        task.result()  # raises what stopped it
        raise OSError(f"the console could not start on {listen}")
    host, port = sock.getsockname()[:2]
    address = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
    log.info("console on %s", address, extra={"action": "console"})
    return ConsoleServer(server, task, address)


async def start_console(
    runtime: Runtime, wake: Callable[[], Awaitable[None]] | None = None
) -> ConsoleServer | None:
    """The daemon's console, when its config has a ``console:`` section."""
    settings = runtime.config.console
    if settings is None:
        return None
    ctx = ConsoleContext(
        engine=runtime.engine,
        current_config=lambda: runtime.config,
        current_channels=lambda: runtime.deliverer.channels,
        wake_delivery=wake,
        current_file_config=lambda: runtime.file_config,
        applied_generation=lambda: runtime.watch.seen,
    )
    return await serve(ctx, settings.listen)
