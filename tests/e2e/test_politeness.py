"""`max_connections_per_host` holds across polls, as the daemon runs them: each poll takes
its own context from the runtime, and all of them share the host's limit."""

from __future__ import annotations

from pathlib import Path

from monitor.config.load import load_config
from monitor.poll_driver import poll_once
from monitor.runtime import Runtime
from tests.support.http_server import LoopbackServer
from tests.support.in_flight import InFlight


async def test_per_host_limit_is_shared_by_concurrent_polls(
    tmp_path: Path, sqlite_url: str, http_server: LoopbackServer
) -> None:
    slow = InFlight(0.1)
    names = [f"s{i}" for i in range(6)]
    for name in names:
        http_server.route(f"/{name}", slow)
    sources = "\n".join(f"  - id: {n}\n    url: {http_server.url('/' + n)}" for n in names)
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f"database: {sqlite_url}\ndefaults: {{max_connections_per_host: 2}}\nsources:\n{sources}\n"
        "rules:\n  - id: r\n    query: NATO\n    channels: [console]\n"
        "channels:\n  - id: console\n    type: log\n",
        encoding="utf-8",
    )
    config = load_config(path, environ_database=False)
    runtime = await Runtime.start(config)
    try:
        outcomes = (await poll_once(runtime, names, deliver=False)).outcomes
    finally:
        await runtime.close()
    assert all(o.ok for o in outcomes)
    assert slow.most == 2
