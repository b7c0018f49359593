"""The HTTP endpoint over a real socket: /healthz, /readyz 200/503, /metrics parsed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.ops.http import parse_request_line, readiness, start_http
from monitor.ops.metrics import Metrics
from monitor.pipeline import PollOutcome
from monitor.store.db import create_engine
from monitor.store.tables import ALERTS, MATCHES, RELEASES, STORIES, now
from tests.conftest import Engines
from tests.ops.conftest import add_rows, add_source


class Ready:
    """A ready() whose answer the test sets."""

    def __init__(self) -> None:
        self.answer = (True, "ready")

    async def __call__(self) -> tuple[bool, str]:
        return self.answer


@pytest.fixture
async def served(engine: AsyncEngine) -> AsyncIterator[tuple[str, Ready, Metrics]]:
    ready, metrics = Ready(), Metrics(max_age=0.0)
    server = await start_http("127.0.0.1:0", ready, lambda: metrics.scrape(engine))
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", ready, metrics
    finally:
        server.close()
        await server.wait_closed()


async def test_healthz_and_readyz(served: tuple[str, Ready, Metrics]) -> None:
    base, ready, _ = served
    async with httpx.AsyncClient(base_url=base, trust_env=False) as client:
        health = await client.get("/healthz")
        assert (health.status_code, health.text) == (200, "ok\n")
        assert (await client.get("/readyz")).status_code == 200
        ready.answer = (False, "scheduler not running")
        not_ready = await client.get("/readyz")
        assert (not_ready.status_code, not_ready.text) == (503, "scheduler not running\n")
        assert (await client.get("/nope")).status_code == 404
        assert (await client.post("/healthz")).status_code == 405
        assert (await client.head("/healthz")).status_code == 200


async def test_readiness_checks_scheduler_and_database(
    engine: AsyncEngine, engines: Engines
) -> None:
    running = True
    check = readiness(engine, lambda: running)
    assert await check() == (True, "ready")
    running = False
    assert await check() == (False, "scheduler not running")
    unreachable = engines.adopt(create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    ok, reason = await readiness(unreachable, lambda: True)()
    assert not ok and reason.startswith("database unreachable")


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 200),
        (b"GET /healthz?probe=1 HTTP/1.0\r\n\r\n", 200),
        (b"garbage\r\n\r\n", 400),
        (b"GET healthz HTTP/1.1\r\n\r\n", 400),
        (b"GET /healthz SPDY/3\r\n\r\n", 400),
        (b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\n\r\n", 431),
        (b"GET /healthz HTTP/1.1\r\n", 400),  # the client hangs up mid-head
    ],
)
async def test_raw_requests(served: tuple[str, Ready, Metrics], raw: bytes, status: int) -> None:
    port = int(served[0].rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    if not raw.endswith(b"\r\n\r\n"):
        writer.write_eof()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    assert int(answer.split(b" ", 2)[1]) == status


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"GET / HTTP/1.1\r\n", ("GET", "/")),
        (b"HEAD /metrics?x=1 HTTP/1.1", ("HEAD", "/metrics")),
        (b"get / HTTP/1.1", None),
        (b"GET  / HTTP/1.1", None),
        (b"GET / HTTP/2", None),
        (b"\xff / HTTP/1.1", None),
    ],
)
def test_parse_request_line(line: bytes, expected: tuple[str, str] | None) -> None:
    assert parse_request_line(line) == expected


async def _rows(engine: AsyncEngine) -> None:
    await add_source(engine, "mofa", status="ok")
    await add_source(engine, "agency", status="failing")
    await add_rows(engine, STORIES, {"id": 1})
    await add_rows(
        engine, RELEASES, {"id": 1, "source_id": "mofa", "identity": "g1", "story_id": 1}
    )
    await add_rows(engine, MATCHES, {"id": 1, "release_id": 1, "story_id": 1})
    queued = now() - timedelta(minutes=5)
    await add_rows(
        engine,
        ALERTS,
        *(
            {
                "id": alert_id,
                "story_id": 1,
                "channel_id": channel,
                "release_id": 1,
                "match_id": 1,
                "status": status,
                "created_at": queued,
            }
            for alert_id, channel, status in [
                ("a", "hook", "pending"),
                ("b", "mail", "failed"),
                ("c", "chat", "sent"),
            ]
        ),
    )


async def test_metrics_scraped_and_parsed(
    served: tuple[str, Ready, Metrics], engine: AsyncEngine
) -> None:
    base, _, metrics = served
    await _rows(engine)
    metrics.record_poll(PollOutcome("mofa", ok=True, entries=3, new=2), 0.3)
    metrics.record_poll(PollOutcome("mofa", ok=True, not_modified=True), 0.1)
    metrics.record_poll(PollOutcome("agency", ok=False, error="timeout"), 30.0)
    metrics.record_alert("hook", "sent")
    metrics.record_alert("hook", "failed")
    async with httpx.AsyncClient(base_url=base, trust_env=False) as client:
        scraped = await client.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(scraped.text)
        for s in family.samples
    }
    expected = {
        ("monitor_polls_total", (("result", "ok"), ("source", "mofa"))): 1,
        ("monitor_polls_total", (("result", "unchanged"), ("source", "mofa"))): 1,
        ("monitor_polls_total", (("result", "failed"), ("source", "agency"))): 1,
        ("monitor_poll_duration_seconds_count", ()): 3,
        ("monitor_releases_stored_total", (("source", "mofa"),)): 2,
        ("monitor_alerts_total", (("channel", "hook"), ("status", "sent"))): 1,
        ("monitor_alerts_total", (("channel", "hook"), ("status", "failed"))): 1,
        ("monitor_matches", (("rule", "nato"),)): 1,
        ("monitor_outbox_alerts", (("status", "pending"),)): 1,
        ("monitor_outbox_alerts", (("status", "failed"),)): 1,
        ("monitor_sources_failing", ()): 1,
    }
    for key, value in expected.items():
        assert samples[key] == value, key
    oldest = samples[("monitor_outbox_oldest_pending_seconds", ())]
    assert 240 < oldest < 3600
    assert samples[("monitor_metrics_refreshed_timestamp_seconds", ())] > 0


async def test_scrape_serves_old_values_when_the_database_fails(
    engine: AsyncEngine, engines: Engines
) -> None:
    metrics = Metrics(max_age=0.0)
    await add_source(engine, "agency", status="failing")
    assert await metrics.refresh(engine)
    await engine.dispose()
    broken = engines.adopt(create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    text = (await metrics.scrape(broken)).decode()
    assert "monitor_sources_failing 1.0" in text
