"""An apprise channel delivered by the outbox like every channel, on SQLite and PostgreSQL:
one message per story, a failure recorded (without the URL's secrets) and retried."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from monitor.store.tables import ALERTS
from tests.delivery.conftest import delivering, write_config
from tests.support.http_server import LoopbackServer, Response

TOKEN = "Zq8-secret-path-token"


def apprise_channel(server: LoopbackServer) -> str:
    return f"""
    - id: hook
      type: apprise
      urls: ["json://desk:pw-secret@127.0.0.1:{server.port}/notify/{TOKEN}"]
    """


async def test_one_message_per_story_retried_after_a_500_and_recorded(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, client: httpx.AsyncClient
) -> None:
    answers = iter([Response(500), Response(200)])
    http_server.route(f"/notify/{TOKEN}", lambda request: next(answers))
    config = write_config(tmp_path, db_url, apprise_channel(http_server))
    async with delivering(config, client) as (store, run):
        await store.queue_story(
            ["nato", "cyber"], ["hook"], title="Minister meets NATO chief on cyber defence"
        )
        first = await run.deliver_all()
        assert (first.sent, first.failed) == (0, 2)
        async with store.engine.connect() as conn:
            rows = (await conn.execute(select(ALERTS))).all()
        assert {r.status for r in rows} == {"failed"} and {r.attempts for r in rows} == {1}
        (error,) = {r.last_error for r in rows}
        assert error.startswith("JSON (urls[0]): ") and "500" in error
        assert TOKEN not in error and "pw-secret" not in error

        store.clock.advance(timedelta(minutes=2))  # past the first retry (1 min)
        run.breaker("hook").probe_now(store.clock())
        second = await run.deliver_all()
        assert (second.sent, second.failed) == (2, 0)
        async with store.engine.connect() as conn:
            rows = (await conn.execute(select(ALERTS))).all()
        assert {r.status for r in rows} == {"sent"} and {r.attempts for r in rows} == {2}

    failed, sent = (json.loads(r.body) for r in http_server.requests_to(f"/notify/{TOKEN}"))
    assert failed == sent  # the retry is the same message
    assert sent["title"] == "[monitor] NATO, Cyber: Minister meets NATO chief on cyber defence"
    assert "Rules:     NATO, Cyber" in sent["message"]
