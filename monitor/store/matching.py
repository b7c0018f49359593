"""The match step: stories, matches and alerts for releases not yet matched, in one go.

A release is pending while ``matched_hash`` differs from ``content_hash`` (new, revised, or
left behind by a crash), so this step is its own durable work queue: whatever a crash
interrupts is picked up by the next run. Alerts are written in the same transaction as the
matches, one per channel of the rule, for an alertable release (not baseline-old, not
polled with ``--no-alerts``), unless (SPEC section 4):

- the release's story, or the story of any of its copies first seen in the last 7 days,
  has an alert for that (rule, channel) already — stored, or queued earlier in this batch.
  A copy may have been filed under another story (stories are never merged), so the check
  is on the copies' stories, not only the release's own; and as a copy is checked against
  everything before it, the number of alerts does not depend on the order copies arrive.
  A copy counts as alerted when its story was: a story's alert stands for every release
  filed under it (and lists them as its copies). UNIQUE(rule, story, channel) stays as the
  constraint behind the check;
- the release is an edited version and the rule matched an earlier version already
  (alerted or not: a typo fixed in a release does not raise it again).

The step is serialised — an asyncio lock in the process, and on PostgreSQL a transaction
advisory lock across instances; on SQLite the first statement takes the write lock — so two
copies landing at the same moment still meet in one story, and the alerts this step reads
are all the alerts there are.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor import model
from monitor.model import Document, DumpedMatch, RuleMatch, hits_json
from monitor.store.arrays import (
    any_of,
    execute_rows,
    insert_arrays,
    params_of,
    selecting,
    update_arrays,
)
from monitor.store.items import muted_rules
from monitor.store.session import PerEngine, insert, writing
from monitor.store.stories import assign_stories
from monitor.store.tables import ALERTS, MATCHES, RELEASES, ReleaseRow, now

_STORY_LOCK_KEY = 0x73746F7279  # "story"
# one lock per engine (an engine lives in one event loop; a lock is bound to its loop)
_process_lock: PerEngine[asyncio.Lock] = PerEngine(lambda engine: asyncio.Lock())


@dataclass(slots=True)
class Pending:
    """What the match step needs of a pending release (plain values: this is a hot path)."""

    id: int
    source_id: str
    title: str
    summary: str
    content: str
    url: str | None
    language: str | None
    content_hash: str
    story_id: int | None
    story_bands: str | None
    alertable: bool


@dataclass(frozen=True, slots=True)
class StepResult:
    releases: int = 0
    matches: int = 0
    alerts: int = 0


def document_of(release: ReleaseRow | Pending) -> Document:
    return model.document_of(release.source_id, release)


async def _serialise(connection: AsyncConnection) -> None:
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _STORY_LOCK_KEY})
    else:
        # a write first, so SQLite takes its write lock now (waiting on busy_timeout) rather
        # than failing to upgrade a read lock later in the transaction
        await connection.execute(text("UPDATE sources SET id = id WHERE 1 = 0"))


# the hits a parse worker found for a release's current version (id, content hash), if any
Found = Callable[[int, str], Sequence[RuleMatch | DumpedMatch] | None]


async def match_pending(
    engine: AsyncEngine,
    match: Callable[[Document], Sequence[RuleMatch]],
    channels_of: Callable[[str], Sequence[str]],
    *,
    found: Found | None = None,
    batch: int = 500,
) -> StepResult:
    """Assign stories, record matches and queue alerts for every pending release, a batch
    at a time (``match_batch``).

    ``found``: matches computed already (by a parse worker) for a release's version; a
    release it knows nothing of is matched with ``match``."""
    total = StepResult()
    while True:
        step = await match_batch(engine, match, channels_of, found=found, batch=batch)
        total = sum_steps((total, step))
        if step.releases < batch:
            return total


async def match_batch(
    engine: AsyncEngine,
    match: Callable[[Document], Sequence[RuleMatch]],
    channels_of: Callable[[str], Sequence[str]],
    *,
    found: Found | None = None,
    batch: int = 500,
) -> StepResult:
    """Match up to ``batch`` pending releases in one transaction: first those that may
    alert, then the others (baselines, ``--no-alerts``), each in the order they came.

    A new deployment's first polls leave a backlog of baseline releases (270,000 for
    10,000 sources) that took the match step 25–40 minutes on PostgreSQL: taken in the
    order they came, every new release's alert waited behind all of it (issue 23). Now it
    waits for the batch in progress at most. A copy's story does not depend on the order:
    a baseline release matched after its alertable copy joins that copy's story, as the
    copy would have joined its; and the alerts never depend on the order copies are
    matched in (SPEC section 4)."""
    async with _process_lock(engine), writing(engine) as connection:
        await _serialise(connection)
        rows = await _pending(connection, pending_query(batch, alertable=True))
        if len(rows) < batch:
            rows += await _pending(connection, pending_query(batch - len(rows), alertable=False))
        if not rows:
            return StepResult()
        return await _process(connection, rows, match, found, channels_of, now())


async def _pending(connection: AsyncConnection, statement: Any) -> list[Pending]:
    # by position: ``pending_query`` selects ``Pending``'s fields in order (a mapping
    # built and unpacked per row was a tenth of the match step's own CPU)
    return [Pending(*r) for r in (await connection.execute(statement)).all()]


def pending_query(batch: int, *, alertable: bool) -> Any:
    """The first ``batch`` pending releases that may alert (``alertable``) or may not, in
    the order they came: ``ix_releases_pending_alertable`` holds the first kind alone (a
    few, beside a backlog of baselines), ``ix_releases_pending`` every pending one."""
    return (
        select(*(RELEASES.c[name] for name in Pending.__dataclass_fields__))
        .where(
            or_(
                RELEASES.c.matched_hash.is_(None),
                RELEASES.c.matched_hash != RELEASES.c.content_hash,
            ),
            RELEASES.c.alertable if alertable else ~RELEASES.c.alertable,
        )
        .order_by(RELEASES.c.id)
        .limit(batch)
    )


def sum_steps(steps: Iterable[StepResult]) -> StepResult:
    total = StepResult()
    for step in steps:
        total = StepResult(
            total.releases + step.releases,
            total.matches + step.matches,
            total.alerts + step.alerts,
        )
    return total


async def _process(
    connection: AsyncConnection,
    releases: list[Pending],
    match: Callable[[Document], Sequence[RuleMatch]],
    known: Found | None,
    channels_of: Callable[[str], Sequence[str]],
    moment: datetime,
) -> StepResult:
    def matches_of(release: Pending) -> Sequence[RuleMatch | DumpedMatch]:
        hits = known(release.id, release.content_hash) if known is not None else None
        return match(document_of(release)) if hits is None else hits

    found = [(release, rule_match) for release in releases for rule_match in matches_of(release)]
    matched_before = await _matched_before(connection, releases)
    alertable = [
        (release, rule_match)
        for release, rule_match in found
        if release.alertable and (rule_match.rule_id, release.id) not in matched_before
    ]
    # a revision's copies are looked for only when it may alert
    copies_of = await assign_stories(
        connection, releases, moment, revised={release.id for release, _ in alertable}
    )
    match_ids = await _record_matches(connection, found, moment)
    alerts = await _queue_alerts(connection, alertable, copies_of, match_ids, channels_of, moment)
    for release in releases:
        # done with the texts: not held through the UPDATE below, which on SQLite builds
        # the whole row anew (a 9.5 MB item's 30 MB row: +53 MB, the poll's peak; issue 22)
        release.summary = release.content = ""
    if connection.dialect.name == "sqlite":
        matched = [{"release": r.id, "story": r.story_id, "hash": r.content_hash} for r in releases]
        await execute_rows(connection, _MATCHED, matched)
    else:  # one array per column: an executemany dumped and sent each row apart
        arrays = {
            "a_id": [r.id for r in releases],
            "a_story_id": [r.story_id for r in releases],
            "a_matched_hash": [r.content_hash for r in releases],
        }
        await connection.execute(_MATCHED_ARRAYS, arrays)
    return StepResult(len(releases), len(found), alerts)


# The step's statements, built once (per dialect where it differs): building an upsert's
# ``excluded`` columns and cache key on every batch showed in a cold poll's profile.
_MATCHED = (
    update(RELEASES)
    .where(RELEASES.c.id == bindparam("release"))
    .values(story_id=bindparam("story"), matched_hash=bindparam("hash"))
)
_MATCHED_ARRAYS = update_arrays(RELEASES, "id", ("story_id", "matched_hash"))


# on PostgreSQL one array per column (``store.arrays``): 500 rows of six parameters each
# were a statement psycopg parsed again every batch
_MATCH_ARRAYS = ("rule_id", "release_id", "story_id", "hits", "hit_count")


@functools.cache
def _match_upsert(dialect: str) -> Any:
    if dialect == "postgresql":
        statement = insert_arrays(MATCHES, _MATCH_ARRAYS, ("matched_at",))
    else:
        statement = insert(dialect, MATCHES)
    return statement.on_conflict_do_update(
        index_elements=["rule_id", "release_id"],
        set_={
            "hits": statement.excluded.hits,
            "hit_count": statement.excluded.hit_count,
            "matched_at": statement.excluded.matched_at,
        },
    ).returning(MATCHES.c.id, MATCHES.c.rule_id, MATCHES.c.release_id)


@functools.cache
def _alert_insert(dialect: str) -> Any:
    return (
        insert(dialect, ALERTS)
        .on_conflict_do_nothing(index_elements=["rule_id", "story_id", "channel_id"])
        .returning(ALERTS.c.release_id)
    )


def _hits_json(rule_match: RuleMatch | DumpedMatch) -> str:
    """The hits kept (the matcher keeps the first 100) as the JSON list every reader knows;
    how many there are in all goes to ``matches.hit_count``."""
    if isinstance(rule_match, DumpedMatch):
        return rule_match.hits_json
    return hits_json(rule_match.hits)


async def _record_matches(
    connection: AsyncConnection,
    found: list[tuple[Pending, RuleMatch | DumpedMatch]],
    moment: datetime,
) -> dict[tuple[str, int], int]:
    """Upsert the matches (an edited release gets its new hits); their ids by (rule, release)."""
    if not found:
        return {}
    rows = [
        {
            "rule_id": rule_match.rule_id,
            "release_id": release.id,
            "story_id": release.story_id,
            "hits": _hits_json(rule_match),
            "hit_count": rule_match.hit_count,
            "matched_at": moment,
        }
        for release, rule_match in found
    ]
    dialect = connection.dialect.name
    if dialect == "postgresql":
        arrays = params_of(rows, _MATCH_ARRAYS, ("matched_at",))
        returned = (await connection.execute(_match_upsert(dialect), arrays)).all()
    else:
        returned = await execute_rows(connection, _match_upsert(dialect), rows)
    # by position, as RETURNING lists them: a Row's attribute is looked up by name
    return {(rule_id, release_id): id_ for id_, rule_id, release_id in returned}


async def _matched_before(
    connection: AsyncConnection, releases: list[Pending]
) -> set[tuple[str, int]]:
    """(rule, release) of the rules that matched an earlier version of these releases.

    A release has a story once it has been through this step (in the transaction that
    recorded its matches), so only those with one can have been matched before.
    """
    revised = [r.id for r in releases if r.story_id is not None]
    found: set[tuple[str, int]] = set()
    for condition in selecting(connection.dialect.name, MATCHES.c.release_id, revised):
        rows = await connection.execute(
            select(MATCHES.c.rule_id, MATCHES.c.release_id).where(condition)
        )
        found.update((row.rule_id, row.release_id) for row in rows)
    return found


async def _alerted(
    connection: AsyncConnection, rule_ids: set[str], story_ids: set[int]
) -> set[tuple[str, int, str]]:
    """(rule, story, channel) of the stored alerts of these rules on these stories (found
    through UNIQUE(rule_id, story_id, channel_id))."""
    found: set[tuple[str, int, str]] = set()
    dialect = connection.dialect.name
    ordered = sorted(rule_ids)  # the rules matched in one batch: one list
    rules = (
        any_of(ALERTS.c.rule_id, ordered)
        if dialect == "postgresql"
        else ALERTS.c.rule_id.in_(ordered)
    )
    for condition in selecting(dialect, ALERTS.c.story_id, story_ids):
        rows = await connection.execute(
            select(ALERTS.c.rule_id, ALERTS.c.story_id, ALERTS.c.channel_id).where(rules, condition)
        )
        found.update((row.rule_id, row.story_id, row.channel_id) for row in rows)
    return found


async def _queue_alerts(
    connection: AsyncConnection,
    found: list[tuple[Pending, RuleMatch | DumpedMatch]],
    copies_of: Mapping[int, frozenset[int]],
    match_ids: dict[tuple[str, int], int],
    channels_of: Callable[[str], Sequence[str]],
    moment: datetime,
) -> int:
    """Queue an alert per channel for each (alertable release, rule match) in ``found``,
    unless its story or a copy's story has one for that (rule, channel) already; in batch
    order, so that of two copies in one batch the first one seen carries the alert.
    How many were queued."""
    if not found:
        return 0
    stories_of = {
        release.id: {release.story_id, *copies_of.get(release.id, ())} for release, _ in found
    }
    alerted = await _alerted(
        connection,
        {rule_match.rule_id for _, rule_match in found},
        {s for stories in stories_of.values() for s in stories if s is not None},
    )
    # a muted rule's alerts are recorded as muted: never sent, kept in the delivery log
    muted = await muted_rules(connection, moment)
    rows: list[dict[str, object]] = []
    for release, rule_match in found:
        assert release.story_id is not None
        rule_id = rule_match.rule_id
        silent = rule_id in muted
        for channel in channels_of(rule_id):
            if any((rule_id, s, channel) in alerted for s in stories_of[release.id]):
                continue
            alerted.add((rule_id, release.story_id, channel))
            rows.append(
                {
                    "id": uuid.uuid4().hex,
                    "rule_id": rule_id,
                    "story_id": release.story_id,
                    "channel_id": channel,
                    "release_id": release.id,
                    "match_id": match_ids[(rule_id, release.id)],
                    "status": "muted" if silent else "pending",
                    "attempts": 0,
                    "created_at": moment,
                    "next_attempt_at": None if silent else moment,
                }
            )
    if not rows:
        return 0
    # the constraint turns away nothing the check let through: the step is serialised
    result = await connection.execute(_alert_insert(connection.dialect.name), rows)
    return len(result.all())
