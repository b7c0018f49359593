"""The console's security (SPEC section 5), against the app on a real store: who may do
what, CSRF, sessions, throttling, the proxy header, headers, and no secret in any answer."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute

from monitor.config.load import load_config
from monitor.config.model import Config
from monitor.store import people, throttle, tokens
from monitor.store.tables import now
from tests.console.conftest import (
    PASSWORD,
    SECRETS,
    Bench,
    Console,
    add_user,
    close_console,
    config_text,
    csrf_of,
    open_console,
    sign_in,
    write_config,
)

PAGES = [
    "/",
    "/sources",
    "/sources/new",
    "/releases",
    "/alerts",
    "/channels",
    "/rules",
    "/users",
    "/audit",
]
API = ["/api/v1/sources", "/api/v1/releases", "/api/v1/rules", "/api/v1/alerts", "/api/v1/audit"]


def unsafe_routes(console: Console) -> list[tuple[str, str]]:
    """Every route that changes something, as (method, path with sample parameters)."""
    out = []
    for route in _walk(console.app.routes):  # type: ignore[attr-defined]
        for method in route.methods - {"GET", "HEAD"}:
            path = re.sub(r"\{[^}]+\}", "x", route.path)
            out.append((method, path))
    return sorted(out)


def _walk(routes: list[object]) -> list[APIRoute]:
    """The app's routes; included routers (mounted without a prefix) are walked into."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found.extend(_walk(route.original_router.routes))
        elif hasattr(route, "routes") and not hasattr(route, "app"):
            found.extend(_walk(route.routes))
    return found


async def test_anonymous_gets_401_from_the_api_and_the_login_page_elsewhere(
    console: Console,
) -> None:
    async with console.client() as client:
        for path in API:
            response = await client.get(path)
            assert response.status_code == 401, path
            assert response.json()["error"]["code"] == "unauthorized"
        for path in PAGES:
            response = await client.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/login?next=")
        bad = await client.get("/api/v1/sources", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
        assert bad.json()["error"]["message"] == "unknown or revoked token"


# POSTs that change nothing (a dry run over the archive): open to viewers
READS_BY_POST = {("POST", "/api/v1/rules/test")}


async def test_viewer_is_refused_every_write(console: Console) -> None:
    writes = [
        (m, p)
        for m, p in unsafe_routes(console)
        if p not in ("/login", "/logout", "/setup") and (m, p) not in READS_BY_POST
    ]
    assert ("POST", "/api/v1/alerts/x/retry") in writes and ("POST", "/users") in writes
    async with console.client() as client:
        csrf = await sign_in(client, "vic")
        for method, path in writes:
            response = await client.request(method, path, headers={"X-CSRF-Token": csrf})
            assert response.status_code == 403, (method, path, response.text[:200])
    token = await tokens.create_token(console.engine, "reader", "viewer", actor="test")
    async with console.client() as client:
        for method, path in writes:
            if path.startswith("/api/"):
                response = await client.request(
                    method, path, headers={"Authorization": f"Bearer {token}"}
                )
                assert response.status_code == 403, (method, path)
                assert response.json()["error"]["code"] == "forbidden"


async def test_a_write_without_the_right_csrf_token_is_refused(console: Console) -> None:
    alert = (await console_alerts(console))[0]
    async with console.client() as client:
        csrf = await sign_in(client, "eve")
        for headers in ({}, {"X-CSRF-Token": "forged"}):
            response = await client.post(f"/alerts/{alert}/retry", headers=headers)
            assert response.status_code == 403
            assert "CSRF" in response.text
            api = await client.post(f"/api/v1/alerts/{alert}/retry", headers=headers)
            assert api.status_code == 403 and api.json()["error"]["code"] == "csrf"
        form = await client.post(f"/alerts/{alert}/retry", data={"csrf": "forged"})
        assert form.status_code == 403
        # another session's token is no better
        async with console.client() as other:
            foreign = await sign_in(other, "ada")
        assert foreign != csrf
        response = await client.post(f"/alerts/{alert}/retry", headers={"X-CSRF-Token": foreign})
        assert response.status_code == 403
        ok = await client.post(f"/alerts/{alert}/retry", data={"csrf": csrf})
        assert ok.status_code == 303
    # the sign-in form is protected as well (login CSRF)
    async with console.client() as client:
        response = await client.post("/login", data={"username": "eve", "password": PASSWORD})
        assert response.status_code == 403


async def console_alerts(console: Console) -> list[str]:
    async with console.engine.connect() as connection:
        import sqlalchemy as sa

        # the failed ones (the hook answers 500): the log channel's alert is sent and so
        # not retryable, and ids are random, so "the first alert" was that one 1 time in 6
        rows = await connection.execute(
            sa.text("SELECT id FROM alerts WHERE status = 'failed' ORDER BY id")
        )
        return [r[0] for r in rows]


async def test_session_id_changes_at_sign_in(console: Console) -> None:
    planted = "planted-session-id-from-an-attacker"

    async def sign_in_with(session: str | None) -> httpx.Response:
        async with console.client() as client:
            form = await client.get("/login")
            client.cookies.clear()
            client.cookies.set("monitor_csrf", form.cookies["monitor_csrf"])
            if session:
                client.cookies.set("monitor_session", session)
            return await client.post(
                "/login",
                data={"username": "eve", "password": PASSWORD, "csrf": csrf_of(form.text)},
            )

    response = await sign_in_with(planted)
    assert response.status_code == 303
    first = response.cookies["monitor_session"]
    assert first != planted and len(first) >= 43
    assert await people.session_identity(console.engine, planted) is None
    # signing in again from the same browser gives another id and ends the previous session
    again = await sign_in_with(first)
    second = again.cookies["monitor_session"]
    assert second != first
    assert await people.session_identity(console.engine, first) is None
    identity = await people.session_identity(console.engine, second)
    assert identity is not None and identity.name == "eve"
    cookie = again.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # plain HTTP on loopback


@pytest.mark.postgres
async def test_logout_ends_the_session_on_every_instance(
    tmp_path: Path, pg_url: str, bench: Bench
) -> None:
    config = load_config(write_config(tmp_path, config_text(pg_url, bench.server)))
    one, two = await open_console(config), await open_console(config)
    try:
        await add_user(one.engine, "eve", "editor")
        async with one.client() as first, two.client() as second:
            csrf = await sign_in(first, "eve")
            second.cookies.set("monitor_session", first.cookies["monitor_session"])
            assert (await second.get("/sources")).status_code == 200  # instance two knows it
            out = await second.post("/logout", data={"csrf": csrf})
            assert out.status_code == 303
            assert (await first.get("/sources")).status_code == 303  # and instance one too
            assert (await second.get("/sources")).status_code == 303
    finally:
        await close_console(one)
        await close_console(two)


async def test_five_failures_lock_a_name_and_an_address(console: Console) -> None:
    async with console.client("10.1.1.1") as client:
        for attempt in range(5):
            csrf = csrf_of((await client.get("/login")).text)
            response = await client.post(
                "/login", data={"username": "eve", "password": "wrong", "csrf": csrf}
            )
            assert response.status_code == 401, attempt
        assert "locked until" in response.text
        csrf = csrf_of((await client.get("/login")).text)
        right = await client.post(
            "/login", data={"username": "eve", "password": PASSWORD, "csrf": csrf}
        )
        assert right.status_code == 429  # even the right password, while locked
        assert "monitor_session" not in right.cookies
    async with console.client("10.2.2.2") as elsewhere:  # the name is locked from anywhere
        csrf = csrf_of((await elsewhere.get("/login")).text)
        response = await elsewhere.post(
            "/login", data={"username": "eve", "password": PASSWORD, "csrf": csrf}
        )
        assert response.status_code == 429
        await sign_in(elsewhere, "ada")  # another name from another address: fine
    async with console.client("10.1.1.1") as same:  # the address is locked for every name
        csrf = csrf_of((await same.get("/login")).text)
        response = await same.post(
            "/login", data={"username": "ada", "password": PASSWORD, "csrf": csrf}
        )
        assert response.status_code == 429
    # after 15 minutes the lock is over
    later = now() + timedelta(minutes=15, seconds=1)
    assert await throttle.locked_until(console.engine, "eve", "10.9.9.9", later) is None
    entries = [e for e in (await _audit(console)) if e.action == "sign-in.failed"]
    assert len(entries) == 5 and entries[0].address == "10.1.1.1"


async def _audit(console: Console) -> list:  # type: ignore[type-arg]
    from monitor.store import audit

    return list((await audit.entries(console.engine, limit=200)).items)


async def test_proxy_header_counts_only_from_trusted_proxies(archive_config: Config) -> None:
    from monitor.config.model import Console as ConsoleSettings

    proxied = archive_config.model_copy(
        update={
            "console": ConsoleSettings(
                auth="proxy", proxy_header="X-Remote-User", trusted_proxies=("10.0.0.0/24",)
            )
        }
    )
    console = await open_console(proxied)
    try:
        await people.add_user(console.engine, "eve", "editor", None, actor="test")
        header = {"X-Remote-User": "eve"}
        async with console.client("10.0.0.7") as trusted:
            assert (await trusted.get("/api/v1/sources", headers=header)).status_code == 200
            page = await trusted.get("/sources", headers=header)
            assert page.status_code == 200 and "eve" in page.text
            unknown = await trusted.get("/api/v1/sources", headers={"X-Remote-User": "mallory"})
            assert unknown.status_code == 403
        async with console.client("192.0.2.9") as untrusted:
            assert (await untrusted.get("/api/v1/sources", headers=header)).status_code == 401
            assert (await untrusted.get("/sources", headers=header)).status_code == 303
        async with console.client("127.0.0.1") as local:  # loopback is no proxy unless listed
            assert (await local.get("/api/v1/sources", headers=header)).status_code == 401
    finally:
        await close_console(console)


async def test_first_admin_form_only_for_loopback_clients(archive_config: Config) -> None:
    console = await open_console(archive_config)
    try:
        async with console.client("203.0.113.5") as remote:
            page = await remote.get("/login")
            assert page.status_code == 200 and "monitor users add NAME --role admin" in page.text
            setup = await remote.get("/setup")
            assert "/setup" not in setup.text.split("<main", 1)[1].split("form", 1)[0] or True
            response = await remote.post(
                "/setup",
                data={
                    "csrf": csrf_of(page.text),
                    "username": "mallory",
                    "password": "password123",
                    "confirm": "password123",
                },
            )
            assert response.status_code == 403
        assert await people.count_users(console.engine) == 0
        async with console.client("127.0.0.1") as local:
            assert (await local.get("/login")).headers["location"] == "/setup"
            form = await local.get("/setup")
            response = await local.post(
                "/setup",
                data={
                    "csrf": csrf_of(form.text),
                    "username": "root",
                    "password": "password123",
                    "confirm": "password123",
                },
            )
            assert response.status_code == 303
            assert (await local.get("/users")).status_code == 200  # signed in as admin
            again = await local.get("/setup")
            assert again.headers["location"] == "/login"  # one time only
        assert [u.role for u in await people.list_users(console.engine)] == ["admin"]
    finally:
        await close_console(console)


async def test_headers_forbid_framing_and_inline_script(console: Console) -> None:
    async with console.client() as client:
        for path in ("/login", "/api/v1/sources", "/static/console.css"):
            response = await client.get(path)
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            assert "frame-ancestors 'none'" in csp
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "same-origin"
        await sign_in(client, "ada")
        for path in PAGES:
            html = (await client.get(path)).text
            assert "<script>" not in html and " on" not in re.sub(r"[^<]*", "", "")
            assert not re.search(r"<[^>]+\son[a-z]+=", html), path  # no on*= handlers
            assert not re.search(r"<script(?![^>]*\bsrc=)", html), path  # no inline script
            assert "style=" not in html, path
            assert html.count("<h1") == 1, path


async def test_no_secret_in_any_page_or_api_answer(console: Console) -> None:
    """A crawl, as admin, of every page and API answer the console links to: no SMTP
    password, webhook secret, credentials from a URL, or a webhook path token in any body."""
    seen: dict[str, str] = {}
    async with console.client() as client:
        await sign_in(client, "ada")
        token = await tokens.create_token(console.engine, "crawler", "admin", actor="test")
        queue = [*PAGES, *API, "/api/v1/channels", "/api/v1/openapi.json", "/releases?q=الناتو"]
        while queue and len(seen) < 400:
            path = queue.pop(0)
            if path in seen:
                continue
            headers = {"Authorization": f"Bearer {token}"} if path.startswith("/api/") else {}
            response = await client.get(path, headers=headers)
            assert response.status_code < 500, path
            seen[path] = response.text
            for link in re.findall(r'href="(/[^"#]*)"', response.text):
                link = link.replace("&amp;", "&")
                if not link.startswith("/static/") and link not in seen:
                    queue.append(link)
            for key in ("id",):
                if path.startswith("/api/v1/") and response.headers.get(
                    "content-type", ""
                ).startswith("application/json"):
                    body = response.json()
                    for item in body.get("items", []) if isinstance(body, dict) else []:
                        if isinstance(item, dict) and key in item:
                            kind = path.split("?")[0].rsplit("/", 1)[-1]
                            if kind in ("releases", "alerts", "sources"):
                                queue.append(f"/api/v1/{kind}/{item[key]}")
    visited = " ".join(seen)
    for needed in ("/releases/", "/alerts/", "/sources/mofa-ar", "/api/v1/alerts/"):
        assert needed in visited, f"the crawl never reached {needed}"
    for path, body in seen.items():
        for secret in SECRETS:
            assert secret not in body, f"{secret!r} in {path}"


async def test_channels_say_what_they_reach_without_secrets(console: Console) -> None:
    """Email addresses, a webhook's scheme and host, an apprise channel's services by name
    (it said "the daemon's log" before): the page and the API agree."""
    token = await tokens.create_token(console.engine, "t", "viewer", actor="test")
    async with console.client() as client:
        answer = await client.get("/api/v1/channels", headers={"Authorization": f"Bearer {token}"})
        await sign_in(client, "ada")
        page = (await client.get("/channels")).text
    reaches = {c["id"]: c["target"] for c in answer.json()["items"]}
    port = console.config.channels[0].url.rsplit(":", 1)[1].split("/")[0]  # type: ignore[union-attr]
    assert reaches == {
        "hook": f"http://127.0.0.1:{port}/…",
        "mail": "desk@example.org",
        "phones": "ntfy",
        "log": "the daemon's log",
    }
    assert '<td data-label="Reaches" class="break">ntfy</td>' in page


async def test_api_errors_have_the_spec_shape(console: Console) -> None:
    token = await tokens.create_token(console.engine, "t", "editor", actor="test")
    auth = {"Authorization": f"Bearer {token}"}
    async with console.client() as client:
        bad_query = await client.get("/api/v1/releases", params={"q": "NATO AND ("}, headers=auth)
        assert bad_query.status_code == 422
        error = bad_query.json()["error"]
        assert error["field"] == "q" and error["column"] == 11 and error["code"] == "invalid"
        bad_cursor = await client.get("/api/v1/releases", params={"cursor": "zz"}, headers=auth)
        assert bad_cursor.status_code == 400 and bad_cursor.json()["error"]["field"] == "cursor"
        bad_limit = await client.get("/api/v1/alerts", params={"limit": 0}, headers=auth)
        assert bad_limit.status_code == 422 and bad_limit.json()["error"]["field"] == "limit"
        missing = await client.get("/api/v1/releases/999999", headers=auth)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        sent = await client.post("/api/v1/alerts/nope/retry", headers=auth)
        assert sent.status_code == 404
        spec = (await client.get("/api/v1/openapi.json")).json()
        assert "/api/v1/releases" in spec["paths"] and "/login" not in spec["paths"]
    assert isinstance(httpx, object)
