"""``/sources/new`` in a real browser (Debian's chromium through Playwright) against a real
``monitor run``: an editor previews a loopback ministry's feedless Arabic news page, sees
the suggested selectors and the items they pick, adjusts the title selector, previews
again and sees the new items — htmx in place, under the console's CSP. Screenshots on a
laptop and a phone go where the other browser tests put theirs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.console.conftest import PASSWORD
from tests.console.served import Served, add_user, free_port
from tests.console.test_browser import CHROMIUM_FLAGS, LAPTOP, PHONE, chromium, shots  # noqa: F401
from tests.discover.test_discover import HTML, MINISTRY, RSS, _items
from tests.support.feeds import rss
from tests.support.http_server import LoopbackServer, Response
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def served(tmp_path: Path, http_server: LoopbackServer) -> Iterator[Served]:
    http_server.route("/ar/latest-news", Response(body=MINISTRY.read_bytes(), headers=HTML))
    http_server.route("/ar/rss", Response(body=rss(_items(2)), headers=RSS))
    port = free_port()
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f'database: "sqlite:///{tmp_path / "monitor.db"}"\ntimezone: Asia/Qatar\n'
        f"sources: [{{id: mofa-file, url: '{http_server.url('/ar/rss')}'}}]\n"
        f"channels: [{{id: log, type: log}}]\nconsole: {{listen: '127.0.0.1:{port}'}}\n",
        encoding="utf-8",
    )
    add_user(config, "eve", "editor")
    running = Served(config, port)
    try:
        yield running
    finally:
        code, _, stderr = running.stop()
        assert code == 0, stderr


def test_an_editor_previews_a_page_and_adjusts_a_selector(
    served: Served,
    http_server: LoopbackServer,
    shots: Path,  # noqa: F811
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_context(viewport=LAPTOP, locale="en-GB").new_page()
            violations: list[str] = []
            page.on(
                "console",
                lambda m: (
                    violations.append(f"{page.url}: {m.text[:60]} at {m.location}")
                    if "Content Security Policy" in m.text
                    else None
                ),
            )

            def shoot(name: str) -> None:
                page.set_viewport_size(LAPTOP)
                page.screenshot(path=str(shots / f"{name}-laptop.png"), full_page=True)
                page.set_viewport_size(PHONE)
                page.screenshot(path=str(shots / f"{name}-phone.png"), full_page=True)
                page.set_viewport_size(LAPTOP)

            page.goto(served.url + "/login?next=/sources")
            page.get_by_label("Username").fill("eve")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Sources")
            assert violations == [], violations
            page.get_by_role("link", name="Preview a new source").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("New source")
            assert violations == [], violations
            shoot("source-new")

            page.get_by_label("Address of the feed or news page").fill(
                http_server.url("/ar/latest-news")
            )
            page.get_by_role("button", name="Preview").click()
            result = page.locator("#preview-heading")
            expect(result).to_have_text("Items the selectors pick: 4")
            expect(page.get_by_label("Item (one per release)")).to_have_value("div.news-item")
            expect(page.get_by_label("Title")).to_have_value("h3")
            expect(page.get_by_label("Date (optional)")).to_have_value("span.date")
            rows = page.locator("table.preview-items tbody tr")
            expect(rows).to_have_count(4)
            expect(rows.nth(1)).to_contain_text("نائب رئيس مجلس الوزراء وزير الخارجية")
            expect(rows.nth(1)).to_contain_text("/ar/news/2019/03/13/nato")
            expect(rows.nth(1)).to_contain_text("2019-03-13")  # 13/03/2019 in Doha
            expect(page.locator(".warnings")).to_contain_text("1 of 5 items skipped")
            assert violations == [], violations
            shoot("source-new-suggested")

            # the summary paragraph as the title instead: preview again, in place
            page.get_by_label("Title").fill("p")
            page.get_by_role("button", name="Preview").click()
            expect(rows.first).to_contain_text("التقى سعادة وزير الدولة للشؤون الخارجية")
            expect(page.get_by_label("Title")).to_have_value("p")
            expect(page.get_by_label("Type")).to_have_value("html")
            assert page.url.endswith("/sources/new")
            shoot("source-new-adjusted")

            # a selector that cannot work: the error at its field
            page.get_by_label("Link").fill("a[@href")
            page.get_by_role("button", name="Preview").click()
            error = page.locator("#select-link-error")
            expect(error).to_contain_text("select.link: invalid CSS selector")
            expect(page.get_by_label("Link")).to_have_attribute("aria-invalid", "true")
            shoot("source-new-error")

            # save it: a console source, shown at once with its origin
            page.get_by_label("Link").fill("a@href")
            page.get_by_label("Id", exact=True).fill("mofa-qa-news")
            page.get_by_label("Name (optional)").fill("أخبار وزارة الخارجية")
            page.get_by_role("button", name="Save source").click()
            page.wait_for_url("**/sources/mofa-qa-news")
            expect(page.get_by_role("heading", level=1)).to_contain_text("أخبار وزارة الخارجية")
            expect(page.locator("dl.facts")).to_contain_text("made in the console · version 1")
            shoot("source-console")

            # polled from then on: the daemon sees the new source and stores its releases
            def polled() -> bool:
                page.reload()
                # the title selector is p: the two blocks without a link or a summary skipped
                return "3 (3 in the last 24 h)" in page.locator("dl.facts").inner_text()

            wait_until(polled, timeout=60, what="the console source's first poll")
            shoot("source-console-polled")

            # edit it: the form comes back filled; save the date selector away
            page.get_by_role("link", name="Edit").click()
            expect(page.get_by_label("Title")).to_have_value("p")
            page.get_by_label("Date (optional)").fill("")
            page.get_by_role("button", name="Save changes").click()
            page.wait_for_url("**/sources/mofa-qa-news")
            expect(page.locator("dl.facts")).to_contain_text("version 2")

            # delete it, after saying so
            page.get_by_text("Delete…").click()
            page.get_by_role("button", name="Delete this source").click()
            page.wait_for_url("**/sources?deleted=mofa-qa-news")
            expect(page.get_by_role("status").first).to_contain_text("mofa-qa-news deleted")
            assert violations == [], violations
        finally:
            browser.close()
