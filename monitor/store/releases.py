"""Writing releases: new ones inserted once, revised ones updated, in one statement.

``INSERT … ON CONFLICT (source_id, identity) DO UPDATE … WHERE content_hash changed
RETURNING`` yields exactly the new rows (revision 1) and the revised rows (revision > 1);
an unchanged release yields nothing. Every version is kept in ``release_revisions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.parse.identity import ReleaseData
from monitor.store.session import insert
from monitor.store.tables import RELEASES, REVISIONS


@dataclass(frozen=True, slots=True)
class Saved:
    id: int
    identity: str
    revision: int


async def known_identities(
    connection: AsyncConnection, source_id: str, identities: Sequence[str]
) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(identities), 500):
        chunk = identities[start : start + 500]
        result = await connection.execute(
            select(RELEASES.c.identity)
            .where(RELEASES.c.source_id == source_id)
            .where(RELEASES.c.identity.in_(chunk))
        )
        found.update(result.scalars())
    return found


async def save_releases(
    connection: AsyncConnection,
    source_id: str,
    releases: Sequence[ReleaseData],
    *,
    moment: datetime,
    alertable: dict[str, bool],
    search_text: dict[str, str],
    bands: dict[str, str | None] | None = None,
) -> list[Saved]:
    """Insert new releases and update changed ones; return exactly those rows."""
    unique: dict[str, ReleaseData] = {}
    for release in releases:  # a feed that lists an item twice: the first one counts
        unique.setdefault(release.identity, release)
    if not unique:
        return []
    rows = [
        _row(
            source_id,
            r,
            moment,
            alertable[r.identity],
            search_text[r.identity],
            (bands or {}).get(r.identity),
        )
        for r in unique.values()
    ]
    table: Any = RELEASES
    statement = insert(connection, table)
    changed = statement.excluded.content_hash != table.c.content_hash
    statement = statement.on_conflict_do_update(
        index_elements=["source_id", "identity"],
        set_={
            "title": statement.excluded.title,
            "summary": statement.excluded.summary,
            "content": statement.excluded.content,
            "summary_raw": statement.excluded.summary_raw,
            "content_raw": statement.excluded.content_raw,
            "url": statement.excluded.url,
            "published_at": statement.excluded.published_at,
            "published_raw": statement.excluded.published_raw,
            "language": statement.excluded.language,
            "author": statement.excluded.author,
            "content_hash": statement.excluded.content_hash,
            "search_text": statement.excluded.search_text,
            "story_bands": statement.excluded.story_bands,
            "revision": table.c.revision + 1,
            "updated_at": statement.excluded.updated_at,
            # a revision of a release first seen in a baseline may alert, unless --no-alerts
            "alertable": statement.excluded.alertable | table.c.alertable,
        },
        where=changed,
    ).returning(table.c.id, table.c.identity, table.c.revision)
    saved: list[Saved] = []
    for start in range(0, len(rows), 200):
        result = await connection.execute(statement, rows[start : start + 200])
        saved.extend(Saved(r.id, r.identity, r.revision) for r in result.all())
    if saved:
        by_identity = {s.identity: s for s in saved}
        await connection.execute(
            insert(connection, REVISIONS).on_conflict_do_nothing(),
            [
                {
                    "release_id": by_identity[r.identity].id,
                    "revision": by_identity[r.identity].revision,
                    "title": r.title,
                    "summary": r.summary,
                    "content": r.content,
                    "content_hash": r.content_hash,
                    "seen_at": moment,
                }
                for r in unique.values()
                if r.identity in by_identity
            ],
        )
    return saved


def _row(
    source_id: str,
    r: ReleaseData,
    moment: datetime,
    alertable: bool,
    search_text: str,
    bands: str | None,
) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "identity": r.identity,
        "url": r.url,
        "title": r.title,
        "summary": r.summary,
        "content": r.content,
        "summary_raw": r.summary_raw,
        "content_raw": r.content_raw,
        "author": r.author,
        "language": r.language,
        "published_at": r.published,
        "published_raw": r.published_raw,
        "content_hash": r.content_hash,
        "revision": 1,
        "first_seen_at": moment,
        "updated_at": moment,
        "search_text": search_text,
        "story_bands": bands,
        "matched_hash": None,
        "alertable": alertable,
        "story_id": None,
    }
