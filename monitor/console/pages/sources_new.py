"""``/sources/new`` (editor): a URL → Preview: what one fetch finds — a feed's items, or for
a page the items its selectors pick, the selectors suggested from its repeated blocks when
none are given — then adjust the selectors and preview again.

The form works with a plain submit (the whole page comes back); htmx posts it and swaps the
form and its result in place. The work is ``console.preview.run_preview``, shared with the
API.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from monitor.console.auth import EDITOR, Invalid, context
from monitor.console.preview import SelectShape, run_preview
from monitor.console.render import fragment, page
from monitor.discover.probe import Preview
from monitor.store.people import Identity

router = APIRouter(include_in_schema=False)
KINDS = (("auto", "Find out (feed or page)"), ("feed", "Feed"), ("html", "Listing page"))
SELECTORS = ("item", "title", "link", "date")


@router.get("/sources/new", response_class=HTMLResponse)
async def new_source(request: Request, me: Identity = EDITOR) -> Response:
    form = {"url": "", "type": "auto", **dict.fromkeys(SELECTORS, "")}
    return _answer(request, me, form, None, None)


@router.post("/sources/new", response_class=HTMLResponse)
async def preview_source(
    request: Request,
    url: Annotated[str, Form()] = "",
    type: Annotated[str, Form()] = "auto",
    item: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    link: Annotated[str, Form()] = "",
    date: Annotated[str, Form()] = "",
    me: Identity = EDITOR,
) -> Response:
    form = {"url": url.strip(), "type": type, "item": item.strip(), "title": title.strip()}
    form |= {"link": link.strip(), "date": date.strip()}
    found: Preview | None = None
    problem: Invalid | None = None
    try:
        if type not in {kind for kind, _ in KINDS}:
            raise Invalid("type: choose feed, listing page or find out", field="type")
        found = await run_preview(context(request).config, form["url"], type, _select(form))
    except Invalid as exc:
        problem = exc
    if found is not None:
        form["type"] = found.kind
        if found.suggested_select and (found.kind == "html"):
            # the suggestion fills the fields, to adjust and preview again
            suggested = found.suggested_select
            form |= {name: suggested.get(name, "") for name in SELECTORS}
    return _answer(request, me, form, found, problem)


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


def _answer(
    request: Request,
    me: Identity,
    form: dict[str, str],
    found: Preview | None,
    problem: Invalid | None,
) -> Response:
    values = {
        "form": form,
        "kinds": KINDS,
        "found": found,
        "problem": problem,
        "problem_field": getattr(problem, "field", None),
    }
    if request.headers.get("hx-request"):
        return fragment(request, "_source_preview.html", **values)
    status = 422 if problem else 200
    return page(
        request, "source_new.html", identity=me, status=status, title="New source", **values
    )
