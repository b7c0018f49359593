"""The rule workbench in a real browser (Debian's chromium, Playwright) against a real
`monitor run`: an editor writes an Arabic rule with a typo, sees the error at its column,
fixes it, tests it over the archive and sees the seed release highlighted, saves it; the
daemon takes it up without a restart, and the next poll of the loopback ministry brings
a release whose alert reaches the real webhook receiver. A viewer sees no Save button and
gets 403 from the API. Screenshots (laptop and phone) of the rules pages.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.console.conftest import (
    PASSWORD,
    PUBLISHED,
    Bench,
    config_text,
    seed_release,
)
from tests.console.served import Served, add_user, free_port, monitor
from tests.console.test_browser import CHROMIUM_FLAGS, LAPTOP, PHONE, chromium, shots
from tests.support.feeds import UNRELATED, Item, rss
from tests.support.http_server import Response
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.slow]
__all__ = ["shots"]  # the screenshot directory fixture, shared with test_browser

TYPO = "الناتو or البحرية"  # a lower-case operator: an error at column 8
FIXED = "الناتو OR البحرية"
NAVY = (
    "قطر تشارك في مناورات البحرية المشتركة في الخليج",
    "شاركت القوات البحرية في مناورات مشتركة لتعزيز الأمن البحري وحماية الملاحة في الخليج.",
)


@pytest.fixture
def served(tmp_path: Path, bench: Bench) -> Iterator[Served]:
    """`monitor run` whose webhook receiver is up from the start."""
    seed_release()
    bench.hook_ok = True
    port = free_port()
    text = config_text(
        f"sqlite:///{tmp_path / 'monitor.db'}",
        bench.server,
        listen=f"127.0.0.1:{port}",
        interval="10s",
    ).replace("  interval: 10s", "  interval: 10s\n  backfill: 36500d", 1)
    config = tmp_path / "monitor.yaml"
    config.write_text(text, encoding="utf-8")
    for name, role in (("eve", "editor"), ("vic", "viewer")):
        add_user(config, name, role)
    running = Served(config, port)
    try:
        yield running
    finally:
        code, _, stderr = running.stop()
        print(stderr[-6000:])  # the daemon's log, shown when the test fails
        assert code == 0, stderr


def _token(served: Served, role: str) -> str:
    made = monitor(served.config, "tokens", "create", f"browser-{role}", "--role", role)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def _call(
    url: str, token: str, method: str = "GET", body: object = None
) -> tuple[int, dict[str, str], str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, _lower(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, _lower(exc.headers), exc.read().decode()


def _lower(headers: object) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}  # type: ignore[attr-defined]


def _in_force(served: Served, token: str) -> bool:
    """This instance runs with the rules stored now (its generation caught up)."""
    code, headers, _ = _call(served.url + "/api/v1/rules", token)
    applied = headers.get("x-config-generation-applied")
    return code == 200 and applied is not None and applied == headers["x-config-generation"]


def _navy_feed() -> bytes:
    title, body = seed_release()
    entries = [Item("seed", title, body, "https://mofa.example/ar/nato", PUBLISHED)]
    entries += [
        Item(f"other-{n}", t, b, f"https://mofa.example/o{n}", PUBLISHED - timedelta(hours=n + 1))
        for n, (t, b) in enumerate(UNRELATED)
    ]
    entries.append(Item("navy", *NAVY, "https://mofa.example/ar/navy", datetime.now(UTC)))
    return rss(entries, title="وزارة الخارجية")


def _alerts_for(bench: Bench, rule_id: str) -> list[dict[str, object]]:
    bodies = [json.loads(r.body) for r in bench.hook_requests()]
    return [b for b in bodies if b.get("rule", {}).get("id") == rule_id]


def test_an_editor_writes_tests_and_saves_a_rule(served: Served, bench: Bench, shots: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    title, _ = seed_release()
    viewer_token = _token(served, "viewer")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(viewport=LAPTOP, locale="en-GB")
            page = context.new_page()
            violations: list[str] = []
            page.on(
                "console",
                lambda m: (
                    violations.append(m.text) if "Content Security Policy" in m.text else None
                ),
            )

            def shoot(name: str) -> None:
                for size, label in ((LAPTOP, "laptop"), (PHONE, "phone")):
                    page.set_viewport_size(size)
                    page.screenshot(path=str(shots / f"{name}-{label}.png"), full_page=True)
                page.set_viewport_size(LAPTOP)

            def sign_in(name: str) -> None:
                page.goto(served.url + "/login")
                page.get_by_label("Username").fill(name)
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                expect(page.get_by_role("heading", level=1)).to_have_text("Overview")

            sign_in("eve")
            page.get_by_role("link", name="Rules", exact=True).click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Rules")
            page.get_by_role("link", name="New rule").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("New rule")

            page.get_by_label("Id").fill("gulf-navy")
            page.get_by_label("Name").fill("الناتو والبحرية")
            page.get_by_label("Query").fill(TYPO)  # checked as it is typed
            error = page.locator("#query-error")
            expect(error).to_contain_text("column 8")
            expect(error).to_contain_text("write OR")
            shoot("rule-typo")
            page.get_by_label("Query").fill(FIXED)
            expect(error).to_have_count(0)
            expect(page.locator("#query-check")).to_contain_text("reads well")

            page.get_by_label("Test over the last").select_option("90d")
            page.get_by_role("button", name="Test", exact=True).click()
            results = page.locator("#test-results")
            sample = results.locator("article.sample", has_text=title[:30])
            expect(sample.first).to_be_visible()
            expect(sample.first.locator("mark").first).to_contain_text("الناتو")
            expect(sample.first.locator(".why")).to_contain_text("الناتو")
            expect(results.locator(".spark .bar")).to_have_count(91)
            shoot("rule-test")

            page.get_by_label("hook").check()
            page.get_by_role("button", name="Save").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("الناتو والبحرية")
            expect(page.get_by_role("status").first).to_contain_text("Saved")
            shoot("rule-saved")

            # in force on the daemon without a restart; then a poll brings the release
            wait_until(lambda: _in_force(served, viewer_token), timeout=10, what="the reload")
            bench.server.route(
                "/ministry.xml",
                Response(200, _navy_feed(), {"content-type": "application/rss+xml"}),
            )
            alerts = wait_until(
                lambda: _alerts_for(bench, "gulf-navy"), timeout=30, what="the new rule's alert"
            )
            assert alerts[0]["release"]["title"] == NAVY[0]  # type: ignore[index]

            page.goto(served.url + "/rules")
            expect(page.locator("tr", has_text="gulf-navy")).to_contain_text("console")
            shoot("rules")
            page.goto(served.url + "/rules/gulf-navy")
            page.get_by_role("button", name="Mute 1 h").click()
            expect(page.locator(".muted-state")).to_contain_text("Muted")
            shoot("rule-muted")
            page.get_by_role("button", name="Unmute").click()
            expect(page.locator(".muted-state")).to_have_count(0)

            # a viewer: no Save button, and the API says 403
            context.clear_cookies()
            sign_in("vic")
            page.goto(served.url + "/rules/gulf-navy")
            expect(page.get_by_role("heading", level=1)).to_have_text("الناتو والبحرية")
            expect(page.get_by_role("button", name="Save")).to_have_count(0)
            expect(page.get_by_role("button", name="Test", exact=True)).to_have_count(1)
            shoot("rule-viewer")
            assert violations == [], violations
        finally:
            browser.close()
    body = {"id": "x", "query": "NATO", "channels": ["log"]}
    code, _, answer = _call(served.url + "/api/v1/rules", viewer_token, "POST", body)
    assert code == 403 and json.loads(answer)["error"]["code"] == "forbidden"
