"""Fetch limits against a real loopback server: deadline, read timeout, decoded-size cap."""

from __future__ import annotations

import functools
import gzip
import re
import tracemalloc
import zlib

import pytest

from monitor.errors import FetchError, FetchTimeout, FetchTooLarge
from monitor.fetch import Fetcher, FetchLimits, FetchResult
from monitor.http_client import new_client
from tests.support.hostile import gzip_bomb
from tests.support.http_server import LoopbackServer, Response

UA = "monitor-test"
FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>' * 50


async def fetch(url: str, limits: FetchLimits) -> FetchResult:
    async with new_client() as client:
        return await Fetcher(client).fetch(url, user_agent=UA, limits=limits)


@functools.cache
def bomb() -> bytes:
    return gzip_bomb(1024)


def test_the_bomb_is_what_it_claims() -> None:
    """~1 KB per MiB on the wire; the construction is checked by inflating a 16 MiB one as
    a stream (the 1 GiB one is the same blocks repeated, with the size in its trailer)."""
    small = gzip_bomb(16)
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    total, data = 0, small
    while data:
        piece = inflater.decompress(data, 1 << 22)
        assert piece.count(0) == len(piece)
        total += len(piece)
        data = inflater.unconsumed_tail
    assert inflater.eof and not inflater.unused_data and total == 16 << 20
    body = bomb()
    assert 900_000 < len(body) < 1_200_000
    assert int.from_bytes(body[-4:], "little") == 1 << 30  # ISIZE: 1 GiB


async def test_trickling_server_is_cut_off_by_the_deadline(http_server: LoopbackServer) -> None:
    # one byte every 50 ms: each read is quick, so only the overall deadline can stop it
    http_server.route("/feed", Response(200, FEED, trickle_delay=0.05, chunk_size=1))
    limits = FetchLimits(read_timeout=5, deadline=0.5)
    with pytest.raises(FetchTimeout) as caught:
        await fetch(http_server.url("/feed"), limits)
    match = re.fullmatch(r"deadline of 0\.5 s passed after (\d+) bytes", str(caught.value))
    assert match and 0 < int(match.group(1)) < len(FEED)
    assert caught.value.kind == "timeout"


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (FetchLimits(read_timeout=0.2, deadline=10), r"read timeout \(no data for 0\.2 s\)"),
        (FetchLimits(read_timeout=10, deadline=0.3), r"deadline of 0\.3 s passed after 0 bytes"),
    ],
)
async def test_silent_server_times_out(
    http_server: LoopbackServer, limits: FetchLimits, message: str
) -> None:
    http_server.route("/feed", Response(hang=True))
    with pytest.raises(FetchTimeout, match=message):
        await fetch(http_server.url("/feed"), limits)


async def test_gzip_bomb_is_cut_off_without_taking_the_memory(
    http_server: LoopbackServer,
) -> None:
    http_server.route("/feed", Response(200, bomb(), {"Content-Encoding": "gzip"}))
    tracemalloc.start()
    try:
        with pytest.raises(FetchTooLarge) as caught:
            await fetch(http_server.url("/feed"), FetchLimits())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert re.fullmatch(
        r"body passed 10000000 bytes decoded \(after \d+ bytes on the wire\)", str(caught.value)
    )
    # the cap is 10 MB; the 1 GiB never exists in memory (the bomb itself is ~1 MB)
    assert peak < 40_000_000


def _multi_member_gzip(data: bytes) -> bytes:
    half = len(data) // 2
    return gzip.compress(data[:half]) + gzip.compress(data[half:])


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("gzip", _multi_member_gzip),
        ("gzip", lambda data: gzip.compress(data) + b"\0\0junk"),  # padding after the member
        ("deflate", zlib.compress),  # zlib-wrapped, as the RFC says
        ("deflate", lambda data: zlib.compress(data, wbits=-15)),  # raw, as IIS sends
        ("identity", lambda data: data),
    ],
)
async def test_encoded_bodies_are_decoded(
    http_server: LoopbackServer, encoding: str, encode: object
) -> None:
    http_server.route("/feed", Response(200, encode(FEED), {"Content-Encoding": encoding}))  # type: ignore[operator]
    result = await fetch(http_server.url("/feed"), FetchLimits())
    assert result.body == FEED
    assert http_server.requests_to("/feed")[0].headers["Accept-Encoding"] == "gzip, deflate"


@pytest.mark.parametrize(
    ("encoding", "body"),
    [("gzip", b"this is not gzip at all"), ("br", b"\x0b\x02\x80hello\x03"), ("zstd", b"x")],
)
async def test_undecodable_bodies_are_fetch_errors(
    http_server: LoopbackServer, encoding: str, body: bytes
) -> None:
    http_server.route("/feed", Response(200, body, {"Content-Encoding": encoding}))
    with pytest.raises(FetchError) as caught:
        await fetch(http_server.url("/feed"), FetchLimits())
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("size", "too_large"), [(1000, False), (1001, True)])
async def test_plain_body_cap_is_exact(
    http_server: LoopbackServer, size: int, too_large: bool
) -> None:
    http_server.route("/feed", Response(200, b"x" * size))
    limits = FetchLimits(max_bytes=1000)
    if too_large:
        with pytest.raises(FetchTooLarge):
            await fetch(http_server.url("/feed"), limits)
    else:
        assert len((await fetch(http_server.url("/feed"), limits)).body) == size


@pytest.mark.parametrize(("size", "too_large"), [(1000, False), (1001, True)])
async def test_gzip_body_cap_counts_decoded_bytes(
    http_server: LoopbackServer, size: int, too_large: bool
) -> None:
    http_server.route(
        "/feed", Response(200, gzip.compress(b"y" * size), {"Content-Encoding": "gzip"})
    )
    limits = FetchLimits(max_bytes=1000)
    if too_large:
        with pytest.raises(FetchTooLarge):
            await fetch(http_server.url("/feed"), limits)
    else:
        assert (await fetch(http_server.url("/feed"), limits)).body == b"y" * size
