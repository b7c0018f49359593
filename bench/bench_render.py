"""Costs of ``render: browser`` (issue 21): a page in Chromium, and the daemon over time.

- one listing page on loopback whose script builds its 20 items after 200 ms, fetched
  over plain HTTP and in the browser: the first rendered fetch (Chromium's start-up
  included), then 20 more one after another: time per page, and the peak memory of the
  browser's whole process tree (RSS summed, and PSS: shared pages divided) while they run;
- 20 such sources in one ``Runtime`` polled as the daemon polls them (all due together,
  at most 4 pages at once), round after round: 6 rounds are an hour of 10-minute polls,
  the default is 12. Each round every page lists two new items. After each round: the
  daemon process' RSS, the browser tree's PSS and its process count.

Prints figures and asserts nothing. Needs Debian's chromium (scripts/ensure-browser).
Run from the project root:

    .venv/bin/python -m bench.bench_render [--rounds 12]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bench.treestat import TreeStat
from monitor.config.load import load_config
from monitor.fetch import Fetcher, FetchLimits
from monitor.http_client import new_client
from monitor.poll_driver import poll_once
from monitor.render import Browser, Render
from monitor.runtime import Runtime
from tests.render.test_render import browser_pids
from tests.support import pages
from tests.support.http_server import LoopbackServer, Request, Response

SOURCES = 20
ITEMS = 20


class Site:
    """Listing pages /s0 … /s19; ``round`` moves every list on by two items."""

    def __init__(self) -> None:
        self.round = 0
        self.server = LoopbackServer().start()
        for i in range(SOURCES):
            self.server.route(f"/s{i}", self.page)

    def page(self, request: Request) -> Response:
        first = self.round * 2
        titles = [f"بيان رقم {n} من الوزارة {request.path}" for n in range(first, first + ITEMS)]
        script = (
            "const titles = " + repr(titles).replace("'", '"') + ";"
            "setTimeout(() => { const list = document.getElementById('news');"
            "titles.forEach((t, i) => { const li = document.createElement('li');"
            "li.className = 'news-item'; li.innerHTML = '<h3></h3><a>more</a>';"
            "li.querySelector('h3').textContent = t;"
            f"li.querySelector('a').href = '{request.path}/' + (i + {first});"
            "list.appendChild(li); }); }, 200);"
        )
        return Response(body=pages.page(script), headers=pages.HTML)


def resident_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * 4096 / 1e6


def browser_tree(marker: str) -> tuple[float, int]:
    """(PSS in MB, process count) of the browser started with ``marker``, now."""
    roots = browser_pids(marker)
    if not roots:
        return 0.0, 0
    with TreeStat(roots[0]) as tree:  # a sample as it starts, and one as it stops
        pass
    return tree.peak_pss_mb, len(tree.processes)


async def per_page(site: Site) -> None:
    url = site.server.url("/s0")
    limits = FetchLimits(deadline=30)
    render = Render("li.news-item")
    client = new_client(follow_redirects=False)
    browser = Browser()
    fetcher = Fetcher(client, 8, browser=browser)
    try:
        start = time.perf_counter()
        for _ in range(20):
            await fetcher.fetch(url, user_agent="bench", limits=limits)
        http = (time.perf_counter() - start) / 20
        start = time.perf_counter()
        first = await fetcher.fetch(url, user_agent="bench", limits=limits, render=render)
        cold = time.perf_counter() - start
        idle_pss, idle_count = browser_tree(browser.marker)
        (root,) = browser_pids(browser.marker)
        times = []
        with TreeStat(root) as tree:
            for _ in range(20):
                start = time.perf_counter()
                await fetcher.fetch(url, user_agent="bench", limits=limits, render=render)
                times.append(time.perf_counter() - start)
        print(f"page: {len(first.body):,} bytes rendered, {ITEMS} items built after 200 ms")
        print(f"  plain HTTP fetch (no list in it): {http * 1000:.1f} ms a page")
        print(f"  first rendered fetch (Chromium's start included): {cold:.2f} s")
        print(
            f"  next 20, one at a time: median {statistics.median(times):.2f} s, "
            f"max {max(times):.2f} s a page"
        )
        print(
            f"  browser tree: {idle_pss:.0f} MB PSS with no page open ({idle_count} processes); "
            f"peak while rendering {tree.peak_pss_mb:.0f} MB PSS / {tree.peak_mb:.0f} MB RSS"
        )
    finally:
        await browser.close()
        await client.aclose()


async def rounds(site: Site, count: int, directory: Path) -> None:
    sources = "".join(
        f"  - id: s{i}\n    url: {site.server.url(f'/s{i}')}\n    type: html\n"
        f"    render: browser\n    interval: 10m\n    select: {pages.SELECT}\n"
        for i in range(SOURCES)
    )
    path = directory / "monitor.yaml"
    path.write_text(
        f"database: sqlite:///{directory / 'monitor.db'}\nsources:\n{sources}"
        "rules:\n  - {id: r, query: الوزارة, channels: [console]}\n"
        "channels:\n  - {id: console, type: log}\n",
        encoding="utf-8",
    )
    config = load_config(path, environ_database=False)
    runtime = await Runtime.start(config)
    before = resident_mb()
    print(f"\n{SOURCES} rendered sources, {count} rounds (6 = an hour of 10-minute polls)")
    print(f"  daemon before the first poll: {before:.0f} MB RSS, no browser")
    print("  round   wall   new  failed  daemon RSS  browser PSS  processes")
    try:
        for number in range(1, count + 1):
            site.round = number
            start = time.perf_counter()
            run = await poll_once(runtime, [s.id for s in config.sources], deliver=False)
            outcomes = run.outcomes
            wall = time.perf_counter() - start
            pss, processes = browser_tree(runtime.browser.marker)
            failed = sum(not o.ok for o in outcomes)
            print(
                f"  {number:5d} {wall:5.1f} s {sum(o.new for o in outcomes):5d} {failed:7d} "
                f"{resident_mb():8.0f} MB {pss:9.0f} MB {processes:10d}"
            )
    finally:
        await runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args()
    site = Site()
    try:
        asyncio.run(per_page(site))
        with tempfile.TemporaryDirectory() as directory:
            asyncio.run(rounds(site, args.rounds, Path(directory)))
    finally:
        site.server.stop()


if __name__ == "__main__":
    main()
