"""Sources from the browser (editor): ``/sources/new`` and ``/sources/{id}/edit``.

A URL → Preview: what one fetch finds — a feed's items, or for a page the items its
selectors pick, the selectors suggested from its repeated blocks when none are given —
then adjust and preview again, and Save: a new console source (``origin: console``), or
the changed one. ``POST /sources/{id}/delete`` removes a console source (its releases stay
in the archive). A source from the config file is read-only here (``console.items`` refuses
it with the reason).

Each form works with a plain submit (the whole page comes back, or a redirect after a
save); htmx posts it and swaps the form and its result in place (``HX-Redirect`` after a
save). The preview is ``console.preview.run_preview``, shared with the API; the writes are
``console.items``', shared with the write API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from monitor.console import items
from monitor.console.auth import (
    EDITOR,
    Conflict,
    ConsoleError,
    Invalid,
    NotFound,
    address_of,
    context,
)
from monitor.console.preview import SelectShape, run_preview
from monitor.console.render import fragment, page
from monitor.discover.probe import Preview
from monitor.store.people import Identity

router = APIRouter(include_in_schema=False)
KINDS = (("auto", "Find out (feed or page)"), ("feed", "Feed"), ("html", "Listing page"))
SELECTORS = ("item", "title", "link", "date")
FormText = Annotated[str, Form()]


@router.get("/sources/new", response_class=HTMLResponse)
async def new_source(request: Request, me: Identity = EDITOR) -> Response:
    form = {"url": "", "type": "auto", "id": "", "name": "", **dict.fromkeys(SELECTORS, "")}
    return _answer(request, me, form, None, None)


@router.post("/sources/new", response_class=HTMLResponse)
async def post_new_source(
    request: Request,
    url: FormText = "",
    type: FormText = "auto",
    item: FormText = "",
    title: FormText = "",
    link: FormText = "",
    date: FormText = "",
    id: FormText = "",
    name: FormText = "",
    action: FormText = "preview",
    me: Identity = EDITOR,
) -> Response:
    form = _form(url, type, item, title, link, date, id, name)
    if action == "save":
        return await _save(request, me, form, None)
    return await _preview(request, me, form)


@router.get("/sources/{source_id}/edit", response_class=HTMLResponse)
async def edit_source(request: Request, source_id: str, me: Identity = EDITOR) -> Response:
    stored = await _console_source(request, source_id)
    body = stored.body
    select = body.get("select") or {}
    form = {
        "url": str(body.get("url", "")),
        "type": str(body.get("type", "feed")),
        "id": source_id,
        "name": str(body.get("name") or ""),
        **{name: str(select.get(name) or "") for name in SELECTORS},
    }
    return _answer(request, me, form, None, None, editing=stored.version)


@router.post("/sources/{source_id}/edit", response_class=HTMLResponse)
async def post_edit_source(
    request: Request,
    source_id: str,
    url: FormText = "",
    type: FormText = "feed",
    item: FormText = "",
    title: FormText = "",
    link: FormText = "",
    date: FormText = "",
    name: FormText = "",
    version: FormText = "",
    action: FormText = "preview",
    me: Identity = EDITOR,
) -> Response:
    form = _form(url, type, item, title, link, date, source_id, name)
    read = int(version) if version.isdigit() else None
    if action == "save":
        return await _save(request, me, form, read)
    return await _preview(request, me, form, editing=read)


@router.post("/sources/{source_id}/delete", response_class=HTMLResponse)
async def delete_source(
    request: Request, source_id: str, version: FormText = "", me: Identity = EDITOR
) -> Response:
    read = int(version) if version.isdigit() else None
    await items.remove(context(request), "source", source_id, read, me, address_of(request))
    return _go(request, "/sources?deleted=" + source_id)


def _form(*values: str) -> dict[str, str]:
    keys = ("url", "type", "item", "title", "link", "date", "id", "name")
    return {key: value.strip() for key, value in zip(keys, values, strict=True)}


async def _console_source(request: Request, source_id: str) -> Any:
    effective, stored = await items.live(context(request))
    if effective.origin("source", source_id) == "file":
        raise Conflict(
            f"source {source_id!r} is provisioned in the config file (origin: file) and "
            "read-only here: change it in the file"
        )
    found = stored.get(f"source:{source_id}")
    if found is None:
        raise NotFound(f"no console source {source_id!r}")
    return found


async def _preview(
    request: Request, me: Identity, form: dict[str, str], editing: int | None = None
) -> Response:
    found: Preview | None = None
    problem: ConsoleError | None = None
    try:
        if form["type"] not in {kind for kind, _ in KINDS}:
            raise Invalid("type: choose feed, listing page or find out", field="type")
        found = await run_preview(context(request).config, form["url"], form["type"], _select(form))
    except Invalid as exc:
        problem = exc
    if found is not None:
        form["type"] = found.kind
        if found.suggested_select and found.kind == "html":
            # the suggestion fills the fields, to adjust and preview again
            suggested = found.suggested_select
            form |= {name: suggested.get(name, "") for name in SELECTORS}
        if not form["id"]:
            from monitor.opml import url_slug

            form["id"] = url_slug(form["url"])[:60].strip("-")
    return _answer(request, me, form, found, problem, editing=editing)


async def _save(
    request: Request, me: Identity, form: dict[str, str], editing: int | None
) -> Response:
    ctx = context(request)
    try:
        body = _body(form)
        if editing is None:
            await items.create(ctx, "source", body, me, address_of(request))
        else:
            await items.update(ctx, "source", form["id"], body, editing, me, address_of(request))
    except ConsoleError as exc:  # 422 naming the field, 409 a stale version or a file id
        return _answer(request, me, form, None, exc, editing=editing)
    return _go(request, f"/sources/{form['id']}")


def _body(form: dict[str, str]) -> dict[str, Any]:
    """The source as the config file would hold it."""
    if form["type"] not in ("feed", "html"):
        raise Invalid("type: preview first, or choose feed or listing page", field="type")
    body: dict[str, Any] = {"id": form["id"], "url": form["url"], "type": form["type"]}
    if form["name"]:
        body["name"] = form["name"]
    select = _select(form)
    if form["type"] == "html":
        if select is None:
            raise Invalid("select.item: preview to have selectors suggested", field="select.item")
        body["select"] = select.model_dump(exclude_none=True)
    return body


def _select(form: dict[str, str]) -> SelectShape | None:
    """The selectors given, when the page is one; none given: they are suggested."""
    if form["type"] == "feed" or not any(form[name] for name in SELECTORS):
        return None
    missing = [name for name in ("item", "title", "link") if not form[name]]
    if missing:
        raise Invalid(
            f"select.{missing[0]}: give item, title and link (or none, to have them suggested)",
            field=f"select.{missing[0]}",
        )
    return SelectShape(
        item=form["item"], title=form["title"], link=form["link"], date=form["date"] or None
    )


def _go(request: Request, target: str) -> Response:
    """To ``target``: htmx follows ``HX-Redirect``; a plain form a 303."""
    if request.headers.get("hx-request"):
        return Response(headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _answer(
    request: Request,
    me: Identity,
    form: dict[str, str],
    found: Preview | None,
    problem: ConsoleError | None,
    *,
    editing: int | None = None,
) -> Response:
    values = {
        "form": form,
        "kinds": KINDS,
        "found": found,
        "problem": problem,
        "problem_field": getattr(problem, "field", None),
        "editing": editing,
        "action_url": f"/sources/{form['id']}/edit" if editing is not None else "/sources/new",
    }
    if request.headers.get("hx-request"):
        return fragment(request, "_source_preview.html", **values)
    status = problem.status if problem else 200
    title = f"Edit {form['id']}" if editing is not None else "New source"
    return page(request, "source_form.html", identity=me, status=status, title=title, **values)
