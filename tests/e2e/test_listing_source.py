"""A feedless ministry: its listing page read with CSS selectors, each new release's own
page fetched for its full text, so a rule that only the body satisfies still alerts."""

from __future__ import annotations

import base64
import os
import textwrap
from collections.abc import Callable
from html import escape
from pathlib import Path

import sqlalchemy as sa

from monitor.config.load import load_config
from monitor.poll_driver import poll_once
from monitor.store.session import open_store
from tests.support.feeds import seed
from tests.support.http_server import LoopbackServer, Request, Response

TEMPLATE = Path(__file__).resolve().parents[1] / "listing" / "pages" / "article-template.html"
HTML = {"Content-Type": "text/html; charset=utf-8"}


def listing(items: list[tuple[str, str, str]]) -> bytes:
    rows = "\n".join(
        f'<div class="news-item"><h3><a href="{href}">{escape(title)}</a></h3><span class="date">{date}</span></div>'
        for title, href, date in items
    )
    page = f'<html lang="ar"><head><meta charset="utf-8"><title>الأخبار</title></head><body><nav><a href="/ar/">الرئيسية</a></nav>{rows}</body></html>'
    return page.encode("utf-8")


def article(title: str, body: str) -> bytes:
    paragraphs = "\n".join(f"<p>{escape(p)}</p>" for p in body.split("\n\n"))
    html = TEMPLATE.read_text(encoding="utf-8").replace("{{", "{").replace("}}", "}")
    return (
        html.replace("{charset}", "utf-8")
        .replace("{title}", escape(title))
        .replace("{paragraphs}", paragraphs)
        .encode("utf-8")
    )


async def test_listing_page_with_full_text(
    tmp_path: Path, sqlite_url: str, http_server: LoopbackServer
) -> None:
    title, body = seed()
    old = [
        ("وزير الخارجية يستقبل سفير اليابان", "news/japan", "01/02/2019"),
        ("بلا رابط", "", "02/02/2019"),
    ]
    http_server.route("/ar/latest-news", Response(body=listing(old), headers=HTML))
    http_server.route(
        "/ar/news/japan",
        Response(body=article("سفير اليابان", "استقبل الوزير سفير اليابان."), headers=HTML),
    )
    path = tmp_path / "monitor.yaml"
    path.write_text(
        textwrap.dedent(f"""
        database: {sqlite_url}
        timezone: Asia/Qatar
        sources:
          - id: mofa-list
            url: {http_server.url("/ar/latest-news")}
            type: html
            full_text: true
            select: {{item: "div.news-item", title: "h3", link: "h3 a@href", date: "span.date"}}
        rules:
          - id: cyber
            query: '"الدفاع السيبراني"'
            channels: [console]
        channels:
          - id: console
            type: log
        """),
        encoding="utf-8",
    )
    config = load_config(path, environ_database=False)

    (baseline,) = (await poll_once(config, ["mofa-list"], False, None)).outcomes
    assert baseline.ok and baseline.new == 1
    assert baseline.warning and "skipped" in baseline.warning  # the item without a link

    http_server.route(
        "/ar/latest-news",
        Response(body=listing([(title, "news/nato", "13/03/2019"), *old]), headers=HTML),
    )
    http_server.route("/ar/news/nato", Response(body=article(title, body), headers=HTML))
    run = await poll_once(config, ["mofa-list"], False, None)
    (second,) = run.outcomes
    assert second.ok and second.new == 1 and run.matched.matches == 1 and run.matched.alerts == 1

    engine = await open_store(sqlite_url)
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.text("SELECT url, content, published_at FROM releases WHERE title = :t"),
                    {"t": title},
                )
            ).one()
            skipped = (
                await conn.execute(sa.text("SELECT items_skipped FROM sources"))
            ).scalar_one()
    finally:
        await engine.dispose()
    assert row.url == http_server.url("/ar/news/nato")  # resolved against the page
    assert "الدفاع السيبراني" in row.content and "جميع الحقوق محفوظة" not in row.content
    assert str(row.published_at).startswith("2019-03-12 21:00")  # 13/03/2019 in Asia/Qatar
    assert skipped == 1
    assert len(http_server.requests_to("/ar/news/nato")) == 1
    assert len(http_server.requests_to("/ar/news/japan")) == 1  # each page fetched once


async def test_summary_only_feed_with_full_text(
    tmp_path: Path, sqlite_url: str, http_server: LoopbackServer
) -> None:
    from datetime import UTC, datetime

    from tests.support.feeds import Item, rss

    title, body = seed()
    teaser = body.split("\n\n")[0][:120]
    item = Item("nato", title, teaser, http_server.url("/ar/news/nato"), datetime.now(UTC))
    http_server.route("/feed.xml", Response(body=rss([item])))
    http_server.route("/ar/news/nato", Response(body=article(title, body), headers=HTML))
    path = tmp_path / "monitor.yaml"
    path.write_text(
        textwrap.dedent(f"""
        database: {sqlite_url}
        sources:
          - id: mofa
            url: {http_server.url("/feed.xml")}
            full_text: true
        rules:
          - id: cyber
            query: '"الدفاع السيبراني"'
            channels: [console]
        channels:
          - id: console
            type: log
        """),
        encoding="utf-8",
    )
    config = load_config(path, environ_database=False)
    assert "الدفاع السيبراني" not in teaser
    run = await poll_once(config, ["mofa"], False, None)
    (outcome,) = run.outcomes
    assert outcome.ok and run.matched.alerts == 1  # matched in the page, not the teaser
    other = Item(
        "japan",
        "سفير اليابان",
        "استقبل الوزير سفير اليابان.",
        http_server.url("/ar/news/japan"),
        datetime.now(UTC),
    )
    http_server.route("/feed.xml", Response(body=rss([other, item])))
    http_server.route(
        "/ar/news/japan",
        Response(body=article("سفير اليابان", "استقبل الوزير سفير اليابان."), headers=HTML),
    )
    (again,) = (await poll_once(config, ["mofa"], False, None)).outcomes
    # the feed still carries only the teaser of the first: that is not a revision of it
    assert again.new == 1 and again.revised == 0
    assert len(http_server.requests_to("/ar/news/nato")) == 1


async def test_credentials_in_the_source_url_stay_out_of_release_links_and_alerts(
    tmp_path: Path, sqlite_url: str, http_server: LoopbackServer
) -> None:
    """A listing behind basic auth (``http://user:secret@host/…``): its relative links
    resolved against that URL used to keep the userinfo, so the secret went into the
    archive, every page showing the link and every alert. Links are stored without it;
    the article itself is still fetched with the source's credentials."""
    title, body = seed()
    basic = "Basic " + base64.b64encode(b"desk:s3cret-pw").decode()

    def guarded(page: bytes) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            if request.headers.get("Authorization") != basic:
                return Response(401, b"who?", {"WWW-Authenticate": 'Basic realm="mofa"'})
            return Response(body=page, headers=HTML)

        return handler

    http_server.route("/ar/latest-news", guarded(listing([(title, "news/nato", "13/03/2019")])))
    http_server.route("/ar/news/nato", guarded(article(title, body)))
    http_server.route("/hook", Response(204))
    source_url = http_server.url("/ar/latest-news").replace("//", "//desk:${MOFA_PW}@", 1)
    path = tmp_path / "monitor.yaml"
    path.write_text(
        textwrap.dedent(f"""
        database: {sqlite_url}
        defaults: {{backfill: 36500d}}
        sources:
          - id: mofa-list
            url: "{source_url}"
            type: html
            full_text: true
            select: {{item: "div.news-item", title: "h3", link: "h3 a@href", date: "span.date"}}
        rules:
          - id: cyber
            query: '"الدفاع السيبراني"'
            channels: [soc]
        channels:
          - id: soc
            type: webhook
            url: {http_server.url("/hook")}
        """),
        encoding="utf-8",
    )
    os.environ["MOFA_PW"] = "s3cret-pw"
    try:
        config = load_config(path, environ_database=False)
    finally:
        del os.environ["MOFA_PW"]

    (polled,) = (await poll_once(config, ["mofa-list"], False, None)).outcomes

    assert polled.ok and polled.new == 1, polled
    [hook] = http_server.requests_to("/hook")
    assert "s3cret-pw" not in hook.body.decode() and "desk" not in hook.body.decode()
    engine = await open_store(sqlite_url)
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(sa.text("SELECT url, content FROM releases"))).one()
    finally:
        await engine.dispose()
    assert row.url == http_server.url("/ar/news/nato")
    assert "الدفاع السيبراني" in row.content  # the article was fetched with the credentials
