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
import logging
import os
import shutil
import time
import uuid
from typing import Any
from urllib.parse import unquote, urlsplit

from monitor.errors import (
    FetchBrowserError,
    FetchError,
    FetchNetworkError,
    FetchTimeout,
)
from monitor.fetch import FetchLimits, FetchResult, Render
from monitor.redact import redact_text
from monitor.render.page import LOADING, Page

__all__ = ["Browser", "Render", "browser_problem", "find_chromium"]

log = logging.getLogger("monitor.render")

MAX_PAGES = 4  # pages open at once: each costs a renderer process (tens of MB)
CLOSE_WAIT = 5.0  # seconds a page or the browser gets to close before it is killed
# seconds Chromium gets to start: not part of a page's deadline, which a busy machine's
# slow start would otherwise eat
LAUNCH_WAIT = 30.0
HEAP_MB = 256  # the JavaScript heap of one page: beyond it the renderer crashes
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
        self,
        url: str,
        *,
        user_agent: str,
        limits: FetchLimits,
        render: Render,
        proxy: str | None = None,
        bypass: tuple[str, ...] = (),
    ) -> FetchResult:
        """``url`` rendered; through ``proxy`` (the egress proxy for it) save for the hosts
        in ``bypass`` (its ``no_proxy``)."""
        async with self._pages:  # the deadline starts once a page slot is ours
            started = time.monotonic()
            url, credentials = _without_credentials(url)
            page = Page(url, limits, render)
            try:
                browser = await self._started()
                async with asyncio.timeout(limits.deadline):
                    page.context = await browser.new_context(
                        user_agent=user_agent,
                        accept_downloads=False,
                        service_workers="block",
                        http_credentials=credentials,
                        proxy=_proxy_settings(proxy, bypass),
                    )
                    body, final_url, status = await page.load()
            except TimeoutError:
                raise FetchTimeout(
                    f"deadline of {limits.deadline:g} s passed while rendering ({page.stage})"
                ) from None
            except FetchError:
                raise
            except Exception as exc:
                raise self._failure(page, exc) from None
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

    def _failure(self, page: Page, exc: Exception) -> FetchError:
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
        first = redact_text(first)[:200]
        if page.stage == LOADING and "net::ERR_" in first:
            # "cannot reach www.mofa.gov.ae: net::ERR_NAME_NOT_RESOLVED (browser)"
            reason = "net::ERR_" + first.split("net::ERR_", 1)[1].split()[0]
            host = urlsplit(page.url).hostname or page.url
            return FetchNetworkError(f"cannot reach {host}: {reason} (browser)")
        return FetchBrowserError(f"rendering failed ({page.stage}): {first}")

    async def _close_page(self, page: Page) -> None:
        if page.context is None:
            return
        try:
            async with asyncio.timeout(CLOSE_WAIT):
                await page.context.close()
        except TimeoutError:
            # a context that does not close means a browser in trouble: start afresh (the
            # pages open in it beside this one fail too)
            log.warning(
                "a page did not close: restarting the browser",
                extra={"action": "browser", "url": redact_text(page.url)},
            )
            async with self._lock:
                await self._stop()
        except Exception:  # noqa: S110 - the browser is gone already: the next fetch starts one
            pass

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


def _without_credentials(url: str) -> tuple[str, dict[str, str] | None]:
    """A URL's user:password go to the browser as HTTP credentials for that origin only."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    netloc += f":{parts.port}" if parts.port else ""
    bare = parts._replace(netloc=netloc).geturl()
    origin = f"{parts.scheme}://{netloc}"
    return bare, {
        "username": unquote(parts.username),
        "password": unquote(parts.password or ""),
        "origin": origin,
    }


def _proxy_settings(proxy: str | None, bypass: tuple[str, ...]) -> dict[str, str] | None:
    """The egress proxy as Playwright takes it: credentials apart, Chromium's scheme names,
    and no implicit bypass of loopback (``no_proxy`` alone says what goes directly, as for
    HTTP fetches)."""
    if proxy is None:
        return None
    parts = urlsplit(proxy)
    scheme = parts.scheme.lower()
    # Chromium's socks5 already has the proxy resolve names, which socks5h asks for
    scheme = "socks5" if scheme == "socks5h" else scheme
    host = parts.hostname or ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    settings = {"server": f"{scheme}://{netloc}", "bypass": ",".join(("<-loopback>", *bypass))}
    if parts.username is not None:
        settings["username"] = unquote(parts.username)
        settings["password"] = unquote(parts.password or "")
    return settings


def _sandbox() -> tuple[str, ...]:
    # Chromium refuses its sandbox to root (often the user in a container); anyone else
    # keeps it, the isolation that untrusted pages' scripts should run in
    return ("--no-sandbox",) if os.geteuid() == 0 else ()
