"""``polling.max_concurrent``: the daemon never has more polls in flight than its slots,
however many sources are due. The daemon runs in this process against a loopback server
whose feeds answer slowly, counting the requests it serves at once."""

from __future__ import annotations

import asyncio
import textwrap
import threading
import time
from pathlib import Path

from monitor.config.load import load_config
from monitor.daemon import Daemon
from tests.support.feeds import rss
from tests.support.http_server import LoopbackServer, Request, Response
from tests.support.waiting import wait_until


class Gauge:
    """Requests being served now, and the most there ever were."""

    def __init__(self) -> None:
        self.now = self.most = 0
        self._lock = threading.Lock()

    def serve(self, request: Request) -> Response:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(1.0)  # a slow ministry: the polls overlap unless the slots forbid it
        with self._lock:
            self.now -= 1
        return Response(body=rss([]))


async def test_no_more_polls_in_flight_than_max_concurrent(
    tmp_path: Path, db_url: str, http_server: LoopbackServer
) -> None:
    gauge = Gauge()
    sources = []
    for i in range(8):
        http_server.route(f"/s{i}", gauge.serve)
        sources.append(f'  - {{id: s{i}, url: "{http_server.url(f"/s{i}")}"}}')
    config_path = tmp_path / "monitor.yaml"
    config_path.write_text(
        textwrap.dedent(f"""
        database: "{db_url}"
        defaults: {{interval: 10s, max_connections_per_host: 8}}  # first polls within 1 s
        polling: {{max_concurrent: 2}}
        sources:
        """)
        + "\n".join(sources)
        + textwrap.dedent("""
        rules:
          - {id: nato, query: NATO, channels: [log]}
        channels:
          - {id: log, type: log}
        """),
        encoding="utf-8",
    )
    daemon = Daemon(load_config(config_path), config_path)
    running = asyncio.create_task(daemon.run())
    try:
        for i in range(8):
            await asyncio.to_thread(wait_until, lambda i=i: http_server.requests_to(f"/s{i}"), 30)
        assert daemon.slots == 2
    finally:
        daemon.stopping.set()
        await asyncio.wait_for(running, 30)
    assert gauge.most == 2  # the slots were used, and never exceeded
