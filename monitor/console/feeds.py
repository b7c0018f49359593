"""Feeds out: ``GET /feeds/rules/{id}.atom?token=…``, an Atom feed (RFC 4287) of a
rule's latest matches, for operators who read alerts in a feed reader.

A feed reader sends no header and keeps no session, so the API token (any role: viewer
suffices) comes in the URL; a missing or unknown one is a 401 with no feed. Release text
is untrusted: every value is written through ElementTree, which escapes it, and summaries
go out as plain text. An entry links to the release's page in the console when
``console.public_url`` is set, else to the release's own URL.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import select

from monitor.console import items
from monitor.console.auth import context
from monitor.store import tokens
from monitor.store.shapes import public_url
from monitor.store.tables import MATCHES, RELEASES, now

router = APIRouter(include_in_schema=False)

ENTRIES = 50
ATOM = "http://www.w3.org/2005/Atom"
SUMMARY = 1000  # characters of a release's summary in an entry


@router.get("/feeds/rules/{rule_id}.atom")
async def rule_feed(request: Request, rule_id: str, token: str = "") -> Response:
    ctx = context(request)
    if not token or await tokens.token_identity(ctx.engine, token) is None:
        # a plain 401, not the console's redirect to its sign-in page: readers are no browsers
        return PlainTextResponse(
            "give ?token= with an API token (monitor tokens create NAME --role viewer)\n",
            status_code=401,
        )
    rule = await items.rule_item(ctx, rule_id)  # 404 for a rule that is nowhere
    statement = (
        select(
            RELEASES.c.id,
            RELEASES.c.title,
            RELEASES.c.summary,
            RELEASES.c.url,
            RELEASES.c.source_id,
            RELEASES.c.published_at,
            MATCHES.c.matched_at,
        )
        .join(RELEASES, RELEASES.c.id == MATCHES.c.release_id)
        .where(MATCHES.c.rule_id == rule_id)
        .order_by(MATCHES.c.matched_at.desc(), MATCHES.c.id.desc())
        .limit(ENTRIES)
    )
    async with ctx.engine.connect() as connection:
        rows = (await connection.execute(statement)).all()
    base = (ctx.settings.public_url or "").rstrip("/")
    body = atom(rule.id, rule.name, rows, base, str(request.url.remove_query_params("token")))
    return Response(body, media_type="application/atom+xml; charset=utf-8")


# characters XML 1.0 cannot hold at all (a release's text may carry any)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(parent: ET.Element, tag: str, value: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    element.text = _NOT_XML.sub("", value)
    return element


def _when(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def atom(rule_id: str, name: str, rows: Sequence[Any], base: str, self_url: str) -> bytes:
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "id", f"urn:monitor:rule:{rule_id}")
    _text(feed, "title", f"monitor: {name}")
    _text(feed, "updated", _when(rows[0].matched_at if rows else now()))
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "monitor")
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "self", "href": self_url})
    for row in rows:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", f"urn:monitor:release:{row.id}")
        _text(entry, "title", row.title or "(no title)")
        _text(entry, "updated", _when(row.matched_at))
        if row.published_at is not None:
            _text(entry, "published", _when(row.published_at))
        link = f"{base}/releases/{row.id}" if base else public_url(row.url)
        if link:
            href = _NOT_XML.sub("", link)
            ET.SubElement(entry, f"{{{ATOM}}}link", {"rel": "alternate", "href": href})
        summary = " ".join((row.summary or "").split())[:SUMMARY]
        if summary:
            _text(entry, "summary", summary, type="text")
        ET.SubElement(entry, f"{{{ATOM}}}category", {"term": row.source_id})
    written: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return written
