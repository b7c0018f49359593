"""Serving the console inside the daemon: uvicorn leaves the daemon's signals alone, stops
when told, and an address in use is one line and exit 1 from `monitor run`."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import httpx

from monitor.config.model import Config
from monitor.console.server import serve
from tests.console.conftest import Console, close_console, config_text, open_console, write_config
from tests.console.served import free_port, monitor


async def test_uvicorn_keeps_its_hands_off_the_signals(archive_config: Config) -> None:
    console: Console = await open_console(archive_config)
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    server = await serve(console.app.state.ctx, f"127.0.0.1:{free_port()}")  # type: ignore[attr-defined]
    try:
        during = {sig: signal.getsignal(sig) for sig in before}
        assert during == before
        async with httpx.AsyncClient() as client:
            response = await client.get(server.address + "/setup")
        assert response.status_code == 200 and "Create the first admin" in response.text
    finally:
        await server.stop()
        await close_console(console)
    assert server.task.done()
    with socket.socket() as sock:  # the port is free again
        sock.bind(("127.0.0.1", int(server.address.rsplit(":", 1)[1])))


def test_an_address_in_use_is_one_line(tmp_path: Path, http_server: object) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        text = config_text(
            f"sqlite:///{tmp_path / 'db.sqlite'}",
            http_server,
            listen=f"127.0.0.1:{port}",  # type: ignore[arg-type]
        )
        config = write_config(tmp_path, text)
        done = monitor(config, "run")
    assert done.returncode == 1
    assert "Address already in use" in done.stderr or "address already in use" in done.stderr
    assert "Traceback" not in done.stderr


def test_accepted_connections_send_without_delay() -> None:
    """Each connection the console accepts has TCP_NODELAY: with Nagle's algorithm, an
    answer written in two parts on a kept-alive connection waited for the client's
    delayed ACK (40 ms on every request after the first)."""
    from monitor.console.server import bind

    listener = bind("127.0.0.1:0")
    try:
        with socket.create_connection(listener.getsockname()[:2]):
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        listener.close()
