"""The console's ASGI application: pages, the API, static files, and the error answers.

One FastAPI app. Its OpenAPI (the API routes only) is at ``/api/v1/openapi.json``; the
interactive docs are off (they load scripts from another site). ``auth.guard`` runs before
every route. An error is ``{"error": {...}}`` under ``/api/`` and an HTML page elsewhere,
where "not signed in" is a redirect to the sign-in page that comes back afterwards.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from monitor.console import api, feeds, items_api, preview
from monitor.console.auth import ConsoleError, NotSignedIn, guard, identify
from monitor.console.context import ConsoleContext
from monitor.console.pages import alerts, archive, overview, people, rules, source_form
from monitor.console.render import page
from monitor.console.security import SecurityHeaders

log = logging.getLogger("monitor.console")
STATIC = Path(__file__).resolve().parent / "static"
_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
    422: "Invalid",
    429: "Locked",
}


def build_app(ctx: ConsoleContext) -> FastAPI:
    app = FastAPI(
        title="monitor",
        summary="The read API of monitor: sources, releases, rules, alerts (SPEC section 5).",
        version="1",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(guard)],
    )
    app.state.ctx = ctx
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    pages = (people.router, source_form.router, overview.router, archive.router, alerts.router)
    # /sources/new before overview's /sources/{id}; the APIs after the pages
    routers = (*pages, rules.router, items_api.router, feeds.router)
    for router in (*routers, api.router, preview.router):
        app.include_router(router)
    app.add_exception_handler(ConsoleError, _console_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    return app


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _console_error(request: Request, exc: ConsoleError) -> Response:
    if _is_api(request):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)
    if isinstance(exc, NotSignedIn) and request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    if isinstance(exc, NotSignedIn):
        return RedirectResponse("/login", status_code=303)
    return await _error_page(request, exc.status, exc.message)


async def _error_page(request: Request, status: int, message: str) -> Response:
    try:
        identity = await identify(request)
    except ConsoleError:
        identity = None
    return page(
        request,
        "error.html",
        identity=identity,
        status=status,
        title=_TITLES.get(status, "Error"),
        message=message,
        code=status,
    )


async def _http_error(request: Request, exc: HTTPException) -> Response:
    codes = {404: "not_found", 405: "method_not_allowed"}
    message = "no such page" if exc.status_code == 404 else str(exc.detail)
    if _is_api(request):
        body = {"error": {"code": codes.get(exc.status_code, "error"), "message": message}}
        return JSONResponse(body, status_code=exc.status_code)
    return await _error_page(request, exc.status_code, message)


async def _invalid(request: Request, exc: RequestValidationError) -> Response:
    first = exc.errors()[0] if exc.errors() else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("query", "path", "body")]
    field = ".".join(location) or None
    message = f"{field}: {first.get('msg', 'invalid')}" if field else str(first.get("msg"))
    if _is_api(request):
        error: dict[str, object] = {"code": "invalid", "message": message}
        if field:
            error["field"] = field
        return JSONResponse({"error": error}, status_code=422)
    return await _error_page(request, 400, message)
