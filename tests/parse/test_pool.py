"""ParsePool: worker processes give the same result as parsing in place; errors travel."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitor.errors import ParseError
from monitor.parse.feed import parse_feed
from monitor.parse.pool import ParsePool
from tests.conftest import FEEDS_DIR
from tests.support.hostile import HOSTILE

BIG = FEEDS_DIR / "rbren__rss-parser/test/input/guardian.rss"  # ~150 KB: goes to a worker
SMALL = FEEDS_DIR / "rbren__rss-parser/test/input/narro.rss"  # ~3 KB: parsed in a thread


@pytest.fixture(scope="module")
def pool() -> Iterator[ParsePool]:
    parse_pool = ParsePool(max_workers=2)
    yield parse_pool
    parse_pool.close()


@pytest.mark.parametrize("path", [BIG, SMALL], ids=["worker", "inline"])
async def test_pool_matches_parse_feed(pool: ParsePool, path: object) -> None:
    body = path.read_bytes()  # type: ignore[attr-defined]
    headers = {"content-type": "application/rss+xml"}
    got = await pool.parse(body, headers, "https://example.org/feed")
    assert got == parse_feed(body, headers, "https://example.org/feed")
    assert got.entries


async def test_parse_errors_cross_the_process_boundary(pool: ParsePool) -> None:
    html = next(h for h in HOSTILE if h.name == "bot-challenge HTML page")
    padded = html.body + b"<!-- padding -->" * 2000  # past the inline threshold
    with pytest.raises(ParseError, match="HTML page"):
        await pool.parse(padded, html.headers, "https://example.org/feed")


async def test_many_at_once(pool: ParsePool) -> None:
    import asyncio

    body = BIG.read_bytes()
    results = await asyncio.gather(*(pool.parse(body, {}, f"https://e/{i}") for i in range(4)))
    assert len({len(r.entries) for r in results}) == 1
