"""``discover`` and ``preview`` against real loopback sites, through the real fetch layer:
a site advertising its feeds, a site with only /feed, a feedless Arabic listing page, and
broken or hostile pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.discover.probe import Reach, discover, preview
from monitor.egress import DIRECT
from monitor.errors import FetchHTTPError
from monitor.fetch import Fetcher, FetchLimits
from monitor.http_client import Clients
from monitor.parse.listing import ListingSelectors
from tests.support.feeds import Item, rss
from tests.support.http_server import LoopbackServer, Response

MINISTRY = Path(__file__).parents[1] / "listing" / "pages" / "ministry-news.html"
PAGES = Path(__file__).parent / "pages"
HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS = {"Content-Type": "application/rss+xml"}
REACH = Reach("monitor-test", FetchLimits(deadline=5.0), DIRECT, ZoneInfo("Asia/Qatar"))
ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>NATO newsroom</title><id>urn:x</id>
<updated>2019-03-13T10:00:00Z</updated>
<entry><title>Secretary General meets Qatari minister</title><id>urn:1</id>
<link href="https://nato.example/news/1"/><updated>2019-03-13T10:00:00Z</updated></entry>
</feed>"""


def _items(count: int) -> list[Item]:
    return [
        Item(
            f"g{i}",
            f"خبر رقم {i} من الوزارة",
            "نص",
            f"https://mofa.example/ar/news/{i}",
            datetime(2019, 3, 10 + i, 9, tzinfo=UTC),
        )
        for i in range(count)
    ]


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    clients = Clients()
    yield Fetcher(clients)
    await clients.aclose()


async def test_a_site_advertising_its_feeds(http_server: LoopbackServer, fetcher: Fetcher) -> None:
    page = (
        b"<html><head><title>MOFA</title>"
        b'<link rel="alternate" type="application/rss+xml" title="Arabic news" href="/ar/rss">'
        b'<link rel="alternate" type="application/atom+xml" href="http://127.0.0.1:%d/atom">'
        b'<link rel="alternate" type="application/rss+xml" href="/gone.xml">'
        b'<link rel="stylesheet" href="/site.css"></head><body></body></html>'
    ) % http_server.port
    http_server.route("/", Response(body=page, headers=HTML))
    http_server.route("/ar/rss", Response(body=rss(_items(3), title="أخبار الوزارة"), headers=RSS))
    http_server.route(
        "/atom", Response(body=ATOM, headers={"Content-Type": "application/atom+xml"})
    )

    found = await discover(fetcher, http_server.url("/"), REACH)

    assert [(f.url, f.title, f.kind, f.count, f.advertised) for f in found.feeds] == [
        (http_server.url("/ar/rss"), "أخبار الوزارة", "rss20", 3, True),
        (http_server.url("/atom"), "NATO newsroom", "atom10", 1, True),
    ]
    assert found.feeds[0].items[0].url == "https://mofa.example/ar/news/0"
    assert found.feeds[0].items[0].published_at == datetime(2019, 3, 10, 9, tzinfo=UTC)
    assert found.suggestions == ()
    assert found.warnings == (
        f"advertised feed {http_server.url('/gone.xml')}: HTTP 404 Not Found",
    )


async def test_a_site_with_only_a_feed_at_a_usual_path(
    http_server: LoopbackServer, fetcher: Fetcher
) -> None:
    http_server.route("/ar/latest-news", Response(body=MINISTRY.read_bytes(), headers=HTML))
    http_server.route("/feed", Response(body=rss(_items(2)), headers=RSS))
    # a soft 404: an HTML page with status 200 at a usual path is not a feed
    http_server.route("/rss", Response(body=b"<html><body>Page not found</body></html>"))

    found = await discover(fetcher, http_server.url("/ar/latest-news"), REACH)

    assert [(f.url, f.count, f.advertised) for f in found.feeds] == [
        (http_server.url("/feed"), 2, False)
    ]
    assert found.warnings == ()
    # only the usual paths were tried, each once
    assert len(http_server.requests_to("/feed")) == 1
    assert http_server.requests_to("/ar/rss.xml")


async def test_a_feedless_arabic_listing_gets_selectors_and_their_items(
    http_server: LoopbackServer, fetcher: Fetcher
) -> None:
    http_server.route("/ar/latest-news", Response(body=MINISTRY.read_bytes(), headers=HTML))

    found = await discover(fetcher, http_server.url("/ar/latest-news"), REACH)

    assert found.feeds == ()
    best = found.suggestions[0]
    assert best.select == {
        "item": "div.news-item",
        "title": "h3",
        "link": "a@href",
        "date": "span.date",
    }
    assert best.count == 4
    assert best.items[1].title.startswith("نائب رئيس مجلس الوزراء وزير الخارجية")
    assert best.items[1].url == http_server.url("/ar/news/2019/03/13/nato")
    assert best.items[1].published_at == datetime(2019, 3, 12, 21, tzinfo=UTC)
    assert any("1 of 5 items skipped" in w for w in best.warnings)


async def test_probes_that_never_answer_cost_one_deadline_in_all(
    http_server: LoopbackServer, fetcher: Fetcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.discover import probe

    monkeypatch.setattr(probe, "PROBES_DEADLINE", 2.0)
    page = b'<html><head><link rel="alternate" type="application/rss+xml" href="/slow"></head>'
    http_server.route("/", Response(body=page, headers=HTML))
    http_server.route("/slow", Response(hang=True))
    http_server.route("/feed", Response(body=rss(_items(1)), headers=RSS))

    found = await discover(fetcher, http_server.url("/"), REACH)  # REACH's deadline: 5 s

    assert found.warnings == (f"advertised feed {http_server.url('/slow')}: no answer within 2 s",)
    assert [f.url for f in found.feeds] == [http_server.url("/feed")]


async def test_a_feed_url_is_its_own_discovery(
    http_server: LoopbackServer, fetcher: Fetcher
) -> None:
    http_server.route("/rss.xml", Response(body=rss(_items(4)), headers=RSS))
    found = await discover(fetcher, http_server.url("/rss.xml"), REACH)
    assert [(f.url, f.count) for f in found.feeds] == [(http_server.url("/rss.xml"), 4)]
    assert len(http_server.requests) == 1  # no usual path tried


@pytest.mark.parametrize(
    ("body", "warning"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, "no repeated blocks of links found"),
        (
            b"<html><body>" + b"<div>" * 5000 + b"text" + b"</div>" * 5000,
            "no repeated blocks of links found",
        ),
        (
            b"<html><body><ul>" + b"<li><a href='/n'>A title of several words</a></li>" * 120_000,
            "page too large to suggest selectors (more than 200,000 elements)",
        ),
    ],
    ids=["binary", "deep", "huge"],
)
async def test_broken_and_hostile_pages_say_so_in_one_line(
    http_server: LoopbackServer, fetcher: Fetcher, body: bytes, warning: str
) -> None:
    http_server.route("/page", Response(body=body, headers=HTML))
    found = await discover(fetcher, http_server.url("/page"), REACH)
    assert found.feeds == () and found.suggestions == ()
    assert warning in found.warnings[-1] and "\n" not in found.warnings[-1]


async def test_an_unreachable_page_raises_its_fetch_error(
    http_server: LoopbackServer, fetcher: Fetcher
) -> None:
    http_server.route("/down", Response(503, b"busy"))
    with pytest.raises(FetchHTTPError, match="HTTP 503"):
        await discover(fetcher, http_server.url("/down"), REACH)


async def test_preview_of_a_page_with_adjusted_selectors(
    http_server: LoopbackServer, fetcher: Fetcher
) -> None:
    http_server.route("/ar/latest-news", Response(body=MINISTRY.read_bytes(), headers=HTML))
    url = http_server.url("/ar/latest-news")

    suggested = await preview(fetcher, url, "html", None, REACH)
    assert suggested.suggested_select is not None and suggested.count == 4

    adjusted = ListingSelectors(item="div.news-item", title="p", link="h3 a@href")
    picked = await preview(fetcher, url, "html", adjusted, REACH)
    assert picked.suggested_select is None
    assert (
        picked.items[0].title
        == "التقى سعادة وزير الدولة للشؤون الخارجية اليوم المنسق المقيم للأمم المتحدة."
    )
    assert picked.items[0].published_at is None

    nothing = await preview(fetcher, url, "html", ListingSelectors("li.none", "a", "a@href"), REACH)
    assert nothing.items == () and nothing.suggested_select == suggested.suggested_select
    assert "item selector 'li.none' matched nothing" in nothing.warnings

    with pytest.raises(ValueError, match=r"select\.link: invalid CSS selector"):
        await preview(fetcher, url, "html", ListingSelectors("div", "h3", "a[@href"), REACH)


async def test_preview_of_a_feed_and_of_a_page_called_a_feed(
    http_server: LoopbackServer, fetcher: Fetcher
) -> None:
    http_server.route("/rss", Response(body=rss(_items(2)), headers=RSS))
    http_server.route("/page", Response(body=MINISTRY.read_bytes(), headers=HTML))
    feed = await preview(fetcher, http_server.url("/rss"), "feed", None, REACH)
    assert [i.title for i in feed.items] == ["خبر رقم 0 من الوزارة", "خبر رقم 1 من الوزارة"]
    page = await preview(fetcher, http_server.url("/page"), "feed", None, REACH)
    assert page.items == () and page.warnings[0].startswith("not a feed")


async def test_discovery_goes_the_way_the_config_says(
    http_server: LoopbackServer, fetcher: Fetcher, tmp_path: Path
) -> None:
    from monitor.config.load import load_config
    from tests.support.forward_proxy import ForwardProxy

    proxy = ForwardProxy().start()
    try:
        path = tmp_path / "monitor.yaml"
        path.write_text(
            "timezone: Asia/Riyadh\n"
            f"defaults: {{proxy: '{proxy.url}', timeout: 7s, user_agent: desk-probe/1}}\n"
            "channels: [{id: log, type: log}]\n",
            encoding="utf-8",
        )
        reach = Reach.of(load_config(path), http_server.url("/ar/latest-news"))
        assert reach.limits.deadline == 7.0 and reach.zone == ZoneInfo("Asia/Riyadh")
        http_server.route("/ar/latest-news", Response(body=MINISTRY.read_bytes(), headers=HTML))

        found = await discover(fetcher, http_server.url("/ar/latest-news"), reach)

        assert found.suggestions[0].count == 4
        assert f"GET {http_server.url('/ar/latest-news')}" in proxy.seen
        assert f"GET {http_server.url('/feed')}" in proxy.seen  # the probes too
        agents = {r.headers.get("User-Agent") for r in http_server.requests}
        assert agents == {"desk-probe/1"}
    finally:
        proxy.stop()
