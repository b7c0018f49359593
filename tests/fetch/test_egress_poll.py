"""``proxy:`` as an operator writes it (issue 21): a whole poll and its webhooks, through a
real forwarding proxy on loopback that asks for credentials given as ``${VAR}``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config.load import load_config, read_config
from monitor.config.model import Config
from monitor.errors import ConfigError
from monitor.poll_driver import poll_once
from tests.support.feeds import Item, rss
from tests.support.forward_proxy import ForwardProxy
from tests.support.http_server import LoopbackServer, Response

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[ForwardProxy]:
    for name in PROXY_VARIABLES:  # whatever the machine running the tests has set
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("PROXY_USER", "watch")
    monkeypatch.setenv("PROXY_PASSWORD", "s3cret")
    server = ForwardProxy(credentials="watch:s3cret").start()
    yield server
    server.stop()


@pytest.fixture
def elsewhere() -> Iterator[LoopbackServer]:
    """A second host: the one ``no_proxy`` names."""
    server = LoopbackServer().start()
    yield server
    server.stop()


def _serve(*servers: LoopbackServer) -> None:
    feed = rss([Item("n1", "NATO statement", "NATO", "https://mofa.example/1", datetime.now(UTC))])
    for server in servers:
        for path in ("/a.xml", "/b.xml", "/c.xml"):
            server.route(path, Response(body=feed))
        for path in ("/hook-proxied", "/hook-direct"):
            server.route(path, Response(204))


def _config(
    tmp_path: Path, defaults: list[str], feeds: LoopbackServer, other: LoopbackServer
) -> Config:
    text = "\n".join(
        [
            f"database: sqlite:///{tmp_path / 'monitor.db'}",
            "defaults:",
            *(f"  {line}" for line in defaults),
            "sources:",
            f"  - {{id: via-proxy, url: '{feeds.url('/a.xml')}'}}",
            f"  - {{id: no-proxy-host, url: '{other.url('/b.xml')}'}}",
            f"  - {{id: opted-out, url: '{feeds.url('/c.xml')}', proxy: none}}",
            "rules:",
            "  - {id: nato, query: NATO, channels: [hook-proxied, hook-direct]}",
            "channels:",
            "  - id: hook-proxied",
            "    type: webhook",
            f"    url: {feeds.url('/hook-proxied')}",
            "  - id: hook-direct",
            "    type: webhook",
            f"    url: {feeds.url('/hook-direct')}",
            "    proxy: none",
        ]
    )
    path = tmp_path / "monitor.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    return load_config(path, environ_database=False)


async def _poll_all(config: Config) -> None:
    outcomes = (await poll_once(config, [s.id for s in config.sources], False, None)).outcomes
    assert [(o.source_id, o.ok, o.error) for o in outcomes if not o.ok] == []


async def test_sources_and_webhooks_through_the_proxy(
    tmp_path: Path,
    proxy: ForwardProxy,
    http_server: LoopbackServer,
    elsewhere: LoopbackServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _serve(http_server, elsewhere)
    port = proxy.url.rpartition(":")[2]
    defaults = [
        f"proxy: http://${{PROXY_USER}}:${{PROXY_PASSWORD}}@127.0.0.1:{port}",
        f'no_proxy: ["127.0.0.1:{elsewhere.port}"]',
    ]
    config = _config(tmp_path, defaults, http_server, elsewhere)
    assert "s3cret" not in repr(config)
    caplog.set_level(logging.DEBUG)
    await _poll_all(config)
    # one alert per source and channel (a JSON webhook posts each alert)
    hooked = len(http_server.requests_to("/hook-proxied"))
    assert hooked == 3 and len(http_server.requests_to("/hook-direct")) == 3
    assert sorted(proxy.seen) == [
        f"GET {http_server.url('/a.xml')}",
        *[f"POST {http_server.url('/hook-proxied')}"] * hooked,
    ]
    assert set(proxy.users) == {"watch"}
    # what bypassed the proxy still arrived: the no_proxy host and the opted-out source
    assert len(elsewhere.requests_to("/b.xml")) == 1
    assert len(http_server.requests_to("/c.xml")) == 1
    assert "s3cret" not in caplog.text


async def test_proxy_env_reads_the_standard_variables(
    tmp_path: Path,
    proxy: ForwardProxy,
    http_server: LoopbackServer,
    elsewhere: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _serve(http_server, elsewhere)
    monkeypatch.setenv("HTTP_PROXY", proxy.url.replace("://", "://watch:s3cret@"))
    monkeypatch.setenv("NO_PROXY", f"example.org,127.0.0.1:{elsewhere.port}")
    config = _config(tmp_path, ["proxy: env"], http_server, elsewhere)
    await _poll_all(config)
    assert sorted(proxy.seen) == [
        f"GET {http_server.url('/a.xml')}",
        *[f"POST {http_server.url('/hook-proxied')}"] * 3,
    ]
    assert len(elsewhere.requests_to("/b.xml")) == 1
    assert len(http_server.requests_to("/hook-direct")) == 3


def _problems(tmp_path: Path, *defaults: str) -> list[str]:
    path = tmp_path / "monitor.yaml"
    lines = ["defaults:", *(f"  {line}" for line in defaults)]
    lines += ["sources:", "  - id: mofa", "    url: https://www.mofa.gov.qa/rss"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [line.replace(str(path), "monitor.yaml") for line in caught.value.problems]


def test_bad_proxy_settings_name_their_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    found = _problems(tmp_path, "proxy: ftp://user:s3cret@proxy.example", "no_proxy: [a b]")
    assert len(found) == 2
    assert found[0].startswith("monitor.yaml:2: defaults.proxy: invalid proxy: use env, none")
    assert "s3cret" not in found[0]
    assert found[1].startswith("monitor.yaml:3: defaults.no_proxy[0]: invalid no_proxy host")
    monkeypatch.setenv("HTTPS_PROXY", "gopher://proxy.example")
    (env,) = _problems(tmp_path, "proxy: env")
    assert env.startswith(
        "monitor.yaml:2: defaults.proxy: proxy: env, but HTTPS_PROXY is not usable"
    )


def test_proxy_env_without_the_variables_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    path = tmp_path / "monitor.yaml"
    path.write_text(
        "defaults: {proxy: env}\nsources:\n  - {id: mofa, url: 'https://www.mofa.gov.qa/rss'}\n",
        encoding="utf-8",
    )
    loaded = read_config(path)
    assert [w.replace(str(path), "monitor.yaml") for w in loaded.warnings] == [
        "monitor.yaml:1: warning: defaults.proxy: proxy: env, but none of HTTPS_PROXY, HTTP_PROXY, "
        "ALL_PROXY is set here: requests go directly"
    ]
    monkeypatch.setenv("https_proxy", "http://proxy.internal:3128")
    assert read_config(path).warnings == []
