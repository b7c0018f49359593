"""Templates: one base layout, autoescape on, times in the config's zone.

``page`` renders a template with what every page needs: the caller, the CSRF token for
its forms and htmx calls (the session's, or a double-submit cookie set here before
sign-in), and the navigation. Release text reaches templates only as data: autoescaped,
in ``dir="auto"`` elements, matched terms as ``Segment`` runs (never as markup).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from monitor.console.auth import CSRF_COOKIE, context, expected_csrf
from monitor.console.security import secure_cookies
from monitor.store.people import Identity, new_secret
from monitor.store.tables import now
from monitor.times import local_time

TEMPLATES = Path(__file__).resolve().parent / "templates"

STATUS_WORDS = {
    "ok": "OK",
    "failing": "Failing",
    "never": "Not polled yet",
    "pending": "Pending",
    "sent": "Sent",
    "failed": "Failed, will retry",
    "dead": "Dead",
    "muted": "Muted, not sent",
}
NAV = (
    ("/", "Overview", "viewer"),
    ("/sources", "Sources", "viewer"),
    ("/releases", "Releases", "viewer"),
    ("/alerts", "Alerts", "viewer"),
    ("/rules", "Rules", "viewer"),
    ("/channels", "Channels", "viewer"),
    ("/users", "Users", "admin"),
    ("/audit", "Audit", "admin"),
)


def duration(value: timedelta | None) -> str:
    """``1h``, ``30m``, ``2d 4h``: a period as people write it."""
    if value is None:
        return "-"
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2]) or "0s"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["iso"] = lambda value: value.isoformat() if value else ""
    env.filters["status_word"] = lambda status: STATUS_WORDS.get(status, status)
    env.filters["duration"] = duration
    # JSON as text, escaped by autoescape like any text: Arabic stays readable (tojson
    # writes \uXXXX escapes, being meant for scripts)
    env.filters["json_text"] = lambda value: json.dumps(value, ensure_ascii=False, default=str)
    return env


ENV = _environment()


def page(
    request: Request,
    template: str,
    *,
    identity: Identity | None,
    status: int = 200,
    title: str = "",
    **values: Any,
) -> HTMLResponse:
    """The rendered page; sets the pre-session CSRF cookie when the form needs one."""
    ctx = context(request)
    zone = ctx.config.zone
    csrf = expected_csrf(request, identity)
    fresh = None
    if not csrf:
        csrf = fresh = new_secret()

    def when(value: datetime | None, empty: str = "-") -> str:
        return local_time(value, zone, empty=empty)

    html = ENV.get_template(template).render(
        request=request,
        path=request.url.path,
        me=identity,
        csrf=csrf,
        nav=[(href, label) for href, label, role in NAV if identity and identity.can(role)],
        when=when,
        zone=ctx.config.timezone,
        now=now(),
        title=title,
        # the rules muted now, when the page's handler asked (``note_mutes``)
        muted=getattr(request.state, "muted", {}),
        **values,
    )
    response = HTMLResponse(html, status_code=status)
    if fresh is not None:
        response.set_cookie(
            CSRF_COOKIE,
            fresh,
            httponly=True,
            samesite="strict",
            secure=secure_cookies(request.url.scheme, ctx.settings),
            path="/",
        )
    return response


async def note_mutes(request: Request) -> None:
    """Read the mutes in force for a page that names rules: each shows it is muted."""
    from monitor.store.items import muted_rules

    request.state.muted = await muted_rules(context(request).engine)


def fragment(request: Request, template: str, **values: Any) -> HTMLResponse:
    """A piece of a page, for htmx to swap in."""
    zone = context(request).config.zone
    identity = getattr(request.state, "identity", None)
    values.setdefault("csrf", expected_csrf(request, identity) or "")

    def when(value: datetime | None, empty: str = "-") -> str:
        return local_time(value, zone, empty=empty)

    return HTMLResponse(
        ENV.get_template(template).render(request=request, when=when, now=now(), **values)
    )
