"""The egress proxy (issue 21): which requests go through it, on real loopback proxies.

A forwarding HTTP proxy (absolute URIs for http, CONNECT for https) and a SOCKS5 proxy
record what they were asked to reach; the feed servers record what reached them.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from monitor.egress import DIRECT, Egress, no_proxy_problem, proxy_problem, resolve
from monitor.errors import FetchHTTPError, FetchNetworkError
from monitor.fetch import Fetcher
from monitor.http_client import Clients
from tests.support.forward_proxy import ForwardProxy, SocksProxy
from tests.support.http_server import LoopbackServer, Response

VIA = "http://proxy.internal:3128"


@pytest.mark.parametrize(
    ("url", "no_proxy", "through"),
    [
        ("https://www.mofa.gov.qa/rss", (), True),
        ("https://www.mofa.gov.qa/rss", ("mofa.gov.qa",), False),  # subdomains too
        ("https://www.mofa.gov.qa/rss", (".gov.qa",), False),
        ("https://mofa.gov.qa/rss", ("mofa.gov.qa",), False),
        ("https://notmofa.gov.qa/rss", ("mofa.gov.qa",), True),  # not a suffix of a label
        ("https://MOFA.gov.qa./rss", ("mofa.gov.qa",), False),
        ("https://mofa.gov.qa/rss", ("mofa.gov.qa:8443",), True),  # another port
        ("https://mofa.gov.qa:8443/rss", ("mofa.gov.qa:8443",), False),
        ("https://mofa.gov.qa/rss", ("mofa.gov.qa:443",), False),  # the scheme's port
        ("http://10.1.2.3/feed", ("10.0.0.0/8",), False),
        ("http://192.168.1.3/feed", ("10.0.0.0/8",), True),
        ("http://[::1]:8080/feed", ("::1",), False),
        ("http://[::1]:8080/feed", ("[::1]:8080",), False),
        ("http://[::1]:8081/feed", ("[::1]:8080",), True),
        ("http://intranet/feed", ("*",), False),
    ],
)
def test_no_proxy_hosts_go_directly(url: str, no_proxy: tuple[str, ...], through: bool) -> None:
    assert Egress(VIA, VIA, no_proxy).proxy_for(url) == (VIA if through else None)


def test_the_proxy_per_scheme_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://secure.internal:3128")
    monkeypatch.setenv("HTTP_PROXY", "plain.internal:8080")  # no scheme: http://, as curl
    monkeypatch.setenv("NO_PROXY", "intranet.example, 10.0.0.0/8")
    egress = resolve("env", ("mail.example",))
    assert egress.proxy_for("https://www.nato.int/rss") == "http://secure.internal:3128"
    assert egress.proxy_for("http://www.nato.int/rss") == "http://plain.internal:8080"
    for direct in ("https://intranet.example/", "http://10.9.9.9/", "https://mail.example/"):
        assert egress.proxy_for(direct) is None
    assert resolve("none", ("x",)) == DIRECT


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("http://proxy.example:3128", None),
        ("socks5://user:pw@proxy.example:1080", None),
        ("env", None),
        ("none", None),
        ("ftp://proxy.example", "invalid proxy: use env, none, or a URL"),
        ("proxy.example:3128", "invalid proxy: use env, none, or a URL"),
        ("http://user:s3cret@proxy.example:x", "invalid proxy: use env, none, or a URL"),
        ("http://proxy.example:3128/path", "without a path"),
    ],
)
def test_proxy_settings_checked(value: str, problem: str | None) -> None:
    found = proxy_problem(value)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found and "s3cret" not in found


@pytest.mark.parametrize(
    ("entry", "ok"),
    [
        ("example.org", True),
        (".example.org", True),
        ("example.org:8443", True),
        ("10.0.0.0/8", True),
        ("::1", True),
        ("[::1]:8080", True),
        ("*", True),
        ("exa mple.org", False),
        ("example.org:https", False),
        ("", False),
    ],
)
def test_no_proxy_entries_checked(entry: str, ok: bool) -> None:
    assert (no_proxy_problem(entry) is None) is ok


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    server = ForwardProxy().start()
    yield server
    server.stop()


@pytest.fixture
async def clients() -> AsyncIterator[Clients]:
    routes = Clients()
    yield routes
    await routes.aclose()


async def test_a_source_is_fetched_through_the_proxy(
    http_server: LoopbackServer, proxy: ForwardProxy, clients: Clients
) -> None:
    http_server.route("/feed", Response(body=b"<rss/>", headers={"ETag": '"v1"'}))
    url = http_server.url("/feed")
    fetcher = Fetcher(clients)
    egress = Egress(proxy.url, proxy.url)
    first = await fetcher.fetch(url, user_agent="t", egress=egress)
    again = await fetcher.fetch(url, etag=first.etag, user_agent="t", egress=egress)
    assert first.body == b"<rss/>" and again.status in (200, 304)
    assert proxy.seen == [f"GET {url}", f"GET {url}"]
    assert [r.headers.get("If-None-Match") for r in http_server.requests_to("/feed")] == [
        None,
        '"v1"',
    ]


async def test_no_proxy_hosts_bypass_it(
    http_server: LoopbackServer, proxy: ForwardProxy, clients: Clients
) -> None:
    other = LoopbackServer().start()
    try:
        for server in (http_server, other):
            server.route("/feed", Response(body=b"<rss/>"))
        egress = Egress(proxy.url, proxy.url, (f"127.0.0.1:{other.port}",))
        fetcher = Fetcher(clients)
        await fetcher.fetch(http_server.url("/feed"), user_agent="t", egress=egress)
        await fetcher.fetch(other.url("/feed"), user_agent="t", egress=egress)
        assert proxy.seen == [f"GET {http_server.url('/feed')}"]
        assert len(other.requests_to("/feed")) == 1
    finally:
        other.stop()


async def test_a_redirect_is_routed_again(
    http_server: LoopbackServer, proxy: ForwardProxy, clients: Clients
) -> None:
    other = LoopbackServer().start()
    try:
        other.route("/feed", Response(body=b"<rss/>"))
        http_server.route("/old", Response(301, headers={"Location": other.url("/feed")}))
        # the first host through the proxy, the one it moved to directly
        egress = Egress(proxy.url, proxy.url, (f"127.0.0.1:{other.port}",))
        result = await Fetcher(clients).fetch(
            http_server.url("/old"), user_agent="t", egress=egress
        )
        assert result.body == b"<rss/>" and result.permanent_redirect == other.url("/feed")
        assert proxy.seen == [f"GET {http_server.url('/old')}"]
    finally:
        other.stop()


async def test_https_goes_through_a_tunnel(
    tls_server: tuple[int, Path], proxy: ForwardProxy
) -> None:
    port, cert = tls_server
    routes = Clients(verify=ssl.create_default_context(cafile=cert))
    try:
        url = f"https://127.0.0.1:{port}/feed"
        result = await Fetcher(routes).fetch(url, user_agent="t", egress=Egress(None, proxy.url))
        assert result.body.decode() == "مرحبا"
        assert proxy.seen == [f"CONNECT 127.0.0.1:{port}"]
    finally:
        await routes.aclose()


async def test_socks5(http_server: LoopbackServer, clients: Clients) -> None:
    socks = SocksProxy(credentials="watch:desk").start()
    try:
        http_server.route("/feed", Response(body=b"<rss/>"))
        via = f"socks5://watch:desk@127.0.0.1:{socks.port}"
        result = await Fetcher(clients).fetch(
            http_server.url("/feed"), user_agent="t", egress=Egress(via, via)
        )
        assert result.body == b"<rss/>"
        assert socks.seen == [f"SOCKS 127.0.0.1:{http_server.port}"]
    finally:
        socks.stop()


async def test_proxy_credentials_are_sent_and_never_shown(
    http_server: LoopbackServer, clients: Clients
) -> None:
    guarded = ForwardProxy(credentials="watch:s3cret").start()
    try:
        http_server.route("/feed", Response(body=b"<rss/>"))
        url = http_server.url("/feed")
        good = guarded.url.replace("://", "://watch:s3cret@")
        fetcher = Fetcher(clients)
        await fetcher.fetch(url, user_agent="t", egress=Egress(good, good))
        bad = guarded.url.replace("://", "://watch:wrong@")
        with pytest.raises(FetchHTTPError, match=r"^HTTP 407 Proxy Authentication Required$"):
            await fetcher.fetch(url, user_agent="t", egress=Egress(bad, bad))
        assert guarded.users == ["watch", "watch"]
    finally:
        guarded.stop()
    # a proxy that does not answer: the error names it, without its credentials
    free = socket.create_server(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    gone = f"http://watch:s3cret@127.0.0.1:{port}"
    with pytest.raises(FetchNetworkError) as refused:
        await fetcher.fetch(url, user_agent="t", egress=Egress(gone, gone))
    assert str(refused.value) == (
        f"cannot reach 127.0.0.1 through the proxy 127.0.0.1:{port}: "
        "Connection refused (ConnectError)"
    )
