"""A new source's preview (SPEC section 5): ``POST /api/v1/sources/preview`` and what the
``/sources/new`` page shows, one function for both (``run_preview``), the work being
``monitor.discover`` — the same as ``monitor sources discover``.

Editors only: the console fetches the URL as a new source would be fetched (the defaults'
user agent, deadline, size cap and proxy), reads it with the poll's own parser, and stores
nothing. A URL that is not http(s) or a selector that cannot work is a 422 naming its
field (``url``, ``select.link``, …); a URL that cannot be fetched is an answer with no
items and a warning saying why (what one fetch found).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

from monitor.config.model import Config
from monitor.console.auth import EDITOR, Invalid, context
from monitor.discover.probe import Preview
from monitor.parse.listing import ListingSelectors
from monitor.store.people import Identity

router = APIRouter(prefix="/api/v1")


class SelectShape(BaseModel):
    """CSS selectors of a listing page, as in the config file's ``select:``."""

    model_config = ConfigDict(extra="forbid")
    item: str
    title: str
    link: str
    date: str | None = None
    summary: str | None = None
    content: str | None = None


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    type: Literal["feed", "html"] = "feed"
    select: SelectShape | None = None


class PreviewItem(BaseModel):
    title: str
    url: str
    published_at: datetime | None


class PreviewAnswer(BaseModel):
    items: list[PreviewItem]
    suggested_select: SelectShape | None = None  # for a page given no selectors
    warnings: list[str]


async def run_preview(config: Config, url: str, kind: str, select: SelectShape | None) -> Preview:
    """What one fetch of ``url`` finds for a source of type ``kind`` (feed, html, or auto).
    Raises ``Invalid`` naming the field at fault."""
    from monitor.discover.probe import Reach, preview
    from monitor.errors import FetchError
    from monitor.fetch import Fetcher
    from monitor.http_client import Clients

    try:
        reach = Reach.of(config, url.strip())
    except ValueError:
        raise Invalid("url: give an absolute http:// or https:// URL", field="url") from None
    selectors = ListingSelectors(**select.model_dump()) if select is not None else None
    clients = Clients()
    try:
        return await preview(Fetcher(clients), url.strip(), kind, selectors, reach)
    except ValueError as exc:  # "select.link: invalid CSS selector …"
        field = str(exc).split(":", 1)[0]
        raise Invalid(str(exc), field=field) from None
    except FetchError as exc:
        return Preview(kind, (), 0, None, (f"cannot fetch {url.strip()}: {exc}",))
    finally:
        await clients.aclose()


def answer_of(found: Preview) -> PreviewAnswer:
    """The API's answer; feeds the page advertises are a warning (the page shows them as
    buttons), as a feed is read more reliably than a page's layout."""
    warnings = list(found.warnings)
    if found.feeds:
        urls = ", ".join(f.url for f in found.feeds[:3])
        warnings.insert(0, f"the page advertises feeds ({urls}): a feed is more reliable")
    return PreviewAnswer(
        items=[
            PreviewItem(title=i.title, url=i.url, published_at=i.published_at) for i in found.items
        ],
        suggested_select=SelectShape(**found.suggested_select) if found.suggested_select else None,
        warnings=warnings,
    )


@router.post(
    "/sources/preview",
    response_model=PreviewAnswer,
    summary="What one fetch of a new source finds; stores nothing",
)
async def source_preview(
    request: Request, body: PreviewRequest, me: Identity = EDITOR
) -> PreviewAnswer:
    found = await run_preview(context(request).config, body.url, body.type, body.select)
    return answer_of(found)
