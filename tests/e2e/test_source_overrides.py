"""A source's own ``timeout``, ``max_bytes``, ``user_agent`` and ``max_connections_per_host``
are what its polls use, against a real loopback server; the other sources keep the defaults."""

from __future__ import annotations

import time
from pathlib import Path

from monitor.config.load import load_config
from monitor.config.model import Config
from monitor.pipeline import PollOutcome
from monitor.poll_driver import poll_once
from monitor.runtime import Runtime
from tests.support.feeds import Item, rss
from tests.support.http_server import LoopbackServer, Request, Response
from tests.support.in_flight import InFlight

RULES = "rules:\n  - id: r\n    query: NATO\n    channels: [console]\n"
CHANNELS = "channels:\n  - id: console\n    type: log\n"


def write_config(tmp_path: Path, database: str, defaults: str, sources: str) -> Config:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f"database: {database}\ndefaults: {defaults}\nsources:\n{sources}{RULES}{CHANNELS}",
        encoding="utf-8",
    )
    return load_config(path, environ_database=False)


async def poll_all(config: Config, names: list[str]) -> dict[str, PollOutcome]:
    runtime = await Runtime.start(config)
    try:
        outcomes = (await poll_once(runtime, names, deliver=False)).outcomes
    finally:
        await runtime.close()
    return {o.source_id: o for o in outcomes}


async def test_a_longer_timeout_on_one_source(
    tmp_path: Path, sqlite_url: str, http_server: LoopbackServer
) -> None:
    def slow(request: Request) -> Response:
        time.sleep(1.5)  # slower than the defaults' deadline, well within the source's own
        return Response(body=rss([]))

    http_server.route("/slow", slow)
    url = http_server.url("/slow")
    config = write_config(
        tmp_path,
        sqlite_url,
        "{timeout: 1s}",
        f"  - id: patient\n    url: {url}\n    timeout: 20s\n  - id: hasty\n    url: {url}\n",
    )
    outcomes = await poll_all(config, ["patient", "hasty"])
    assert outcomes["patient"].ok, outcomes["patient"].error
    assert not outcomes["hasty"].ok
    assert outcomes["hasty"].error is not None
    assert outcomes["hasty"].error.startswith("deadline of 1 s passed")


async def test_a_larger_size_cap_and_own_user_agent_on_one_source(
    tmp_path: Path, sqlite_url: str, http_server: LoopbackServer
) -> None:
    items = [Item(f"g{i}", f"NATO {i}", "x" * 400, f"https://m.example/{i}") for i in range(20)]
    body = rss(items)
    assert len(body) > 4096
    http_server.route("/big", Response(body=body))
    url = http_server.url("/big")
    config = write_config(
        tmp_path,
        sqlite_url,
        "{max_bytes: 4096, user_agent: 'monitor/test'}",
        f"  - id: roomy\n    url: {url}\n    max_bytes: 1000000\n    user_agent: desk/2\n"
        f"  - id: tight\n    url: {url}\n",
    )
    outcomes = await poll_all(config, ["roomy", "tight"])
    assert outcomes["roomy"].ok and outcomes["roomy"].entries == 20
    assert not outcomes["tight"].ok
    assert outcomes["tight"].error is not None
    assert outcomes["tight"].error.startswith("body passed 4096 bytes decoded")
    agents = sorted(r.headers["User-Agent"] for r in http_server.requests_to("/big"))
    assert agents == ["desk/2", "monitor/test"]


async def test_a_host_takes_the_smallest_limit_its_sources_ask_for(
    tmp_path: Path, sqlite_url: str, http_server: LoopbackServer
) -> None:
    slow = InFlight()
    names = [f"s{i}" for i in range(8)]
    for name in names:
        http_server.route(f"/{name}", slow)

    async def most_in_flight(limits: list[int]) -> int:
        slow.most = 0
        sources = "".join(
            f"  - id: {n}\n    url: {http_server.url('/' + n)}\n"
            f"    max_connections_per_host: {limit}\n"
            for n, limit in zip(names, limits, strict=True)
        )
        directory = tmp_path / str(len(limits)) / "-".join(map(str, limits))
        directory.mkdir(parents=True)
        config = write_config(directory, sqlite_url, "{max_connections_per_host: 1}", sources)
        outcomes = await poll_all(config, names)
        assert all(o.ok for o in outcomes.values())
        return slow.most

    # every source of the host raises it: 4 at a time, above the defaults' 1
    assert await most_in_flight([4] * 8) == 4
    # one source of the host asks for less: politeness wins
    assert await most_in_flight([4] * 7 + [3]) == 3
