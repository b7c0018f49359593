"""Bounded output through the real delivery path (issue 22.2), on both databases.

A release stored with a 9.5 MB Arabic summary and a rule's hits in either form the store
may keep them — every hit (here 50,000), or the first ones and a total (a million) —
reaches a webhook in a body under 64 KB and an inbox in a few KB.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.delivery.conftest import delivering, write_config
from tests.delivery.test_stories import channels
from tests.notify.smtp_server import SmtpServer
from tests.support.http_server import LoopbackServer, Response

SUMMARY = "اجتماع حلف شمال الأطلسي الناتو في بروكسل " * 127_000  # 9.5 MB of UTF-8


def nato_hits(n: int) -> list[dict[str, Any]]:
    return [
        {"field": "content", "term": "NATO", "start": i * 5, "end": i * 5 + 4,
         "snippet": f"NATO NATO {i} NATO"}
        for i in range(n)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("stored", "total"),
    [
        (nato_hits(50_000), 50_000),
        ({"hits": nato_hits(100), "total": 1_000_000}, 1_000_000),
    ],
    ids=["every-hit", "capped-with-total"],
)
async def test_hostile_release_is_delivered_bounded(
    tmp_path: Path,
    db_url: str,
    smtp: SmtpServer,
    http_server: LoopbackServer,
    client: httpx.AsyncClient,
    stored: Any,
    total: int,
) -> None:
    http_server.route("/hook", Response(204))
    config = write_config(tmp_path, db_url, channels(smtp, http_server))
    async with delivering(config, client) as (store, run):
        await store.queue_story(
            ["nato"],
            ["hook", "mail"],
            title="الناتو " * 2000,
            summary=SUMMARY,
            hits={"nato": stored},
        )
        assert (await run.deliver_all()).sent == 2
    (request,) = http_server.requests_to("/hook")
    assert len(request.body) < 64 * 1024
    body = json.loads(request.body)
    assert body["truncated"] is True and body["match_count"] == total
    assert len(body["matches"]) == 3
    (mail,) = smtp.messages
    assert len(mail.raw) < 16_000
    text = mail.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"+ {total - 3} more" in text
