"""The match step: stories, matches and alerts for releases not yet matched, in one go.

A release is pending while ``matched_hash`` differs from ``content_hash`` (new, revised, or
left behind by a crash), so this step is its own durable work queue: whatever a crash
interrupts is picked up by the next run. Alerts are written in the same transaction as the
matches, one per channel of the rule, under UNIQUE(rule, story, channel): copies of a story
and re-matches of an edited release add nothing.

The step is serialised — an asyncio lock in the process, and on PostgreSQL a transaction
advisory lock across instances; on SQLite the first statement takes the write lock — so two
copies landing at the same moment still meet in one story.
"""

from __future__ import annotations

import asyncio
import json
import uuid
import weakref
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.model import Document, RuleMatch
from monitor.store.session import insert, writing
from monitor.store.stories import assign_story
from monitor.store.tables import ALERTS, MATCHES, RELEASES, ReleaseRow, now

_STORY_LOCK_KEY = 0x73746F7279  # "story"
# one lock per engine (an engine lives in one event loop; a lock is bound to its loop)
_locks: weakref.WeakKeyDictionary[AsyncEngine, asyncio.Lock] = weakref.WeakKeyDictionary()


def _process_lock(engine: AsyncEngine) -> asyncio.Lock:
    lock = _locks.get(engine)
    if lock is None:
        lock = _locks[engine] = asyncio.Lock()
    return lock


@dataclass(frozen=True, slots=True)
class StepResult:
    releases: int = 0
    matches: int = 0
    alerts: int = 0


def document_of(release: ReleaseRow) -> Document:
    return Document(
        title=release.title,
        summary=release.summary,
        content=release.content,
        source=release.source_id,
        url=release.url or "",
        lang=release.language or "",
    )


async def _serialise(connection: AsyncConnection) -> None:
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _STORY_LOCK_KEY})
    else:
        # a write first, so SQLite takes its write lock now (waiting on busy_timeout) rather
        # than failing to upgrade a read lock later in the transaction
        await connection.execute(text("UPDATE sources SET id = id WHERE 1 = 0"))


async def match_pending(
    engine: AsyncEngine,
    match: Callable[[Document], Sequence[RuleMatch]],
    channels_of: Callable[[str], Sequence[str]],
    *,
    source_ids: Sequence[str] | None = None,
    batch: int = 500,
) -> StepResult:
    """Assign stories, record matches and queue alerts for every pending release."""
    total = StepResult()
    while True:
        async with _process_lock(engine), writing(engine) as connection:
            await _serialise(connection)
            statement = (
                select(RELEASES)
                .where(
                    or_(
                        RELEASES.c.matched_hash.is_(None),
                        RELEASES.c.matched_hash != RELEASES.c.content_hash,
                    )
                )
                .order_by(RELEASES.c.id)
                .limit(batch)
            )
            if source_ids is not None:
                statement = statement.where(RELEASES.c.source_id.in_(source_ids))
            rows = [
                ReleaseRow.model_validate(r._mapping)
                for r in (await connection.execute(statement)).all()
            ]
            if not rows:
                return total
            result = await _process(connection, rows, match, channels_of, now())
        total = StepResult(
            total.releases + result.releases,
            total.matches + result.matches,
            total.alerts + result.alerts,
        )
        if len(rows) < batch:
            return total


async def _process(
    connection: AsyncConnection,
    releases: list[ReleaseRow],
    match: Callable[[Document], Sequence[RuleMatch]],
    channels_of: Callable[[str], Sequence[str]],
    moment: datetime,
) -> StepResult:
    matches = alerts = 0
    for release in releases:
        assert release.id is not None
        if release.story_id is None:
            release.story_id = await assign_story(connection, release, moment)
        for rule_match in match(document_of(release)):
            match_id = await _record_match(connection, release, rule_match, moment)
            matches += 1
            if release.alertable:
                alerts += await _queue_alerts(
                    connection,
                    release,
                    rule_match.rule_id,
                    match_id,
                    channels_of(rule_match.rule_id),
                    moment,
                )
        await connection.execute(
            update(RELEASES)
            .where(RELEASES.c.id == release.id)
            .values(story_id=release.story_id, matched_hash=release.content_hash)
        )
    return StepResult(len(releases), matches, alerts)


async def _record_match(
    connection: AsyncConnection, release: ReleaseRow, rule_match: RuleMatch, moment: datetime
) -> int:
    hits = json.dumps([asdict(h) for h in rule_match.hits], ensure_ascii=False)
    statement = insert(connection, MATCHES)
    statement = statement.on_conflict_do_update(
        index_elements=["rule_id", "release_id"],
        set_={"hits": statement.excluded.hits, "matched_at": statement.excluded.matched_at},
    ).returning(MATCHES.c.id)
    result = await connection.execute(
        statement,
        {
            "rule_id": rule_match.rule_id,
            "release_id": release.id,
            "story_id": release.story_id,
            "hits": hits,
            "matched_at": moment,
        },
    )
    return int(result.scalar_one())


async def _queue_alerts(
    connection: AsyncConnection,
    release: ReleaseRow,
    rule_id: str,
    match_id: int,
    channels: Sequence[str],
    moment: datetime,
) -> int:
    if not channels:
        return 0
    statement = (
        insert(connection, ALERTS)
        .on_conflict_do_nothing(index_elements=["rule_id", "story_id", "channel_id"])
        .returning(ALERTS.c.id)
    )
    created = 0
    for channel in channels:
        result = await connection.execute(
            statement,
            {
                "id": uuid.uuid4().hex,
                "rule_id": rule_id,
                "story_id": release.story_id,
                "channel_id": channel,
                "release_id": release.id,
                "match_id": match_id,
                "status": "pending",
                "attempts": 0,
                "created_at": moment,
                "next_attempt_at": moment,
            },
        )
        created += len(result.all())
    return created
