"""The console in a real browser: Debian's chromium driven by Playwright, against a real
`monitor run` that polled a loopback ministry and failed to reach a webhook receiver.

Signs in, searches the archive in Arabic, opens the seed release and sees its match
highlighted, retries the failed alert and sees it go out (the receiver gets it), checks
that hostile titles are shown as text, sends a channel test through htmx, and takes
screenshots of every main page on a laptop and a phone (their directory is printed at the
end of the run). No page may break the Content-Security-Policy.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.console import conftest as bench_conf
from tests.console.conftest import HOSTILE_TITLES, PASSWORD, Bench, config_text, seed_release
from tests.console.served import Served, add_user, free_port, get, monitor
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.slow]

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LAPTOP = {"width": 1366, "height": 860}
PHONE = {"width": 390, "height": 844}


def chromium() -> str:
    path = os.environ.get("MONITOR_CHROMIUM") or "/usr/bin/chromium"
    if not os.access(path, os.X_OK):
        message = f"no browser at {path}: run scripts/ensure-browser (Debian's chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("MONITOR_SCREENSHOTS")
    directory = Path(chosen) if chosen else tmp_path_factory.mktemp("console-screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    bench_conf.SCREENSHOTS.append(directory)
    return directory


@pytest.fixture
def served(tmp_path: Path, bench: Bench) -> Iterator[Served]:
    seed_release()  # skips when the corpus is missing
    port = free_port()
    text = config_text(
        f"sqlite:///{tmp_path / 'monitor.db'}",
        bench.server,
        listen=f"127.0.0.1:{port}",
        interval="10s",
    ).replace("  interval: 10s", "  interval: 10s\n  backfill: 36500d", 1)
    config = tmp_path / "monitor.yaml"
    config.write_text(text, encoding="utf-8")
    for name, role in (("ada", "admin"), ("eve", "editor"), ("vic", "viewer")):
        add_user(config, name, role)
    running = Served(config, port)
    try:
        yield running
    finally:
        code, seconds, stderr = running.stop()
        assert code == 0, stderr
        assert seconds < 10, f"monitor run took {seconds:.1f} s to stop"


def api_token(served: Served) -> str:
    made = monitor(served.config, "tokens", "create", "browser-test", "--role", "viewer")
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def alerts_now(served: Served, token: str, status: str = "") -> list[dict[str, object]]:
    query = f"?status={status}" if status else ""
    code, body = get(served.url + "/api/v1/alerts" + query, token)
    assert code == 200, body
    items: list[dict[str, object]] = json.loads(body)["items"]
    return items


def test_console_in_a_browser(served: Served, bench: Bench, shots: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    title, _ = seed_release()
    token = api_token(served)
    # the daemon polls at start-up; the NATO alerts fail (the receiver is down), and after
    # three failures in a row the channel backs off: the rest wait, pending, untried
    seed = wait_until(
        lambda: [a for a in alerts_now(served, token) if str(a["title"]).startswith(title)],
        timeout=60,
        what="the seed release's alert",
    )
    seed_id = str(seed[0]["id"])
    failed = wait_until(
        lambda: alerts_now(served, token, "failed"), timeout=60, what="an alert to fail"
    )
    # the seed's own alert when it was tried, else another that failed
    alert_id = next((str(a["id"]) for a in failed if a["id"] == seed_id), str(failed[0]["id"]))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(viewport=LAPTOP, locale="en-GB")
            page = context.new_page()
            dialogs: list[str] = []
            violations: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on(
                "console",
                lambda m: (
                    violations.append(m.text) if "Content Security Policy" in m.text else None
                ),
            )

            def shoot(name: str) -> None:
                page.set_viewport_size(LAPTOP)
                page.screenshot(path=str(shots / f"{name}-laptop.png"), full_page=True)
                page.set_viewport_size(PHONE)
                page.screenshot(path=str(shots / f"{name}-phone.png"), full_page=True)
                page.set_viewport_size(LAPTOP)

            # sign in (the editor), and land on the overview
            page.goto(served.url + "/")
            expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to monitor")
            shoot("login")
            page.get_by_label("Username").fill("eve")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
            shoot("overview")

            # search the archive in Arabic: the seed release, its match highlighted
            page.get_by_role("link", name="Releases", exact=True).click()
            page.get_by_label("Search with the rule language").fill("الناتو")
            page.get_by_role("button", name="Search").click()
            card = page.locator("article.release", has_text=title[:30])
            expect(card).to_have_count(1)  # the agency's copy is shown with it, as one story
            expect(card.locator("summary")).to_contain_text("1 copy")
            expect(card.locator("mark").first).to_contain_text("الناتو")
            shoot("releases-search")

            # the release: its text with the matches marked
            card.get_by_role("link").first.click()
            expect(page.get_by_role("heading", level=1)).to_contain_text("الناتو")
            marks = page.locator(".prose mark")
            assert marks.count() >= 2
            assert any("الناتو" in t or "حلف شمال الأطلسي" in t for t in marks.all_inner_texts())
            assert page.locator("h1 [dir=auto], h1[dir=auto]").count() == 1
            shoot("release")

            # retry a failed alert: the receiver is back, the alert goes out at once (the
            # channel stops backing off) and the seed release's alert with the backlog
            bench.hook_ok = True
            page.goto(served.url + f"/alerts/{alert_id}")
            status = page.locator("#alert-status")
            expect(status).to_contain_text("Failed, will retry")
            shoot("alert-failed")
            page.get_by_role("button", name="Retry now").click()
            expect(status).to_contain_text("Sent", timeout=20_000)
            delivered = [
                r for r in bench.hook_requests() if r.headers.get("webhook-id") == alert_id
            ]
            assert delivered, "the receiver never got the retried alert"
            wait_until(
                lambda: [
                    r for r in bench.hook_requests() if r.headers.get("webhook-id") == seed_id
                ],
                timeout=20,
                what="the seed release's alert to reach the receiver",
            )
            sent = [r for r in bench.hook_requests() if r.headers.get("webhook-id") == seed_id]
            assert json.loads(sent[-1].body)["release"]["title"].startswith(title)
            shoot("alert-sent")

            # hostile titles are text: no dialog, no injected element, the text intact
            page.goto(served.url + "/releases?q=NATO")
            results = page.locator(".results")
            expect(results.locator("article")).to_have_count(len(HOSTILE_TITLES))
            texts = results.locator("h3").all_text_contents()
            for hostile in HOSTILE_TITLES:  # each title is in the DOM as text, intact
                assert any(hostile in text for text in texts), (hostile, texts)
            assert page.locator("img[src=x]").count() == 0
            assert page.locator(".results script").count() == 0
            hostile_link = results.get_by_role("link", name=re.compile("onerror"))
            hostile_link.click()
            expect(page.get_by_role("heading", level=1)).to_contain_text("onerror=alert(1)")
            assert page.locator("img[src=x]").count() == 0
            assert dialogs == [], dialogs

            # the channels page: "Send test" through htmx (the CSRF header from hx-headers)
            page.get_by_role("link", name="Channels", exact=True).click()
            row = page.locator("tr", has_text="webhook")
            row.get_by_role("button", name="Send test").click()
            expect(row.locator(".test-result")).to_contain_text("Sent")
            shoot("channels")

            for path, name in (
                ("/sources", "sources"),
                ("/sources/mofa-ar", "source"),
                ("/alerts", "alerts"),
                ("/rules", "rules"),
            ):
                page.goto(served.url + path)
                expect(page.locator("h1")).to_have_count(1)
                shoot(name)
            page.goto(served.url + "/releases?q=NATO%20AND%20(")
            expect(page.locator("#q-error")).to_contain_text("column 11")
            shoot("releases-query-error")

            # the admin's pages
            page.get_by_role("button", name="Sign out").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to monitor")
            page.get_by_label("Username").fill("ada")
            page.get_by_label("Password").fill(PASSWORD)
            page.keyboard.press("Enter")  # the keyboard alone signs in
            expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
            for path, name in (("/users", "users"), ("/audit", "audit")):
                page.goto(served.url + path)
                expect(page.locator("h1")).to_have_count(1)
                shoot(name)
            expect(page.locator("table")).to_contain_text("alert.retry")
            expect(page.locator("table")).to_contain_text("channel.test")
            assert violations == [], violations
        finally:
            browser.close()
