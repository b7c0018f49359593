"""Sources from the browser, saved (issue 20): ``/sources/new`` → Save makes a console
source; ``/sources/{id}/edit`` changes it with its version (a stale one is refused, nothing
lost); ``/sources/{id}/delete`` removes it, its releases kept; file sources are read-only
with the reason. In process, on SQLite and PostgreSQL, against a loopback ministry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from monitor.config.load import load_config
from monitor.store import items as store_items
from tests.console.conftest import Console, add_user, close_console, open_console, sign_in
from tests.discover.test_discover import HTML, MINISTRY, RSS, _items
from tests.support.feeds import rss
from tests.support.http_server import LoopbackServer, Response


@pytest.fixture
async def console(
    tmp_path: Path, db_url: str, http_server: LoopbackServer
) -> AsyncIterator[Console]:
    http_server.route("/ar/latest-news", Response(body=MINISTRY.read_bytes(), headers=HTML))
    http_server.route("/ar/rss", Response(body=rss(_items(3)), headers=RSS))
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f'database: "{db_url}"\ntimezone: Asia/Qatar\n'
        f"sources: [{{id: mofa-file, url: '{http_server.url('/ar/rss')}'}}]\n"
        "rules: [{id: nato, query: NATO, channels: [log]}]\n"
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


async def test_preview_save_edit_delete(console: Console, http_server: LoopbackServer) -> None:
    url = http_server.url("/ar/latest-news")
    async with console.client() as client:
        csrf = await sign_in(client, "eve")
        previewed = await client.post("/sources/new", data={"csrf": csrf, "url": url})
        assert 'id="source-id"' in previewed.text
        assert 'value="127-0-0-1' in previewed.text  # an id suggested from the URL
        form = {
            "csrf": csrf,
            "url": url,
            "type": "html",
            "item": "div.news-item",
            "title": "h3",
            "link": "a@href",
            "date": "span.date",
            "id": "mofa-news",
            "name": "أخبار الوزارة",
            "action": "save",
        }
        saved = await client.post("/sources/new", data=form)
        assert saved.status_code == 303 and saved.headers["location"] == "/sources/mofa-news"
        shown = await client.get("/sources/mofa-news")
        assert shown.status_code == 200
        assert "made in the console · version 1, changed by <bdi>eve</bdi>" in shown.text
        assert 'href="/sources/mofa-news/edit"' in shown.text
        listed = await client.get("/sources")
        assert (
            "1 from the configuration file (read-only here), 1 made in the console" in listed.text
        )

        stored = await store_items.get_item(console.engine, "source", "mofa-news")
        assert stored is not None and stored.body == {
            "id": "mofa-news",
            "url": url,
            "type": "html",
            "name": "أخبار الوزارة",
            "select": {
                "item": "div.news-item",
                "title": "h3",
                "link": "a@href",
                "date": "span.date",
            },
        }

        editing = await client.get("/sources/mofa-news/edit")
        assert 'name="version" value="1"' in editing.text and 'value="span.date"' in editing.text
        changed = {**form, "title": "p", "version": "1"}
        del changed["id"]
        again = await client.post("/sources/mofa-news/edit", data=changed)
        assert again.status_code == 303
        stale = await client.post("/sources/mofa-news/edit", data={**changed, "title": "h3"})
        assert stale.status_code == 409
        assert "was changed by eve" in stale.text and "version 2, yours 1" in stale.text
        after = await store_items.get_item(console.engine, "source", "mofa-news")
        assert after is not None and after.version == 2 and after.body["select"]["title"] == "p"

        gone = await client.post("/sources/mofa-news/delete", data={"csrf": csrf, "version": "2"})
        assert gone.status_code == 303 and gone.headers["location"] == "/sources?deleted=mofa-news"
        listed = await client.get(gone.headers["location"])
        assert 'Source <span class="mono">mofa-news</span> deleted' in listed.text
        assert 'href="/sources/mofa-news"' not in listed.text
        assert await store_items.get_item(console.engine, "source", "mofa-news") is None


async def test_saving_refuses_bad_input_at_its_field(
    console: Console, http_server: LoopbackServer
) -> None:
    base = {"url": http_server.url("/ar/rss"), "type": "feed", "action": "save"}
    async with console.client() as client:
        csrf = await sign_in(client, "eve")
        bad_id = await client.post("/sources/new", data={**base, "csrf": csrf, "id": "Bad Id"})
        assert bad_id.status_code == 422
        assert 'id="source-id-error"' in bad_id.text
        taken = await client.post("/sources/new", data={**base, "csrf": csrf, "id": "mofa-file"})
        assert taken.status_code == 409
        assert "provisioned in the config file" in taken.text
        unsure = await client.post(
            "/sources/new", data={**base, "csrf": csrf, "id": "x", "type": "auto"}
        )
        assert unsure.status_code == 422 and "preview first" in unsure.text
        # htmx: a save answers with where to go
        made = await client.post(
            "/sources/new",
            data={**base, "csrf": csrf, "id": "mofa-rss"},
            headers={"HX-Request": "true"},
        )
        assert made.headers["HX-Redirect"] == "/sources/mofa-rss"


async def test_file_sources_are_read_only_and_viewers_cannot_write(console: Console) -> None:
    async with console.client() as client:
        csrf = await sign_in(client, "eve")
        page = await client.get("/sources/mofa-file")
        assert "provisioned: read-only here; change it in the file" in page.text
        assert "/sources/mofa-file/edit" not in page.text
        edit = await client.get("/sources/mofa-file/edit")
        assert edit.status_code == 409 and "change it in the file" in edit.text
        delete = await client.post("/sources/mofa-file/delete", data={"csrf": csrf})
        assert delete.status_code == 409
    async with console.client() as client:
        csrf = await sign_in(client, "vic")
        refused = await client.post(
            "/sources/new", data={"csrf": csrf, "url": "http://x.example/", "action": "save"}
        )
        assert refused.status_code == 403
