"""Signing in and out, the first admin, users and tokens (admin), the audit log (admin).

Sign-in: a locked name or address is refused before the password is looked at; a wrong
name or password is one message (which of the two is not said) and counts towards the
lock; success starts a new session — a new id every time, the browser's previous one
ended — and goes back to the page asked for (same site only).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from monitor.console import passwords
from monitor.console.auth import (
    ADMIN,
    SESSION_COOKIE,
    address_of,
    context,
    identify,
    peer_of,
)
from monitor.console.render import page
from monitor.console.security import on_loopback, secure_cookies
from monitor.store import audit, people, throttle, tokens
from monitor.store.people import Identity, PeopleError
from monitor.store.shapes import ROLES
from monitor.times import local_time

router = APIRouter(include_in_schema=False)

DONE = {  # fixed notices after a redirect: nothing from the request is echoed
    "added": "User added.",
    "role": "Role changed.",
    "removed": "User removed.",
    "revoked": "Token revoked.",
}


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never ``//host`` or an absolute URL."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _local(request: Request) -> bool:
    settings = context(request).settings
    return on_loopback(peer_of(request), request.headers.get("x-forwarded-for"), settings)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "/") -> Response:
    ctx = context(request)
    identity = await identify(request)
    if identity is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    if await people.count_users(ctx.engine) == 0 and _local(request):
        return RedirectResponse("/setup", status_code=303)
    return page(
        request, "login.html", identity=None, title="Sign in", **await _login_values(request, next)
    )


async def _login_values(request: Request, next: str, **extra: Any) -> dict[str, Any]:
    ctx = context(request)
    return {
        "next": _safe_next(next),
        "no_users": await people.count_users(ctx.engine) == 0,
        "proxy": ctx.settings.auth == "proxy",
        "error": None,
        "username": "",
        **extra,
    }


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    ctx = context(request)
    address = address_of(request)
    name = username.strip()[:100]
    until = await throttle.locked_until(ctx.engine, name, address)
    if until is not None:
        error = f"Too many failed sign-ins. Try again after {local_time(until, ctx.config.zone)}."
        values = await _login_values(request, next, error=error, username=name)
        return page(request, "login.html", identity=None, status=429, title="Sign in", **values)
    found = await people.password_hash_of(ctx.engine, name)
    if not await passwords.verify_async(found[1] if found else None, password) or found is None:
        locked = await throttle.record_failure(ctx.engine, name, address)
        error = "Wrong username or password."
        if locked is not None:
            error += f" Sign-in is locked until {local_time(locked, ctx.config.zone)}."
        values = await _login_values(request, next, error=error, username=name)
        return page(request, "login.html", identity=None, status=401, title="Sign in", **values)
    session_id, _ = await people.start_session(
        ctx.engine,
        found[0],
        lifetime=ctx.settings.session,
        address=address,
        replacing=request.cookies.get(SESSION_COOKIE),
    )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(ctx.settings.session.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request.url.scheme, ctx.settings),
        path="/",
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        await people.end_session(context(request).engine, session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/setup", response_class=HTMLResponse)
async def setup_form(request: Request) -> Response:
    if await people.count_users(context(request).engine):
        return RedirectResponse("/login", status_code=303)
    return page(
        request,
        "setup.html",
        identity=None,
        title="Create the first admin",
        local=_local(request),
        error=None,
        username="",
    )


@router.post("/setup", response_class=HTMLResponse)
async def setup(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    ctx = context(request)
    local = _local(request)
    error = None
    if not local:
        error = "The first admin can only be created from this machine."
    elif password != confirm:
        error = "The two passwords differ."
    else:
        error = passwords.check_strength(password)
    if error is None:
        try:
            await people.add_user(
                ctx.engine,
                username,
                "admin",
                await passwords.hash_async(password),
                actor=f"setup:{username.strip()[:90]}",
                address=address_of(request),
                first=True,
            )
        except PeopleError as exc:
            if exc.code == "exists":
                return RedirectResponse("/login", status_code=303)
            error = str(exc)
    if error is not None:
        return page(
            request,
            "setup.html",
            identity=None,
            status=403 if not local else 422,
            title="Create the first admin",
            local=local,
            error=error,
            username=username,
        )
    return await login(request, username=username, password=password, next="/")


@router.get("/users", response_class=HTMLResponse)
async def users_page(request: Request, me: Identity = ADMIN, done: str = "") -> Response:
    return await _users(request, me, notice=DONE.get(done))


async def _users(
    request: Request,
    me: Identity,
    *,
    notice: str | None = None,
    error: str | None = None,
    token: str | None = None,
    status: int = 200,
) -> Response:
    ctx = context(request)
    return page(
        request,
        "users.html",
        identity=me,
        status=status,
        title="Users",
        users=await people.list_users(ctx.engine),
        tokens=await tokens.list_tokens(ctx.engine),
        roles=ROLES,
        notice=notice,
        error=error,
        token=token,
    )


@router.post("/users", response_class=HTMLResponse)
async def users_add(
    request: Request,
    username: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "viewer",
    password: Annotated[str, Form()] = "",
    me: Identity = ADMIN,
) -> Response:
    problem = passwords.check_strength(password)
    if problem is None:
        try:
            await people.add_user(
                context(request).engine,
                username,
                role,
                await passwords.hash_async(password),
                actor=me.name,
                address=address_of(request),
            )
        except PeopleError as exc:
            problem = str(exc)
    if problem is not None:
        return await _users(request, me, error=problem, status=422)
    return RedirectResponse("/users?done=added", status_code=303)


@router.post("/users/{name}/role", response_class=HTMLResponse)
async def users_role(
    request: Request, name: str, role: Annotated[str, Form()], me: Identity = ADMIN
) -> Response:
    try:
        await people.set_role(
            context(request).engine, name, role, actor=me.name, address=address_of(request)
        )
    except PeopleError as exc:
        return await _users(request, me, error=str(exc), status=409)
    return RedirectResponse("/users?done=role", status_code=303)


@router.post("/users/{name}/remove", response_class=HTMLResponse)
async def users_remove(request: Request, name: str, me: Identity = ADMIN) -> Response:
    try:
        await people.remove_user(
            context(request).engine, name, actor=me.name, address=address_of(request)
        )
    except PeopleError as exc:
        return await _users(request, me, error=str(exc), status=409)
    return RedirectResponse("/users?done=removed", status_code=303)


@router.post("/tokens", response_class=HTMLResponse)
async def tokens_create(
    request: Request,
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "viewer",
    me: Identity = ADMIN,
) -> Response:
    if not name.strip():
        return await _users(request, me, error="A token needs a name.", status=422)
    try:
        token = await tokens.create_token(
            context(request).engine,
            name.strip(),
            role,
            actor=me.name,
            address=address_of(request),
        )
    except PeopleError as exc:
        return await _users(request, me, error=str(exc), status=409)
    return await _users(request, me, token=token, notice=f"Token {name.strip()} created.")


@router.post("/tokens/{name}/revoke", response_class=HTMLResponse)
async def tokens_revoke(request: Request, name: str, me: Identity = ADMIN) -> Response:
    try:
        await tokens.revoke_token(
            context(request).engine, name, actor=me.name, address=address_of(request)
        )
    except PeopleError as exc:
        return await _users(request, me, error=str(exc), status=404)
    return RedirectResponse("/users?done=revoked", status_code=303)


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(request: Request, cursor: str | None = None, me: Identity = ADMIN) -> Response:
    entries = await audit.entries(context(request).engine, cursor=cursor)
    return page(request, "audit.html", identity=me, title="Audit log", entries=entries)
