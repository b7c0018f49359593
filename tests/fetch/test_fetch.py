"""Fetcher against a real loopback server: validators, errors, redirects, politeness."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from email.utils import formatdate

import pytest

from monitor.errors import FetchHTTPError, FetchNetworkError, FetchRedirectError
from monitor.fetch import Fetcher, FetchLimits, backoff_delay
from monitor.http_client import new_client
from tests.support.http_server import LoopbackServer, Request, Response

UA = "monitor/0.1 (+https://example.org/monitor)"
FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


async def fetch(url: str, per_host: int = 2, **kwargs: object):  # type: ignore[no-untyped-def]
    async with new_client() as client:
        return await Fetcher(client, per_host).fetch(url, user_agent=UA, **kwargs)  # type: ignore[arg-type]


async def test_conditional_get_stores_both_validators_and_gets_304(
    http_server: LoopbackServer,
) -> None:
    etag, modified = '"v1"', "Wed, 13 Mar 2019 10:00:00 GMT"

    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == etag:
            return Response(304, headers={"ETag": etag})
        return Response(200, FEED, {"ETag": etag, "Last-Modified": modified})

    http_server.route("/feed", handler)
    first = await fetch(http_server.url("/feed"))
    assert (first.status, first.not_modified, first.body) == (200, False, FEED)
    assert (first.etag, first.last_modified) == (etag, modified)
    assert first.headers["etag"] == etag  # lower-case keys

    second = await fetch(http_server.url("/feed"), etag=first.etag, last_modified=modified)
    assert (second.status, second.not_modified, second.body) == (304, True, b"")
    # validators survive a 304 that repeats only some of them
    assert (second.etag, second.last_modified) == (etag, modified)
    sent = http_server.requests_to("/feed")[1].headers
    assert sent["If-None-Match"] == etag
    assert sent["If-Modified-Since"] == modified
    assert sent["User-Agent"] == UA
    assert "If-None-Match" not in http_server.requests_to("/feed")[0].headers


async def test_not_modified_keeps_the_connection_for_the_next_request(
    http_server: LoopbackServer,
) -> None:
    # a 304 left unread made httpx close the connection: a warm poll of 250 feeds on one
    # host then paid 250 TCP handshakes
    etag = '"v1"'

    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == etag:
            return Response(304, headers={"ETag": etag})
        return Response(200, FEED, {"ETag": etag})

    http_server.route("/feed", handler)
    async with new_client() as client:
        fetcher = Fetcher(client, 1)
        results = [
            await fetcher.fetch(http_server.url("/feed"), etag=etag, user_agent=UA)
            for _ in range(3)
        ]
    assert [r.status for r in results] == [304, 304, 304]
    peers = {r.peer for r in http_server.requests_to("/feed")}
    assert len(peers) == 1, peers


async def test_body_hash_identifies_unchanged_bodies(http_server: LoopbackServer) -> None:
    http_server.route("/a", Response(200, FEED))
    http_server.route("/b", Response(200, FEED + b" "))
    a1, a2, b = [await fetch(http_server.url(p)) for p in ("/a", "/a", "/b")]
    assert a1.body_sha256 == a2.body_sha256 != b.body_sha256


@pytest.mark.parametrize(
    ("status", "retry_after", "low", "high", "message"),
    [
        (503, "120", 120, 120, "HTTP 503 Service Unavailable (retry after 120 s)"),
        (429, "7", 7, 7, "HTTP 429 Too Many Requests (retry after 7 s)"),
        (429, "date+90", 88, 91, "HTTP 429 Too Many Requests (retry after "),
        (503, "date-30", 0, 0, "HTTP 503 Service Unavailable (retry after 0 s)"),
        (503, "soon", None, None, "HTTP 503 Service Unavailable"),
        (500, "120", None, None, "HTTP 500 Internal Server Error"),
        (404, None, None, None, "HTTP 404 Not Found"),
    ],
)
async def test_http_errors_carry_status_and_retry_after(
    http_server: LoopbackServer,
    status: int,
    retry_after: str | None,
    low: float | None,
    high: float | None,
    message: str,
) -> None:
    def handler(request: Request) -> Response:
        headers = {}
        if retry_after and retry_after.startswith("date"):
            # relative to the Date header the server sends with the same response
            headers["Retry-After"] = formatdate(time.time() + int(retry_after[4:]), usegmt=True)
        elif retry_after:
            headers["Retry-After"] = retry_after
        return Response(status, b"busy", headers)

    http_server.route("/feed", handler)
    with pytest.raises(FetchHTTPError) as caught:
        await fetch(http_server.url("/feed"))
    error = caught.value
    assert error.status == status
    assert str(error).startswith(message)
    assert "\n" not in str(error)
    if low is None:
        assert error.retry_after is None
    else:
        assert error.retry_after is not None and low <= error.retry_after <= high  # type: ignore[operator]


@pytest.mark.parametrize(
    ("chain", "final", "permanent"),
    [
        ({"/old": (301, "/feed")}, "/feed", "/feed"),
        ({"/old": (308, "/feed")}, "/feed", "/feed"),
        ({"/old": (302, "/feed")}, "/feed", None),
        ({"/old": (307, "/feed")}, "/feed", None),
        # a permanent move to a temporary redirect: the move is to the middle URL
        ({"/old": (301, "/mid"), "/mid": (302, "/feed")}, "/feed", "/mid"),
        ({"/old": (302, "/mid"), "/mid": (301, "/feed")}, "/feed", None),
        ({"/old": (301, "mid"), "/mid": (308, "/feed")}, "/feed", "/feed"),  # relative
    ],
)
async def test_redirects_record_permanent_moves(
    http_server: LoopbackServer,
    chain: dict[str, tuple[int, str]],
    final: str,
    permanent: str | None,
) -> None:
    for path, (status, location) in chain.items():
        http_server.route(path, Response(status, headers={"Location": location}))
    http_server.route("/feed", Response(200, FEED))
    result = await fetch(http_server.url("/old"))
    assert result.url == http_server.url(final)
    assert result.permanent_redirect == (http_server.url(permanent) if permanent else None)
    assert result.body == FEED


@pytest.mark.parametrize(("hops", "ok"), [(5, True), (6, False)])
async def test_at_most_five_redirects(http_server: LoopbackServer, hops: int, ok: bool) -> None:
    for i in range(hops):
        http_server.route(f"/r{i}", Response(301, headers={"Location": f"/r{i + 1}"}))
    http_server.route(f"/r{hops}", Response(200, FEED))
    if ok:
        assert (await fetch(http_server.url("/r0"))).url == http_server.url(f"/r{hops}")
    else:
        with pytest.raises(FetchRedirectError, match="more than 5 redirects"):
            await fetch(http_server.url("/r0"))
        assert len(http_server.requests) == 6  # the 7th URL is never asked for


async def test_redirect_loop_is_refused(http_server: LoopbackServer) -> None:
    http_server.route("/a", Response(301, headers={"Location": "/b"}))
    http_server.route("/b", Response(301, headers={"Location": "/a"}))
    with pytest.raises(FetchRedirectError, match="more than 5 redirects"):
        await fetch(http_server.url("/a"))
    assert len(http_server.requests) == 6


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "ftp://example.org/feed", "javascript:alert(1)", ""]
)
async def test_redirect_to_non_http_is_refused(http_server: LoopbackServer, location: str) -> None:
    http_server.route("/old", Response(302, headers={"Location": location}))
    with pytest.raises(FetchRedirectError):
        await fetch(http_server.url("/old"))


async def test_refused_connection_is_a_network_error() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and is closed now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FetchNetworkError) as caught:
        await fetch(f"http://127.0.0.1:{port}/feed")
    assert caught.value.kind == "network"
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("per_host", [1, 2, 3])
async def test_per_host_concurrency_is_limited(http_server: LoopbackServer, per_host: int) -> None:
    lock = threading.Lock()
    release = threading.Event()
    in_flight = [0, 0]  # now, highest seen

    def handler(request: Request) -> Response:
        with lock:
            in_flight[0] += 1
            in_flight[1] = max(in_flight[1], in_flight[0])
        release.wait(10)
        with lock:
            in_flight[0] -= 1
        return Response(200, FEED)

    http_server.route("/feed", handler)
    limits = FetchLimits(deadline=20)
    async with new_client() as client:
        fetcher = Fetcher(client, max_connections_per_host=per_host)
        tasks = [
            asyncio.create_task(
                fetcher.fetch(http_server.url("/feed"), user_agent=UA, limits=limits)
            )
            for _ in range(per_host + 3)
        ]
        # the first `per_host` requests arrive and are held; then let everything through
        await asyncio.to_thread(http_server.wait_for_requests, "/feed", per_host)
        release.set()
        results = await asyncio.gather(*tasks)
    assert all(r.status == 200 for r in results)
    assert len(http_server.requests_to("/feed")) == per_host + 3
    assert in_flight[1] == per_host


async def test_requests_to_other_hosts_are_not_held_back(http_server: LoopbackServer) -> None:
    """127.0.0.1 and localhost are different hosts: one's limit does not block the other."""
    release = threading.Event()

    def slow(request: Request) -> Response:
        release.wait(10)
        return Response(200, FEED)

    http_server.route("/slow", slow)
    http_server.route("/fast", Response(200, FEED))
    async with new_client() as client:
        fetcher = Fetcher(client, max_connections_per_host=1)
        held = asyncio.create_task(fetcher.fetch(http_server.url("/slow"), user_agent=UA))
        await asyncio.to_thread(http_server.wait_for_requests, "/slow", 1)
        other = f"http://localhost:{http_server.port}/fast"
        assert (await fetcher.fetch(other, user_agent=UA)).status == 200
        release.set()
        assert (await held).status == 200


@pytest.mark.parametrize(
    ("failures", "retry_after", "expected"),
    [
        (0, None, 0),
        (1, None, 60),
        (2, None, 120),
        (5, None, 960),
        (9, None, 15360),  # 60 * 2**8, still under the cap
        (10, None, 6 * 3600),
        (1000, None, 6 * 3600),  # never overflows, never gives up
        (1, 300, 300),  # Retry-After longer: it wins
        (5, 10, 960),  # shorter: backoff wins
        (1, 10 * 86400, 86400),  # a week is clamped to a day
    ],
)
def test_backoff_delay(failures: int, retry_after: float | None, expected: float) -> None:
    assert backoff_delay(failures, retry_after=retry_after) == expected
