"""The console's defences that do not depend on who is asking.

- Response headers on everything: a Content-Security-Policy with no inline script or style
  and nothing from another site, no framing, no MIME sniffing, no referrer off-site, no
  caching of pages (they hold release text and people's names).
- The client's address: the peer, or — when the peer is one of ``trusted_proxies`` — the
  address that proxy appended to ``X-Forwarded-For``. Throttling and the loopback-only
  first-admin form use it; uvicorn's own forwarded-header handling is off.
- Cookies: ``Secure`` unless the console is served over plain HTTP on loopback.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.config.model import Console

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class SecurityHeaders:
    """ASGI middleware: the headers above on every response; ``no-store`` except static."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers.extend(h for h in HEADERS if h[0] not in names)
                if not static and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def in_networks(address: str, networks: Iterable[str]) -> bool:
    parsed = _address(address)
    if parsed is None:
        return False
    return any(parsed in ipaddress.ip_network(n, strict=False) for n in networks)


def is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    parsed = _address(address)
    return parsed is not None and parsed.is_loopback


def client_address(peer: str, forwarded_for: str | None, settings: Console) -> str:
    """The client's address: through a trusted proxy, the one it appended last."""
    if forwarded_for and in_networks(peer, settings.trusted_proxies):
        last = forwarded_for.split(",")[-1].strip()
        if _address(last) is not None:
            return last
    return peer


def on_loopback(peer: str, forwarded_for: str | None, settings: Console) -> bool:
    """Whether the client itself is on this machine (not a proxy relaying someone else)."""
    if in_networks(peer, settings.trusted_proxies) and not forwarded_for:
        return False  # a proxy that does not say for whom it asks
    return is_loopback(client_address(peer, forwarded_for, settings))


def secure_cookies(scheme: str, settings: Console) -> bool:
    """``Secure`` unless served over plain HTTP on loopback (SPEC section 5)."""
    if scheme == "https" or (settings.public_url or "").startswith("https:"):
        return True
    host = settings.listen.rpartition(":")[0].strip("[]")
    return not is_loopback(host)
