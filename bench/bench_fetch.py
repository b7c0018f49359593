"""CPU per request of the shared HTTP client: the corpus fetched through ``Fetcher``.

The corpus server runs in a child process, so the CPU counted (``time.process_time`` of
this process) is the client's alone: one cold round (244 full downloads) and several warm
rounds (244 conditional GETs answered 304 on kept-alive connections), as a poll makes them.
Run from the project root:

    .venv/bin/python -m bench.bench_fetch [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import time
from multiprocessing.connection import Connection


def _serve(conn: Connection) -> None:
    from bench.corpus_server import CorpusServer, corpus_files

    server = CorpusServer(corpus_files()).start()
    conn.send((server.port, sorted(server.bodies)))
    conn.recv()  # until the parent is done
    server.stop()


async def _round(fetcher: object, urls: list[str], tags: dict[str, str | None]) -> float:
    from monitor.fetch import Fetcher, FetchResult

    assert isinstance(fetcher, Fetcher)

    async def one(url: str) -> FetchResult:
        return await fetcher.fetch(url, etag=tags.get(url), user_agent="bench")

    cpu = time.process_time()
    results = await asyncio.gather(*(one(u) for u in urls))
    cpu = time.process_time() - cpu
    for url, result in zip(urls, results, strict=True):
        tags[url] = result.etag
    return cpu


async def _measure(port: int, names: list[str], rounds: int) -> None:
    from monitor.fetch import Fetcher
    from monitor.http_client import new_client

    urls = [f"http://127.0.0.1:{port}/{name}" for name in names]
    tags: dict[str, str | None] = {}
    async with new_client() as client:
        fetcher = Fetcher(client, max_connections_per_host=8)
        cold = await _round(fetcher, urls, tags)
        warm = [await _round(fetcher, urls, tags) for _ in range(rounds)]
    n = len(urls)
    print(f"cold: {n} full GETs  cpu {cold:.3f} s  ({cold / n * 1e3:.2f} ms a request)")
    print(
        f"warm: {n} conditional GETs (304) x {rounds}  cpu median {statistics.median(warm):.3f} s "
        f"(min {min(warm):.3f}, max {max(warm):.3f}); "
        f"{statistics.median(warm) / n * 1e3:.2f} ms a request"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(child,))
    server.start()
    port, names = parent.recv()
    try:
        asyncio.run(_measure(port, names, args.rounds))
    finally:
        parent.send("done")
        server.join(timeout=10)


if __name__ == "__main__":
    main()
