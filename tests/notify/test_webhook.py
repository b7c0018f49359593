"""The webhook channel against the real loopback HTTP server."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from monitor.config.channel_values import validate_webhook_secret
from monitor.errors import DeliveryError
from monitor.notify.payload import AlertView, build_digest_payload, build_payload
from monitor.notify.webhook import WebhookChannel
from tests.notify.smtp_server import refused_port
from tests.support.http_server import LoopbackServer, Request, Response

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"x" * 32).decode()


class Hooks:
    """One loopback server for the module (each stop costs its poll interval), a fresh
    path prefix per test so routes and recorded requests never mix."""

    def __init__(self, server: LoopbackServer, prefix: str) -> None:
        self.server, self.prefix = server, prefix

    def url(self, path: str) -> str:
        return self.server.url(self.prefix + path)

    def route(self, path: str, handler: Response | Callable[[Request], Response]) -> None:
        self.server.route(self.prefix + path, handler)

    def requests_to(self, path: str) -> list[Request]:
        return self.server.requests_to(self.prefix + path)


@pytest.fixture(scope="module")
def loopback() -> Iterator[LoopbackServer]:
    server = LoopbackServer().start()
    yield server
    server.stop()


@pytest.fixture
def http_server(loopback: LoopbackServer, request: pytest.FixtureRequest) -> Hooks:
    return Hooks(loopback, "/" + str(abs(hash(request.node.nodeid))))


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as c:
        yield c


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


async def test_posts_the_spec_payload_signed(
    http_server: Hooks, client: httpx.AsyncClient, seed_alert: AlertView
) -> None:
    http_server.route("/hook", Response(204))
    await WebhookChannel("soc", http_server.url("/hook"), client, SECRET).send(seed_alert)
    [request] = http_server.requests_to("/hook")
    headers = lower(request.headers)
    assert request.method == "POST"
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert json.loads(request.body.decode("utf-8")) == build_payload(seed_alert)
    assert "الناتو".encode() in request.body  # UTF-8, not \u escapes
    assert headers["webhook-id"] == seed_alert.alert_id
    assert headers["webhook-timestamp"].isdigit()
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(SECRET).verify(request.body, headers) == build_payload(seed_alert)
    with pytest.raises(WebhookVerificationError):
        Webhook(OTHER_SECRET).verify(request.body, headers)


async def test_without_secret_no_signature(
    http_server: Hooks, client: httpx.AsyncClient, make_alert: Callable[..., AlertView]
) -> None:
    http_server.route("/hook", Response(200, b"ok"))
    await WebhookChannel("soc", http_server.url("/hook"), client).send(make_alert())
    [request] = http_server.requests_to("/hook")
    headers = lower(request.headers)
    assert "webhook-signature" not in headers
    assert headers["webhook-id"] == "alert-1"


async def test_retries_carry_the_same_id(
    http_server: Hooks, client: httpx.AsyncClient, make_alert: Callable[..., AlertView]
) -> None:
    http_server.route("/hook", Response(202))
    channel = WebhookChannel("soc", http_server.url("/hook"), client, SECRET)
    await channel.send(make_alert())
    await channel.send(make_alert())
    first, second = http_server.requests_to("/hook")
    assert lower(first.headers)["webhook-id"] == lower(second.headers)["webhook-id"] == "alert-1"
    assert first.body == second.body


async def test_digest(
    http_server: Hooks,
    client: httpx.AsyncClient,
    make_alert: Callable[..., AlertView],
    seed_alert: AlertView,
) -> None:
    http_server.route("/hook", Response(200))
    alerts = [make_alert(), seed_alert]
    await WebhookChannel("soc", http_server.url("/hook"), client, SECRET).send_digest("d-1", alerts)
    [request] = http_server.requests_to("/hook")
    headers = lower(request.headers)
    assert headers["webhook-id"] == "d-1"
    assert Webhook(SECRET).verify(request.body, headers) == build_digest_payload("d-1", alerts)


async def test_a_large_digest_is_parts_each_under_64_kb(
    http_server: Hooks, client: httpx.AsyncClient, make_alert: Callable[..., AlertView]
) -> None:
    # a busy day's digest: 300 alerts with long Arabic summaries and titles
    alerts = [
        make_alert(alert_id=f"a{i}", title="قطر والناتو " * 40, summary="الأمن السيبراني " * 400)
        for i in range(300)
    ]
    http_server.route("/hook", Response(200))
    channel = WebhookChannel("soc", http_server.url("/hook"), client, SECRET)
    await channel.send_digest("d-9", alerts)
    requests = http_server.requests_to("/hook")
    assert len(requests) > 1
    bodies = [Webhook(SECRET).verify(r.body, lower(r.headers)) for r in requests]
    assert all(len(r.body) < 64 * 1024 for r in requests)
    assert [lower(r.headers)["webhook-id"] for r in requests] == [
        f"d-9.{k}" for k in range(1, len(requests) + 1)
    ]
    assert {(b["type"], b["id"], b["parts"]) for b in bodies} == {("digest", "d-9", len(bodies))}
    assert [a["id"] for b in bodies for a in b["alerts"]] == [f"a{i}" for i in range(300)]


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (Response(500, b"boom"), "HTTP 500"),
        (Response(404), "HTTP 404"),
        (Response(429, headers={"Retry-After": "60"}), "HTTP 429"),
        (Response(304), "HTTP 304"),
    ],
)
async def test_non_2xx_fails(
    http_server: Hooks,
    client: httpx.AsyncClient,
    make_alert: Callable[..., AlertView],
    response: Response,
    message: str,
) -> None:
    http_server.route("/hook", response)
    channel = WebhookChannel("soc", http_server.url("/hook"), client, timeout=5.0)
    with pytest.raises(DeliveryError, match=message) as caught:
        await channel.send(make_alert())
    assert str(caught.value) == f"webhook 127.0.0.1: {message}"
    assert not caught.value.permanent


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_redirects_are_not_followed(
    http_server: Hooks,
    client: httpx.AsyncClient,
    make_alert: Callable[..., AlertView],
    status: int,
) -> None:
    http_server.route(
        "/hook", Response(status, headers={"Location": http_server.url("/elsewhere")})
    )
    http_server.route("/elsewhere", Response(200))
    with pytest.raises(DeliveryError, match=f"HTTP {status} redirect"):
        await WebhookChannel("soc", http_server.url("/hook"), client, SECRET).send(make_alert())
    assert http_server.requests_to("/elsewhere") == []


async def test_hanging_server_fails_within_the_deadline(
    http_server: Hooks, client: httpx.AsyncClient, make_alert: Callable[..., AlertView]
) -> None:
    http_server.route("/hook", Response(hang=True))
    with pytest.raises(DeliveryError, match=r"webhook 127\.0\.0\.1") as caught:
        await WebhookChannel("soc", http_server.url("/hook"), client, timeout=0.3).send(
            make_alert()
        )
    assert not caught.value.permanent


async def test_trickling_server_fails_within_the_deadline(
    http_server: Hooks, client: httpx.AsyncClient, make_alert: Callable[..., AlertView]
) -> None:
    # Headers promptly, then a body one byte at a time: the overall deadline still holds.
    def slow(request: Request) -> Response:
        return Response(500, b"x" * 1000, trickle_delay=0.05)

    http_server.route("/hook", slow)
    with pytest.raises(DeliveryError):
        await WebhookChannel("soc", http_server.url("/hook"), client, timeout=0.3).send(
            make_alert()
        )


async def test_connection_refused(
    client: httpx.AsyncClient, make_alert: Callable[..., AlertView]
) -> None:
    url = f"http://127.0.0.1:{refused_port()}/hook/t0ken"
    with pytest.raises(DeliveryError, match=r"webhook 127\.0\.0\.1") as caught:
        await WebhookChannel("soc", url, client, timeout=5.0).send(make_alert())
    assert "t0ken" not in str(caught.value)
    assert not caught.value.permanent


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        (None, None),
        (SECRET, None),
        ("whsec_" + base64.b64encode(b"k" * 24).decode().rstrip("="), None),  # unpadded
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with 'whsec_'"),
        ("whsec_not base64!!", "followed by base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "at least 16"),
        ("whsec_", "at least 16"),
    ],
)
def test_validate_webhook_secret(secret: str | None, problem: str | None) -> None:
    found = validate_webhook_secret(secret)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found
        assert secret is None or secret.removeprefix("whsec_") not in found or secret == "whsec_"


async def test_construction_rejects_a_bad_secret_or_url(client: httpx.AsyncClient) -> None:
    with pytest.raises(ValueError, match="whsec_"):
        WebhookChannel("soc", "https://hooks.example.org/x", client, "hunter2")
    with pytest.raises(ValueError, match="http"):
        WebhookChannel("soc", "ftp://hooks.example.org/x", client)
    channel = WebhookChannel("soc", "https://hooks.example.org/t0ken", client, SECRET)
    assert "t0ken" not in repr(channel) and SECRET not in repr(channel)
