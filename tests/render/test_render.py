"""``render: browser`` against Debian's chromium: a list built by a script after a delay is
extracted; hostile pages are bounded by the deadline and reported on their source while the
other sources poll as usual; a killed browser is started again; no browser, one line."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.config.load import load_config
from monitor.config.model import Config
from monitor.errors import FetchBrowserError, FetchNetworkError
from monitor.fetch import FetchLimits, FetchResult
from monitor.pipeline import PollOutcome
from monitor.poll_driver import poll_once
from monitor.render import Browser, Render
from monitor.runtime import Runtime
from monitor.store.tables import RELEASES, SOURCES
from tests.support import pages
from tests.support.drill import free_port
from tests.support.http_server import LoopbackServer, Request, Response
from tests.support.waiting import wait_until

RULES = "rules:\n  - {id: r, query: NATO, channels: [console]}\n"
CHANNELS = "channels:\n  - {id: console, type: log}\n"


def write_config(tmp_path: Path, database: str, sources: str) -> Config:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f"database: {database}\ndefaults: {{backfill: 36500d}}\nsources:\n{sources}"
        f"{RULES}{CHANNELS}",
        encoding="utf-8",
    )
    return load_config(path, environ_database=False)


def rendered(ident: str, url: str, timeout: str = "20s") -> str:
    return (
        f"  - id: {ident}\n    url: {url}\n    type: html\n    render: browser\n"
        f"    timeout: {timeout}\n    select: {pages.SELECT}\n"
    )


async def poll(runtime: Runtime, *names: str) -> dict[str, PollOutcome]:
    run = await poll_once(runtime, list(names), deliver=False)
    return {o.source_id: o for o in run.outcomes}


async def render_once(url: str) -> FetchResult:
    """``url``'s listing (``li.news-item``) rendered by a browser of its own."""
    browser = Browser()
    try:
        return await browser.fetch(
            url,
            user_agent="monitor-test",
            limits=FetchLimits(deadline=20),
            render=Render("li.news-item"),
        )
    finally:
        await browser.close()


@pytest.mark.browser
async def test_a_list_built_by_a_script_after_a_delay_is_extracted(
    tmp_path: Path, sqlite_url: str, http_server: LoopbackServer
) -> None:
    pages.require_chromium()
    http_server.route("/ar/news", Response(body=pages.BUILT_LATER, headers=pages.HTML))
    url = http_server.url("/ar/news")
    config = write_config(
        tmp_path,
        sqlite_url,
        rendered("rendered", url)
        + f"  - id: plain\n    url: {url}\n    type: html\n    select: {pages.SELECT}\n",
    )
    runtime = await Runtime.start(config)
    try:
        outcomes = await poll(runtime, "rendered", "plain")
        async with runtime.engine.connect() as connection:
            rows = (
                await connection.execute(
                    sa.select(RELEASES.c.title, RELEASES.c.url).where(
                        RELEASES.c.source_id == "rendered"
                    )
                )
            ).all()
    finally:
        await runtime.close()
    assert outcomes["rendered"].ok, outcomes["rendered"].error
    assert outcomes["rendered"].new == 3
    assert sorted(title for title, _ in rows) == sorted(pages.TITLES)
    assert {link for _, link in rows} == {http_server.url(f"/ar/news/{i}") for i in range(3)}
    # over plain HTTP the same page has no list at all
    assert outcomes["plain"].new == 0


# page, its source's timeout, and what its source reports: a deadline long enough that
# the page's own end (a crash, too many navigations, too much HTML) comes first
HOSTILE = {
    "never-finishes": (pages.NEVER_FINISHES, "4s", "timeout", "deadline of 4 s passed"),
    "navigates-away": (pages.NAVIGATES_AWAY, "60s", "redirect", "the page navigated more than 5"),
    "eats-memory": (pages.EATS_MEMORY, "60s", "browser", "the page crashed while rendering"),
    "too-large": (pages.HUGE, "60s", "too-large", "the rendered page passed 100000 bytes"),
}


@pytest.mark.browser
@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_a_hostile_page_fails_its_source_only(
    tmp_path: Path, sqlite_url: str, http_server: LoopbackServer, name: str
) -> None:
    pages.require_chromium()
    body, timeout, kind, message = HOSTILE[name]
    http_server.route("/hostile", Response(body=body, headers=pages.HTML))
    http_server.route("/bounce", Response(body=body, headers=pages.HTML))
    http_server.route("/ar/news", Response(body=pages.BUILT_LATER, headers=pages.HTML))
    config = write_config(
        tmp_path,
        sqlite_url,
        rendered("hostile", http_server.url("/hostile"), timeout)
        + "    max_bytes: 100000\n"
        + rendered("good", http_server.url("/ar/news"))
        + f"  - id: feed\n    url: {http_server.url('/feed')}\n",
    )
    http_server.route("/feed", Response(body=b"<rss version='2.0'><channel/></rss>"))
    runtime = await Runtime.start(config)
    try:
        outcomes = await poll(runtime, "hostile", "good", "feed")
        async with runtime.engine.connect() as connection:
            row = (
                await connection.execute(
                    sa.select(SOURCES.c.last_error, SOURCES.c.last_error_kind).where(
                        SOURCES.c.id == "hostile"
                    )
                )
            ).one()
        # the browser is still of use after it
        again = await poll(runtime, "good")
    finally:
        await runtime.close()
    assert not outcomes["hostile"].ok
    assert row.last_error_kind == kind, row.last_error
    assert row.last_error.startswith(message), row.last_error
    assert outcomes["good"].ok and outcomes["good"].new == 3, outcomes["good"].error
    assert outcomes["feed"].ok
    assert again["good"].ok


@pytest.mark.browser
async def test_pop_ups_are_closed_and_dialogs_dismissed(http_server: LoopbackServer) -> None:
    pages.require_chromium()
    http_server.route("/ar/news", Response(body=pages.POP_UPS, headers=pages.HTML))
    http_server.route("/popup", Response(body=b"<p>pop</p>", headers=pages.HTML))
    result = await render_once(http_server.url("/ar/news"))
    assert "بعد النوافذ".encode() in result.body
    assert result.headers["content-type"] == "text/html; charset=utf-8"


def browser_pids(marker: str) -> list[int]:
    """The main processes of the browsers whose marker starts with ``marker`` (not their
    helper processes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ours = any(a.startswith(marker.encode()) for a in argv)
        if ours and not any(a.startswith(b"--type=") for a in argv):
            found.append(int(entry.name))
    return found


@pytest.mark.browser
async def test_a_killed_browser_fails_only_its_fetch_and_is_started_again(
    http_server: LoopbackServer,
) -> None:
    pages.require_chromium()
    http_server.route("/ar/news", Response(body=pages.BUILT_LATER, headers=pages.HTML))
    http_server.route("/slow", Response(body=pages.NEVER_FINISHES, headers=pages.HTML))
    browser = Browser()
    limits = FetchLimits(deadline=30)

    async def fetch(path: str) -> bytes:
        result = await browser.fetch(
            http_server.url(path), user_agent="t", limits=limits, render=Render("li.news-item")
        )
        return result.body

    try:
        assert pages.TITLES[0].encode() in await fetch("/ar/news")
        (pid,) = browser_pids(browser.marker)
        stuck = asyncio.ensure_future(fetch("/slow"))
        await asyncio.to_thread(http_server.wait_for_requests, "/slow", 1)
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(FetchBrowserError) as caught:
            await stuck
        assert "the browser stopped during the fetch" in str(caught.value)
        assert pages.TITLES[0].encode() in await fetch("/ar/news")
        assert browser.launches == 2
        assert browser_pids(browser.marker) not in ([], [pid])
    finally:
        await browser.close()
    await asyncio.to_thread(wait_until, lambda: not browser_pids(browser.marker))


async def test_without_a_browser_the_source_fails_with_what_to_install(
    tmp_path: Path,
    sqlite_url: str,
    http_server: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MONITOR_CHROMIUM", str(tmp_path / "no-chromium"))
    http_server.route("/ar/news", Response(body=pages.BUILT_LATER, headers=pages.HTML))
    http_server.route("/feed", Response(body=b"<rss version='2.0'><channel/></rss>"))
    config = write_config(
        tmp_path,
        sqlite_url,
        rendered("rendered", http_server.url("/ar/news"))
        + f"  - id: feed\n    url: {http_server.url('/feed')}\n",
    )
    runtime = await Runtime.start(config)
    try:
        feed_only = await poll(runtime, "feed")
        launches_after_feed = runtime.browser.launches
        outcomes = await poll(runtime, "rendered")
    finally:
        await runtime.close()
    assert feed_only["feed"].ok
    assert launches_after_feed == 0  # sources without render never start a browser
    assert outcomes["rendered"].error == (
        f"render: browser needs Chromium, and there is none at {tmp_path / 'no-chromium'} "
        "(MONITOR_CHROMIUM): install Debian's chromium package (apt-get install chromium, "
        "or scripts/ensure-browser) or set MONITOR_CHROMIUM to its executable"
    )


@pytest.mark.browser
async def test_a_page_reaches_its_own_origin_but_not_this_machines_other_services(
    http_server: LoopbackServer,
) -> None:
    pages.require_chromium()
    other = LoopbackServer().start()  # as the console or the metrics would be
    try:
        other.route("/steal", Response(body=b"secret"))
        script = (
            f"fetch('{other.url('/steal')}', {{mode: 'no-cors'}}).catch(() => {{}});"
            "fetch('/data.json').then(r => r.json()).then(items => {"
            "  document.getElementById('news').innerHTML = items.map(t =>"
            "    '<li class=\"news-item\"><h3>' + t + '</h3><a href=\"/n\">x</a></li>').join('');"
            "});"
        )
        http_server.route("/ar/news", Response(body=pages.page(script), headers=pages.HTML))
        http_server.route(
            "/data.json",
            Response(
                body='["من الواجهة البرمجية"]'.encode(),
                headers={"Content-Type": "application/json"},
            ),
        )
        result = await render_once(http_server.url("/ar/news"))
        assert "من الواجهة البرمجية".encode() in result.body
        assert other.requests == []
    finally:
        other.stop()


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://www.mofa.gov.ae/api/news", True),
        ("https://cdn.example.org/app.js", True),
        ("data:text/plain,x", True),
        ("file:///etc/passwd", False),
        ("ftp://ftp.example.org/x", False),
        ("http://127.0.0.1:8080/api/people", False),
        ("http://localhost:9464/metrics", False),
        ("http://10.0.0.1/admin", False),
        ("http://169.254.169.254/latest/meta-data/", False),
        ("http://[::1]:8080/", False),
        ("http://192.168.1.10:8000/news.json", True),  # the page's own origin
    ],
)
def test_what_a_rendered_page_may_load(url: str, allowed: bool) -> None:
    from monitor.render.page import may_load

    assert may_load(url, "http://192.168.1.10:8000/ar/news") is allowed


def test_check_warns_when_this_machine_has_no_browser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.config.load import read_config
    from monitor.part_checks import check_parts  # as every command loads the config

    missing = tmp_path / "no-chromium"
    monkeypatch.setenv("MONITOR_CHROMIUM", str(missing))
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f"sources:\n{rendered('mofa-ae', 'https://www.mofa.gov.ae/ar/news')}{RULES}{CHANNELS}",
        encoding="utf-8",
    )
    loaded = read_config(path, environ_database=False, parts=check_parts)
    assert loaded.warnings == [
        f"{path}:5: warning: sources[0] (mofa-ae).render: render: browser needs Chromium, and "
        f"there is none at {missing} (MONITOR_CHROMIUM): install Debian's chromium package "
        "(apt-get install chromium, or scripts/ensure-browser) or set MONITOR_CHROMIUM to its "
        "executable"
    ]


async def test_without_playwright_the_fetch_says_which_extra_to_install(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages.require_chromium()
    # as in an install without the browser extra: the import fails
    monkeypatch.setitem(sys.modules, "playwright.async_api", None)
    browser = Browser()
    with pytest.raises(FetchBrowserError) as caught:
        await browser.fetch(
            http_server.url("/"), user_agent="t", limits=FetchLimits(), render=Render()
        )
    assert str(caught.value) == (
        "render: browser needs Playwright, which is not installed: pip install 'monitor[browser]'"
    )
    assert browser.launches == 0


@pytest.mark.browser
async def test_credentials_in_the_url_are_sent_to_its_origin_and_never_reported(
    http_server: LoopbackServer,
) -> None:
    pages.require_chromium()

    def guarded(request: Request) -> Response:
        expected = "Basic " + base64.b64encode(b"desk:p@ss word").decode()
        if request.headers.get("Authorization") != expected:
            return Response(401, b"who?", headers={"WWW-Authenticate": 'Basic realm="m"'})
        return Response(body=pages.BUILT_LATER, headers=pages.HTML)

    http_server.route("/ar/news", guarded)
    port = http_server.port
    browser = Browser()
    try:
        result = await browser.fetch(
            f"http://desk:p%40ss%20word@127.0.0.1:{port}/ar/news",
            user_agent="t",
            limits=FetchLimits(deadline=20),
            render=Render("li.news-item"),
        )
        closed = free_port()
        with pytest.raises(FetchNetworkError) as caught:
            await browser.fetch(
                f"http://desk:secret@127.0.0.1:{closed}/",
                user_agent="t",
                limits=FetchLimits(deadline=20),
                render=Render("li.news-item"),
            )
    finally:
        await browser.close()
    assert pages.TITLES[0].encode() in result.body
    assert result.url == f"http://127.0.0.1:{port}/ar/news"
    assert str(caught.value) == "cannot reach 127.0.0.1: net::ERR_CONNECTION_REFUSED (browser)"


@pytest.mark.browser
async def test_a_rendered_source_goes_through_its_egress_proxy(
    tmp_path: Path, sqlite_url: str, http_server: LoopbackServer
) -> None:
    from tests.support.forward_proxy import ForwardProxy

    pages.require_chromium()
    proxy = ForwardProxy(credentials="desk:pw").start()
    try:
        http_server.route("/ar/news", Response(body=pages.BUILT_LATER, headers=pages.HTML))
        proxied = proxy.url.replace("http://", "http://desk:pw@")
        config = write_config(
            tmp_path,
            sqlite_url,
            rendered("rendered", http_server.url("/ar/news")) + f"    proxy: {proxied}\n",
        )
        runtime = await Runtime.start(config)
        try:
            outcomes = await poll(runtime, "rendered")
        finally:
            await runtime.close()
        seen = list(proxy.seen)
    finally:
        proxy.stop()
    assert outcomes["rendered"].ok and outcomes["rendered"].new == 3, outcomes["rendered"].error
    assert f"GET {http_server.url('/ar/news')}" in seen
