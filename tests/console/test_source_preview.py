"""``POST /api/v1/sources/preview`` and the ``/sources/new`` form (editor), in process
against a loopback ministry: a feed's items, a page's suggested selectors and adjusted
ones, the 422s naming their field, viewers refused, nothing stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from monitor.config.load import load_config
from monitor.store import tokens
from tests.console.conftest import Console, add_user, close_console, open_console, sign_in
from tests.discover.test_discover import HTML, MINISTRY, RSS, _items
from tests.support.feeds import rss
from tests.support.http_server import LoopbackServer, Response


@pytest.fixture
async def console(
    tmp_path: Path, sqlite_url: str, http_server: LoopbackServer
) -> AsyncIterator[Console]:
    http_server.route("/ar/latest-news", Response(body=MINISTRY.read_bytes(), headers=HTML))
    http_server.route("/ar/rss", Response(body=rss(_items(3)), headers=RSS))
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f'database: "{sqlite_url}"\ntimezone: Asia/Qatar\n'
        "channels: [{id: log, type: log}]\nconsole: {listen: '127.0.0.1:8080'}\n",
        encoding="utf-8",
    )
    found = await open_console(load_config(path))
    for name, role in (("eve", "editor"), ("vic", "viewer")):
        await add_user(found.engine, name, role)
    try:
        yield found
    finally:
        await close_console(found)


async def _bearer(console: Console, role: str) -> dict[str, str]:
    token = await tokens.create_token(console.engine, f"t-{role}", role, actor="test")
    return {"Authorization": f"Bearer {token}"}


async def test_api_previews_a_feed_and_a_page(
    console: Console, http_server: LoopbackServer
) -> None:
    headers = await _bearer(console, "editor")
    async with console.client() as client:
        feed = await client.post(
            "/api/v1/sources/preview",
            json={"url": http_server.url("/ar/rss"), "type": "feed"},
            headers=headers,
        )
        assert feed.status_code == 200, feed.text
        assert feed.json()["items"][0] == {
            "title": "خبر رقم 0 من الوزارة",
            "url": "https://mofa.example/ar/news/0",
            "published_at": "2019-03-10T09:00:00Z",
        }
        assert feed.json()["suggested_select"] is None

        page = await client.post(
            "/api/v1/sources/preview",
            json={"url": http_server.url("/ar/latest-news"), "type": "html"},
            headers=headers,
        )
        body = page.json()
        assert body["suggested_select"] == {
            "item": "div.news-item",
            "title": "h3",
            "link": "a@href",
            "date": "span.date",
            "summary": None,
            "content": None,
        }
        assert len(body["items"]) == 4
        assert "1 of 5 items skipped: no title or no link" in body["warnings"]

        adjusted = await client.post(
            "/api/v1/sources/preview",
            json={
                "url": http_server.url("/ar/latest-news"),
                "type": "html",
                "select": {"item": "div.news-item", "title": "p", "link": "h3 a@href"},
            },
            headers=headers,
        )
        assert adjusted.json()["items"][0]["title"].startswith("التقى سعادة وزير الدولة")
        assert adjusted.json()["suggested_select"] is None

        down = await client.post(
            "/api/v1/sources/preview", json={"url": http_server.url("/gone")}, headers=headers
        )
        assert down.status_code == 200
        assert down.json() == {
            "items": [],
            "suggested_select": None,
            "warnings": [f"cannot fetch {http_server.url('/gone')}: HTTP 404 Not Found"],
        }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://mofa.example/news", "type": "html"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "https://mofa.example/", "type": "podcast"}, "type"),
        (
            {
                "url": "https://mofa.example/",
                "type": "html",
                "select": {"item": "div", "title": "h3", "link": "a[@href"},
            },
            "select.link",
        ),
        (
            {
                "url": "https://mofa.example/",
                "type": "html",
                "select": {"item": "div@class", "title": "h3", "link": "a@href"},
            },
            "select.item",
        ),
    ],
    ids=["scheme", "not-a-url", "type", "link-selector", "item-attribute"],
)
async def test_api_refuses_invalid_input_naming_the_field(
    console: Console, body: dict[str, object], field: str
) -> None:
    headers = await _bearer(console, "editor")
    async with console.client() as client:
        answer = await client.post("/api/v1/sources/preview", json=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == field


async def test_a_page_that_advertises_a_feed_offers_it(
    console: Console, http_server: LoopbackServer
) -> None:
    advertised = MINISTRY.read_bytes().replace(
        b"</head>",
        b'<link rel="alternate" type="application/rss+xml" title="RSS" href="/ar/rss">\n</head>',
    )
    http_server.route("/ar/with-feed", Response(body=advertised, headers=HTML))
    url = http_server.url("/ar/with-feed")
    headers = await _bearer(console, "editor")
    async with console.client() as client:
        answer = await client.post(
            "/api/v1/sources/preview", json={"url": url, "type": "html"}, headers=headers
        )
        assert answer.json()["warnings"][0] == (
            f"the page advertises feeds ({http_server.url('/ar/rss')}): a feed is more reliable"
        )
        assert len(answer.json()["items"]) == 4  # the page is still read as asked
        csrf = await sign_in(client, "eve")
        page = await client.post("/sources/new", data={"csrf": csrf, "url": url, "type": "auto"})
        assert "Preview this feed" in page.text
        assert f'name="url" value="{http_server.url("/ar/rss")}"' in page.text
        feed = await client.post(
            "/sources/new", data={"csrf": csrf, "url": http_server.url("/ar/rss"), "type": "feed"}
        )
        assert "The feed's items: 3" in feed.text


async def test_hostile_titles_are_shown_as_text(
    console: Console, http_server: LoopbackServer
) -> None:
    row = (
        "<li><a href='/n/{0}'>&lt;script&gt;alert({0})&lt;/script&gt; بيان رقم {0}</a>"
        "<img src=x onerror=alert(1)></li>"
    )
    body = "<html><body><ul class='news'>" + "".join(row.format(i) for i in range(4))
    http_server.route("/hostile", Response(body=body.encode(), headers=HTML))
    async with console.client() as client:
        csrf = await sign_in(client, "eve")
        page = await client.post(
            "/sources/new", data={"csrf": csrf, "url": http_server.url("/hostile")}
        )
    assert "Items the selectors pick: 4" in page.text
    assert "&lt;script&gt;alert(0)&lt;/script&gt; بيان رقم 0" in page.text
    assert "<script>alert" not in page.text and "onerror" not in page.text


async def test_viewers_cannot_preview(console: Console, http_server: LoopbackServer) -> None:
    headers = await _bearer(console, "viewer")
    async with console.client() as client:
        answer = await client.post(
            "/api/v1/sources/preview", json={"url": http_server.url("/ar/rss")}, headers=headers
        )
        assert answer.status_code == 403
        await sign_in(client, "vic")
        assert (await client.get("/sources/new")).status_code == 403
        assert "Preview a new source" not in (await client.get("/sources")).text
    assert not http_server.requests_to("/ar/rss")  # refused before anything was fetched


async def test_the_form_works_without_javascript(
    console: Console, http_server: LoopbackServer
) -> None:
    async with console.client() as client:
        csrf = await sign_in(client, "eve")
        assert "Preview a new source" in (await client.get("/sources")).text
        empty = await client.get("/sources/new")
        assert empty.status_code == 200 and "<h1>New source</h1>" in empty.text
        url = http_server.url("/ar/latest-news")
        form = {"csrf": csrf, "url": url, "type": "auto"}
        suggested = await client.post("/sources/new", data=form)
        assert suggested.status_code == 200
        assert 'value="div.news-item"' in suggested.text
        assert "Items the selectors pick: 4" in suggested.text
        assert "نائب رئيس مجلس الوزراء وزير الخارجية" in suggested.text

        partial = await client.post("/sources/new", data={**form, "type": "html", "item": "li"})
        assert partial.status_code == 422
        assert 'id="select-title-error"' in partial.text

        fragment = await client.post(
            "/sources/new",
            data={**form, "type": "html", "item": "div.news-item", "title": "p", "link": "a@href"},
            headers={"HX-Request": "true"},
        )
        assert fragment.text.startswith('<div id="source-preview">')
        assert "التقى سعادة وزير الدولة للشؤون الخارجية" in fragment.text
