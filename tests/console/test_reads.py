"""The reads behind the console and the API, on an archive polled by the real pipeline:
keyset pages with no gap and no repeat, copies as one story, the rule language with its
hits marked, a release's page, the delivery log."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from monitor.config.load import load_config
from monitor.config.model import Config
from monitor.store import archive, reads, tokens
from monitor.store.archive import ReleaseFilter
from monitor.store.session import open_store
from tests.console.conftest import (
    Bench,
    Console,
    close_console,
    config_text,
    ministry_feed,
    open_console,
    poll_all,
    seed_release,
    write_config,
)
from tests.support.http_server import Response


@pytest.fixture
async def big(tmp_path: Path, db_url: str, bench: Bench) -> Config:
    """The bench's archive with 130 more ministry bulletins."""
    bench.server.route(
        "/ministry.xml",
        Response(200, ministry_feed(items=130), {"content-type": "application/rss+xml"}),
    )
    config = load_config(write_config(tmp_path, config_text(db_url, bench.server)))
    await poll_all(config)
    return config


async def _all_pages(config: Config, filters: ReleaseFilter, size: int) -> list[list[int]]:
    engine = await open_store(config.database)
    try:
        pages, cursor = [], None
        while True:
            page = await archive.release_page(engine, config, filters, cursor=cursor, limit=size)
            pages.append([r.id for r in page.items])
            if page.next is None:
                return pages
            cursor = page.next
    finally:
        await engine.dispose()


async def test_pages_cover_the_archive_once_newest_first(big: Config) -> None:
    pages = await _all_pages(big, ReleaseFilter(), 25)
    shown = [i for page in pages for i in page]
    assert len(shown) == len(set(shown))  # nothing twice
    assert all(len(page) == 25 for page in pages[:-1])
    engine = await open_store(big.database)
    try:
        async with engine.connect() as connection:
            import sqlalchemy as sa

            rows = (
                await connection.execute(
                    sa.text(
                        "SELECT id, story_id FROM releases ORDER BY first_seen_at DESC, id DESC"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    first_of_story: dict[object, int] = {}
    for release_id, story in rows:
        if story is not None:
            first_of_story[story] = min(first_of_story.get(story, release_id), release_id)
    expected = [i for i, story in rows if story is None or first_of_story[story] == i]
    assert shown == expected  # every story once, at its first release, in keyset order
    assert len(rows) == len(expected) + 1  # the agency's copy is the only one folded in
    one_source = await _all_pages(big, ReleaseFilter(source="qna"), 10)
    assert len([i for page in one_source for i in page]) == 1  # the copy, alone in its source


async def test_search_marks_hits_and_groups_copies(console: Console) -> None:
    title, _ = seed_release()
    config = console.config
    found = await archive.release_page(console.engine, config, ReleaseFilter(q="الناتو"))
    (card,) = found.items  # the story once, at whichever copy was stored first
    assert card.title.startswith(title)
    assert {card.source, *(c.source for c in card.copies)} == {"mofa-ar", "qna"}
    assert any(s.mark and "الناتو" in s.text for s in card.title_marks)
    assert any(s.mark for s in card.snippet)
    assert "".join(s.text for s in card.title_marks) == card.title  # nothing lost
    # each copy alone, when its source is asked for
    for source in ("qna", "mofa-ar"):
        one = await archive.release_page(
            console.engine, config, ReleaseFilter(q="الناتو", source=source)
        )
        assert [c.source for c in one.items] == [source]
    none = await archive.release_page(
        console.engine, config, ReleaseFilter(q="الناتو", language="en")
    )
    assert none.items == []


async def test_release_page_marks_matches_in_the_text(console: Console) -> None:
    found = await archive.release_page(console.engine, console.config, ReleaseFilter(q="الناتو"))
    detail = await archive.release_detail(console.engine, console.config, found.items[0].id)
    assert detail is not None
    assert [m.rule for m in detail.matches] == ["nato"]
    marked = [s.text for s in detail.marked["summary"] + detail.marked["content"] if s.mark]
    assert marked and all(("ناتو" in t or "حلف" in t) for t in marked)
    assert "".join(s.text for s in detail.marked["summary"]) == detail.summary
    assert {detail.source, *(c.source for c in detail.copies)} == {"mofa-ar", "qna"}
    assert [(a.rule, a.channel, a.status) for a in detail.alerts] == [("nato", "hook", "failed")]


async def test_alerts_listing_and_detail(console: Console) -> None:
    page = await reads.alert_page(console.engine, status="failed", limit=2)
    assert len(page.items) == 2 and page.next is not None
    rest = await reads.alert_page(console.engine, status="failed", cursor=page.next, limit=50)
    ids = [a.id for a in page.items + rest.items]
    assert len(ids) == len(set(ids)) == 5  # the seed's story and four wire items
    detail = await reads.alert_detail(console.engine, console.config, ids[0])
    assert detail is not None and detail.payload["type"] == "release.matched"
    assert detail.payload["id"] == ids[0] and detail.payload["rule"]["id"] == "nato"


async def test_api_pages_and_retry(console: Console, bench: Bench) -> None:
    token = await tokens.create_token(console.engine, "ci", "editor", actor="test")
    auth = {"Authorization": f"Bearer {token}"}
    async with console.client() as client:
        first = (await client.get("/api/v1/releases", params={"limit": 2}, headers=auth)).json()
        second = (
            await client.get(
                "/api/v1/releases", params={"limit": 2, "cursor": first["next"]}, headers=auth
            )
        ).json()
        assert set(first["items"][0]) >= {
            "id",
            "source",
            "title",
            "url",
            "published_at",
            "story",
            "language",
        }
        assert not {r["id"] for r in first["items"]} & {r["id"] for r in second["items"]}
        assert first["items"][0]["published_at"].endswith("+00:00")
        failed = (
            await client.get("/api/v1/alerts", params={"status": "failed"}, headers=auth)
        ).json()
        alert = failed["items"][0]["id"]
        bench.hook_ok = True
        retried = await client.post(f"/api/v1/alerts/{alert}/retry", headers=auth)
        assert retried.status_code == 200 and retried.json()["status"] == "failed"
        again = await client.post(f"/api/v1/alerts/{alert}/retry", headers=auth)
        assert again.status_code == 200  # still failed (due now) until delivery runs
        sources = (await client.get("/api/v1/sources", headers=auth)).json()["items"]
        assert {s["id"]: s["origin"] for s in sources}["mofa-ar"] == "file"
        assert all("@" not in (s["url"] or "") for s in sources)
        rules = (await client.get("/api/v1/rules", headers=auth)).json()["items"]
        assert rules[0] == {
            "id": "nato",
            "name": "NATO",
            "query": 'NATO OR الناتو OR "حلف شمال الأطلسي"',
            "channels": ["hook"],
            "sources": [],
            "languages": [],
            "origin": "file",
            "muted_until": None,
            "version": None,  # a console rule's only
            "notice": None,
        }
    # delivery (as the daemon runs it) sends the retried alert; a sent one is a 409
    from monitor.runtime import Runtime

    runtime = await Runtime.start(console.config)
    try:
        await runtime.deliverer.deliver_all()
    finally:
        await runtime.close()
    assert [r for r in bench.hook_requests() if r.headers.get("webhook-id") == alert]
    async with console.client() as client:
        sent = await client.post(f"/api/v1/alerts/{alert}/retry", headers=auth)
        assert sent.status_code == 409 and "sent" in sent.json()["error"]["message"]
    assert isinstance(httpx, object) and callable(open_console) and callable(close_console)
