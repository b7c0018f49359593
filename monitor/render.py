"""Loading a page in headless Chromium, for sources with ``render: browser`` (SPEC section 2).

One ``Browser`` serves the daemon: Debian's ``chromium`` (on the PATH, or at
``MONITOR_CHROMIUM``) driven by Playwright, started by the first rendered fetch, so a config
without ``render: browser`` never starts one. Each fetch gets a browser context of its own
(cookies, storage) with one page, closed after use, and the bounds of an HTTP fetch:

- the ``deadline`` covers the page: navigation, scripts, waiting for the list; a page
  still not ready then (a script that never ends, a page that keeps navigating) fails
  with ``FetchTimeout``; waiting for one of the ``max_pages`` slots or for the browser to
  start (at most ``LAUNCH_WAIT``) is not counted;
- the rendered HTML is capped at ``max_bytes`` (``FetchTooLarge``); a script that allocates
  without end meets the JavaScript heap cap, its renderer crashes and that fetch fails;
- at most ``max_redirects`` further navigations of the page (script redirects included);
- no downloads, pop-ups closed as they open, JavaScript dialogs dismissed, and no images,
  media or fonts loaded (a listing needs none of them); nothing but http(s), and no
  loopback, private or link-local address but the page's own origin.

A listing is ready when its ``select.item`` matches (translated to XPath as the extractor
translates it, so both agree on what matches) and the count of items has held still for
``SETTLE`` seconds; a page without a selector when it has loaded and the network is quiet
(at most ``QUIET`` seconds more). A browser that crashed or was killed fails the fetch that
was using it and is started again by the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib.util
import ipaddress
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from monitor.errors import (
    FetchBrowserError,
    FetchError,
    FetchRedirectError,
    FetchTimeout,
    FetchTooLarge,
)
from monitor.fetch import FetchLimits, FetchResult, _http_error

if TYPE_CHECKING:
    from monitor.config.model import Source

log = logging.getLogger("monitor.render")

MAX_PAGES = 4  # pages open at once: each costs a renderer process (tens of MB)
SETTLE = 0.3  # seconds the number of items must hold still
QUIET = 2.0  # at most this long, after load, for the network to go quiet (no selector)
CLOSE_WAIT = 5.0  # seconds a page or the browser gets to close before it is killed
# seconds Chromium gets to start: not part of a page's deadline, which a busy machine's
# slow start would otherwise eat
LAUNCH_WAIT = 30.0
HEAP_MB = 256  # the JavaScript heap of one page: beyond it the renderer crashes
NOT_LOADED = frozenset({"image", "media", "font"})
CHROMIUM_FLAGS = (
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--mute-audio",
    f"--js-flags=--max-old-space-size={HEAP_MB}",
)
INSTALL_CHROMIUM = (
    "render: browser needs Chromium, and there is none{where}: install Debian's chromium "
    "package (apt-get install chromium, or scripts/ensure-browser) or set MONITOR_CHROMIUM "
    "to its executable"
)
INSTALL_PLAYWRIGHT = (
    "render: browser needs Playwright, which is not installed: pip install 'monitor[browser]'"
)
_COUNT = """xpath => document.evaluate(
    'count(' + xpath + ')', document, null, XPathResult.NUMBER_TYPE, null).numberValue"""
_SIZE = "() => document.documentElement ? document.documentElement.outerHTML.length : 0"


@dataclass(frozen=True, slots=True)
class Render:
    """How a rendered page shows it is ready: the CSS of what it must contain, if any."""

    wait_for: str | None = None


def render_of(source: Source, *, listing: bool) -> Render | None:
    """The ``Render`` for the source's listing (``listing``) or for a release's own page;
    None when the source is fetched over plain HTTP."""
    if source.render != "browser":
        return None
    select = source.select
    if select is None:
        return Render()
    return Render(select.item if listing else select.content)


def find_chromium() -> str:
    """``MONITOR_CHROMIUM``, or ``chromium`` on the PATH; ``FetchBrowserError`` when none."""
    chosen = os.environ.get("MONITOR_CHROMIUM")
    if chosen:
        if os.access(chosen, os.X_OK):
            return chosen
        raise FetchBrowserError(INSTALL_CHROMIUM.format(where=f" at {chosen} (MONITOR_CHROMIUM)"))
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise FetchBrowserError(INSTALL_CHROMIUM.format(where=" on the PATH"))
    return found


def browser_problem() -> str | None:
    """What is missing for ``render: browser`` on this machine, if anything (for ``check``)."""
    try:
        find_chromium()
    except FetchBrowserError as exc:
        return str(exc)
    if importlib.util.find_spec("playwright") is None:
        return INSTALL_PLAYWRIGHT
    return None


class Browser:
    """The daemon's one Chromium, started on first use and again after a crash."""

    def __init__(self, max_pages: int = MAX_PAGES) -> None:
        self._pages = asyncio.Semaphore(max_pages)
        self._lock = asyncio.Lock()
        self._playwright: Any = None
        self._browser: Any = None
        # on the browser's command line, so its processes can be told from other browsers'
        self.marker = f"--monitor-browser={uuid.uuid4().hex[:12]}"
        self.launches = 0

    async def fetch(
        self, url: str, *, user_agent: str, limits: FetchLimits, render: Render
    ) -> FetchResult:
        async with self._pages:  # the deadline starts once a page slot is ours
            started = time.monotonic()
            page = _Page(url, limits, render)
            try:
                browser = await self._started()
                async with asyncio.timeout(limits.deadline):
                    page.context = await browser.new_context(
                        user_agent=user_agent, accept_downloads=False, service_workers="block"
                    )
                    body, final_url, status = await page.load()
            except TimeoutError:
                raise FetchTimeout(
                    f"deadline of {limits.deadline:g} s passed while rendering ({page.stage})"
                ) from None
            except FetchError:
                raise
            except Exception as exc:
                raise await self._failure(page, exc) from None
            finally:
                await self._close_page(page)
        return FetchResult(
            status=status,
            url=final_url,
            body=body,
            headers={"content-type": "text/html; charset=utf-8"},
            etag=None,
            last_modified=None,
            not_modified=False,
            permanent_redirect=None,
            elapsed=time.monotonic() - started,
            body_sha256=hashlib.sha256(body).hexdigest(),
        )

    async def _started(self) -> Any:
        try:
            async with asyncio.timeout(LAUNCH_WAIT):
                return await self._running()
        except TimeoutError:
            async with self._lock:
                await self._stop()
            raise FetchBrowserError(f"the browser did not start within {LAUNCH_WAIT:g} s") from None

    async def _running(self) -> Any:
        async with self._lock:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            await self._stop()  # what is left of a crashed one
            executable = find_chromium()
            try:
                from playwright.async_api import async_playwright
            except ImportError:
                raise FetchBrowserError(INSTALL_PLAYWRIGHT) from None
            self._playwright = await async_playwright().start()
            self._browser = await self._playwright.chromium.launch(
                executable_path=executable,
                args=[*CHROMIUM_FLAGS, *_sandbox(), self.marker],
                # the daemon decides when the browser stops, not a signal sent to it
                handle_sigint=False,
                handle_sigterm=False,
                handle_sighup=False,
                timeout=0,  # within the fetch's deadline
            )
            self.launches += 1
            log.info(
                "browser started",
                extra={"action": "browser", "path": executable, "launches": self.launches},
            )
            return self._browser

    async def _failure(self, page: _Page, exc: Exception) -> FetchBrowserError:
        if page.crashed:
            return FetchBrowserError(
                f"the page crashed while rendering ({page.stage}): it may have used more "
                f"than the {HEAP_MB} MB a page may"
            )
        browser = self._browser
        if browser is None or not browser.is_connected():
            return FetchBrowserError(
                "the browser stopped during the fetch (crashed or killed); "
                "the next fetch starts it again"
            )
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return FetchBrowserError(f"rendering failed ({page.stage}): {first[:200]}")

    async def _close_page(self, page: _Page) -> None:
        if page.context is None:
            return
        try:
            async with asyncio.timeout(CLOSE_WAIT):
                await page.context.close()
        except Exception:
            # a context that does not close means a browser in trouble: start afresh
            log.warning("a page did not close: restarting the browser", extra={"url": page.url})
            async with self._lock:
                await self._stop()

    async def close(self) -> None:
        async with self._lock:
            await self._stop()

    async def _stop(self) -> None:
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = None
        if browser is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_WAIT):
                    await browser.close()
        if playwright is not None:
            # stopping the driver also ends a browser that would not close
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_WAIT):
                    await playwright.stop()


class _Page:
    """One rendered fetch: its context and page, and what went on in it."""

    def __init__(self, url: str, limits: FetchLimits, render: Render) -> None:
        self.url = url
        self.limits = limits
        self.render = render
        self.context: Any = None
        self.page: Any = None
        self.stage = "starting the browser"
        self.crashed = False
        self.navigations = 0

    async def load(self) -> tuple[bytes, str, int]:
        self.stage = "opening the page"
        context = self.context
        context.set_default_timeout(0)  # the fetch's deadline is the one timeout
        await context.route("**/*", self._filter)
        page = self.page = await context.new_page()
        context.on("page", self._popup)  # any page after this one
        page.on("crash", self._crash)
        page.on("dialog", _dismiss)
        page.on("framenavigated", self._navigated)
        self.stage = "loading the page"
        response = await page.goto(self.url, wait_until="commit")
        if response is not None and not 200 <= response.status < 300:
            headers = {k.lower(): v for k, v in (await response.all_headers()).items()}
            raise _http_error(response.status, response.status_text, headers)
        status = response.status if response is not None else 200
        if self.render.wait_for:
            self.stage = f"waiting for {self.render.wait_for}"
            await self._items()
        else:
            self.stage = "waiting for the page to load"
            await page.wait_for_load_state("load")
            with contextlib.suppress(Exception):
                await page.wait_for_load_state("networkidle", timeout=QUIET * 1000)
        self.stage = "reading the page"
        self._check_navigations()
        if await page.evaluate(_SIZE) > self.limits.max_bytes:
            raise self._too_large()
        body = str(await page.content()).encode("utf-8")
        if len(body) > self.limits.max_bytes:
            raise self._too_large()
        return body, str(page.url), status

    async def _items(self) -> None:
        from lxml.cssselect import CSSSelector

        xpath = CSSSelector(self.render.wait_for or "", translator="html").path
        loop = asyncio.get_running_loop()
        last, since = -1, loop.time()
        while True:
            self._check_navigations()
            try:
                count = int(await self.page.evaluate(_COUNT, xpath))
            except Exception:
                if self.crashed or self.page.is_closed():
                    raise
                count = -1  # the page navigated under us: count again on the new one
            if count != last:
                last, since = count, loop.time()
            elif count > 0 and loop.time() - since >= SETTLE:
                return
            await asyncio.sleep(0.1)

    def _check_navigations(self) -> None:
        # the first navigation is the page itself
        if self.navigations > self.limits.max_redirects + 1:
            raise FetchRedirectError(
                f"the page navigated more than {self.limits.max_redirects} times"
            )

    def _navigated(self, frame: Any) -> None:
        if self.page is not None and frame == self.page.main_frame:
            self.navigations += 1

    def _crash(self, page: Any) -> None:
        self.crashed = True

    async def _popup(self, page: Any) -> None:
        if page is not self.page:
            await _quietly(page.close())

    def _too_large(self) -> FetchTooLarge:
        return FetchTooLarge(f"the rendered page passed {self.limits.max_bytes} bytes")

    async def _filter(self, route: Any) -> None:
        request = route.request
        if request.resource_type in NOT_LOADED or not _may_load(request.url, self.url):
            await _quietly(route.abort())
        else:
            await _quietly(route.continue_())


def _may_load(url: str, page_url: str) -> bool:
    """http(s) only; and a page on the internet may not reach this machine or its network
    (the console, metrics, a router) through the browser: an address that is loopback,
    private or link-local is allowed only as the page's own origin."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return parts.scheme in ("data", "blob")
    host = (parts.hostname or "").lower()
    try:
        address = ipaddress.ip_address(host)
        internal = address.is_loopback or address.is_private or address.is_link_local
    except ValueError:
        internal = host == "localhost" or host.endswith(".localhost")
    return not internal or _origin(url) == _origin(page_url)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def _sandbox() -> tuple[str, ...]:
    # Chromium refuses its sandbox to root (often the user in a container); anyone else
    # keeps it, the isolation that untrusted pages' scripts should run in
    return ("--no-sandbox",) if os.geteuid() == 0 else ()


async def _dismiss(dialog: Any) -> None:
    await _quietly(dialog.dismiss())


async def _quietly(action: Any) -> None:
    # the page may be gone by the time a pop-up, a dialog or a request is dealt with
    with contextlib.suppress(Exception):
        await action
