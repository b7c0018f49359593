"""One bad item never darkens a ministry (issue 22.1), as `monitor poll` runs it.

The issue's three feeds — a JSON Feed item with a NUL in its body, an RSS description with
``&#0;``, a JSON Feed title with a lone surrogate — are polled on SQLite and PostgreSQL:
every item is stored (cleaned) and alerted. An item the database still refuses is skipped
and reported on its source, in the log with its link and in the metrics, and the rest of
the feed is stored and alerted.
"""

from __future__ import annotations

import json
import logging
import textwrap
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client import generate_latest

from monitor.config.load import load_config
from monitor.config.model import Config
from monitor.ops.metrics import Metrics
from monitor.parse.prepare import Prepared, pack
from monitor.poll_driver import poll_once
from monitor.runtime import Runtime
from monitor.store.session import open_store
from monitor.store.tables import ALERTS, RELEASES, SOURCES
from tests.support.http_server import LoopbackServer, Response


def _config(tmp_path: Path, db_url: str, url: str) -> Config:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        textwrap.dedent(
            f"""
            database: {db_url}
            sources:
              - id: s
                url: {url}
            rules:
              - id: nato
                query: 'NATO OR الناتو'
                channels: [console]
            channels:
              - id: console
                type: log
            """
        ),
        encoding="utf-8",
    )
    return load_config(path, environ_database=False)


def _json_feed(*items: dict[str, str]) -> bytes:
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": list(items)}
    return json.dumps(feed).encode()  # ensure_ascii: "\u0000" and "\ud800" as JSON escapes


NOW = datetime.now(UTC)  # dated now: the first poll alerts them (backfill)


def _item(n: int, **fields: str) -> dict[str, str]:
    item = {"id": str(n), "url": f"https://x.example/{n}", "title": f"NATO {n}"}
    return {**item, "date_published": NOW.isoformat(), **fields}


NUL_BODY = _json_feed(_item(1), _item(2, content_text="body \u0000 two"), _item(3))
SURROGATE_TITLE = _json_feed(_item(1), _item(2, title="three \ud800 NATO"), _item(3))
RSS_NUL = """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><guid>1</guid><title>NATO 1</title><link>https://x.example/1</link></item>
<item><guid>2</guid><title>NATO 2</title><link>https://x.example/2</link>
<description>a &#0; b</description></item>
<item><guid>3</guid><title>NATO 3</title><link>https://x.example/3</link></item>
</channel></rss>""".replace("</link>", f"</link><pubDate>{format_datetime(NOW)}</pubDate>").encode()


@pytest.mark.parametrize(
    ("body", "field", "stored"),
    [
        (NUL_BODY, "content", "body two"),
        (RSS_NUL, "summary", "a b"),
        (SURROGATE_TITLE, "title", "three \ufffd NATO"),
    ],
    ids=["json-nul-body", "rss-char-ref-0", "json-lone-surrogate-title"],
)
async def test_the_issues_poison_items_are_stored_cleaned_and_alerted(
    tmp_path: Path,
    db_url: str,
    http_server: LoopbackServer,
    body: bytes,
    field: str,
    stored: str,
) -> None:
    http_server.route("/feed", Response(body=body))
    config = _config(tmp_path, db_url, http_server.url("/feed"))

    [outcome] = (await poll_once(config, ["s"], False, None)).outcomes

    assert outcome.ok and (outcome.entries, outcome.new, outcome.skipped) == (3, 3, 0)
    engine = await open_store(config.database)
    try:
        async with engine.connect() as connection:
            texts = (
                await connection.execute(sa.select(RELEASES.c[field]).order_by(RELEASES.c.identity))
            ).scalars()
            assert list(texts)[1] == stored
            alerts = (await connection.execute(sa.select(ALERTS.c.status))).scalars().all()
    finally:
        await engine.dispose()
    assert alerts == ["sent"] * 3


def _uncleaned(prepared: Prepared, identity: str) -> Prepared:
    """``prepared`` with one release's title holding a lone surrogate again, as if a parser
    had bypassed ``parse.clean``: what the database itself then refuses."""
    releases = tuple(
        replace(r, title=r.title + " \ud800") if r.identity == identity else r
        for r in prepared.releases
    )
    packed, matches = pack(releases, prepared.search_text, prepared.bands, prepared.matches)
    return replace(prepared, packed=packed, packed_matches=matches)


async def test_an_item_the_database_refuses_is_skipped_and_reported(
    tmp_path: Path, db_url: str, http_server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    http_server.route("/feed", Response(body=_json_feed(_item(1), _item(2), _item(3))))
    config = _config(tmp_path, db_url, http_server.url("/feed"))
    runtime = await Runtime.start(config)
    try:
        prepare = runtime.pool.prepare

        async def poisoned(*args):  # type: ignore[no-untyped-def]
            return _uncleaned(await prepare(*args), "guid:2")

        runtime.pool.prepare = poisoned  # type: ignore[method-assign]
        with caplog.at_level(logging.WARNING, logger="monitor.pipeline"):
            [outcome] = (await poll_once(runtime, ["s"])).outcomes
        async with runtime.engine.connect() as connection:
            source = (await connection.execute(sa.select(SOURCES))).one()
            identities = (
                (
                    await connection.execute(
                        sa.select(RELEASES.c.identity).order_by(RELEASES.c.identity)
                    )
                )
                .scalars()
                .all()
            )
            alerts = (await connection.execute(sa.select(ALERTS.c.status))).scalars().all()
    finally:
        await runtime.close()

    assert outcome.ok and (outcome.entries, outcome.new, outcome.skipped) == (3, 2, 1)
    assert outcome.skip_reason is not None
    assert outcome.skip_reason.startswith("not stored: UnicodeEncodeError")
    assert identities == ["guid:1", "guid:3"] and alerts == ["sent", "sent"]
    assert source.status == "ok" and source.items_skipped == 1
    assert source.last_warning.startswith("1 item skipped (https://x.example/2): not stored")
    [logged] = [r for r in caplog.records if r.getMessage().startswith("item skipped")]
    assert logged.url == "https://x.example/2"  # type: ignore[attr-defined]
    metrics = Metrics()
    metrics.record_poll(outcome, 0.1)
    assert (
        'monitor_items_skipped_total{source="s"} 1.0' in generate_latest(metrics.registry).decode()
    )
