"""One rendered fetch: a page in a browser context of its own, and what it may do.

``Page.load`` opens the page, waits until it is ready (``Render.wait_for``: its items are
there and their count has held still for ``SETTLE`` seconds; else loaded, and the network
quiet for at most ``QUIET`` seconds more) and returns its HTML, within the caps of
``FetchLimits``. ``may_load`` says which requests the page may make.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from typing import Any
from urllib.parse import urlsplit

from monitor.errors import FetchRedirectError, FetchTooLarge
from monitor.fetch import FetchLimits, Render, http_error

SETTLE = 0.3  # seconds the number of items must hold still
QUIET = 2.0  # at most this long, after load, for the network to go quiet (no selector)
NOT_LOADED = frozenset({"image", "media", "font"})
LOADING = "loading the page"
_COUNT = """xpath => document.evaluate(
    'count(' + xpath + ')', document, null, XPathResult.NUMBER_TYPE, null).numberValue"""
_SIZE = "() => document.documentElement ? document.documentElement.outerHTML.length : 0"


class Page:
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
        self.stage = LOADING
        response = await page.goto(self.url, wait_until="commit")
        if response is not None and not 200 <= response.status < 300:
            headers = {k.lower(): v for k, v in (await response.all_headers()).items()}
            raise http_error(response.status, response.status_text, headers)
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
        if request.resource_type in NOT_LOADED or not may_load(request.url, self.url):
            await _quietly(route.abort())
        else:
            await _quietly(route.continue_())


def may_load(url: str, page_url: str) -> bool:
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


async def _dismiss(dialog: Any) -> None:
    await _quietly(dialog.dismiss())


async def _quietly(action: Any) -> None:
    # the page may be gone by the time a pop-up, a dialog or a request is dealt with
    with contextlib.suppress(Exception):
        await action
