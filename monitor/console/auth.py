"""Who is asking, and may they: identities, roles and the CSRF check (SPEC section 5).

An identity comes from, in order: an ``Authorization: Bearer`` API token; under
``auth: proxy``, the ``proxy_header`` of a request whose peer is a trusted proxy (from any
other address the header is ignored); the session cookie. ``guard`` runs before every
route: it resolves the identity once per request and, for every unsafe method not made
with a token, checks the CSRF token — the session's own, or before sign-in (and behind a
proxy) the double-submit cookie — sent as the ``csrf`` form field or the ``X-CSRF-Token``
header (htmx sends it from the page's ``hx-headers``). ``need(role)`` guards each route.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import Depends, Request

from monitor.console.context import ConsoleContext
from monitor.console.security import client_address, in_networks
from monitor.store import people, tokens
from monitor.store.people import Identity

SESSION_COOKIE = "monitor_session"
CSRF_COOKIE = "monitor_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PRE_SESSION_FORMS = frozenset({"/login", "/setup"})
_UNSET = object()
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class ConsoleError(Exception):
    """An answer other than success; API routes give it as ``{"error": {...}}``."""

    status = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, field: str | None = None, column: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.column = column

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        if self.column is not None:
            error["column"] = self.column
        return {"error": error}


class NotSignedIn(ConsoleError):
    status, code = 401, "unauthorized"


class Forbidden(ConsoleError):
    status, code = 403, "forbidden"


class BadCsrf(Forbidden):
    code = "csrf"


class NotFound(ConsoleError):
    status, code = 404, "not_found"


class Conflict(ConsoleError):
    status, code = 409, "conflict"


class Invalid(ConsoleError):
    status, code = 422, "invalid"


class Locked(ConsoleError):
    status, code = 429, "locked"


def context(request: Request) -> ConsoleContext:
    ctx: ConsoleContext = request.app.state.ctx
    return ctx


def peer_of(request: Request) -> str:
    return request.client.host if request.client else ""


def address_of(request: Request) -> str:
    """The client's address (through a trusted proxy, the one it reports)."""
    settings = context(request).settings
    return client_address(peer_of(request), request.headers.get("x-forwarded-for"), settings)


async def identify(request: Request) -> Identity | None:
    """The caller, resolved once per request; None when anonymous."""
    found = getattr(request.state, "identity", _UNSET)
    if found is not _UNSET:
        return found if isinstance(found, Identity) else None
    identity = await _identify(request)
    request.state.identity = identity
    return identity


async def _identify(request: Request) -> Identity | None:
    ctx = context(request)
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotSignedIn("use the header Authorization: Bearer <token>")
        identity = await tokens.token_identity(ctx.engine, token.strip())
        if identity is None:
            raise NotSignedIn("unknown or revoked token")
        return identity
    settings = ctx.settings
    if settings.auth == "proxy" and in_networks(peer_of(request), settings.trusted_proxies):
        vouched = (request.headers.get(settings.proxy_header) or "").strip()
        if vouched:
            identity = await people.vouched_user(ctx.engine, vouched)
            if identity is None:
                raise Forbidden(
                    f"user {vouched!r} is not known to monitor: an admin adds them with "
                    f"monitor users add NAME --role viewer --no-password"
                )
            return identity
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        return await people.session_identity(ctx.engine, session_id)
    return None


def expected_csrf(request: Request, identity: Identity | None) -> str | None:
    """The session's token; before sign-in (and on the sign-in forms, which a stale tab
    may post while signed in) and behind a proxy, the double-submit cookie's."""
    if request.url.path in PRE_SESSION_FORMS:
        return request.cookies.get(CSRF_COOKIE)
    if identity is not None and identity.via == "session":
        return identity.csrf_token
    return request.cookies.get(CSRF_COOKIE)


async def given_csrf(request: Request) -> str | None:
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.headers.get("content-type", "").startswith(_FORMS):
        value = (await request.form()).get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    return token


async def guard(request: Request) -> None:
    """Before every route: resolve the caller; on an unsafe method, check the CSRF token."""
    identity = await identify(request)
    if request.method in SAFE_METHODS or (identity is not None and identity.via == "token"):
        return  # a bearer token is never sent by a browser on its own: nothing to forge
    expected, given = expected_csrf(request, identity), await given_csrf(request)
    if not expected or not given or not hmac.compare_digest(expected, given):
        raise BadCsrf("missing or wrong CSRF token: reload the page and try again")


def need(role: str) -> Any:
    """A dependency: the caller, signed in and at least ``role``."""

    async def caller(request: Request) -> Identity:
        identity = await identify(request)
        if identity is None:
            raise NotSignedIn("sign in, or send an API token")
        if not identity.can(role):
            raise Forbidden(f"this needs the {role} role; you are {identity.role}")
        return identity

    return Depends(caller)


VIEWER, EDITOR, ADMIN = need("viewer"), need("editor"), need("admin")
