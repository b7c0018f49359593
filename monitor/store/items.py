"""Rules and sources made in the console or the API (``origin: console``), and rule mutes.

An item's ``body`` is the mapping the config file would hold for it (``{"id", "query",
"channels", ...}`` or ``{"id", "url", "type", "select", ...}``), stored as JSON; the config
checks decide whether it is valid (``monitor.config.items``), not the store. Every write
is one transaction that also raises the config generation, which every instance polls to
rebuild its rules and sources (``monitor.console_config``), and writes the audit entry:
an entry exists exactly when the change does.

Concurrency is optimistic: an update or a delete names the ``version`` it read and is
refused (``ItemConflict``) when another writer changed the item since. Nothing is lost: the
loser reads the item again and decides.

A deleted source's row in ``sources`` (its polling state) and its releases stay: the
archive keeps what was read; the source is no longer polled as it is in no config.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Column, Integer, String, Table, Text, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import SQLModel

from monitor.redact import redact_text
from monitor.store import audit
from monitor.store.session import insert, writing
from monitor.store.tables import UTCDateTime, now

Kind = Literal["rule", "source"]
KINDS: tuple[Kind, ...] = ("rule", "source")

_metadata = SQLModel.metadata  # the tables of migration 0013, beside those of ``tables``
ITEMS = Table(
    "console_items",
    _metadata,
    Column("kind", String(10), primary_key=True),
    Column("id", String(100), primary_key=True),
    Column("body", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(100), nullable=False),
)
MUTES = Table(
    "rule_mutes",
    _metadata,
    Column("rule_id", String(100), primary_key=True),
    Column("until", UTCDateTime(), nullable=False),
    Column("muted_by", String(100), nullable=False),
    Column("muted_at", UTCDateTime(), nullable=False),
)
GENERATION = Table(
    "config_generation",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("generation", Integer, nullable=False),
    Column("changed_at", UTCDateTime()),
)


class ItemError(Exception):
    """A write refused; ``status`` is the HTTP status the API answers with."""

    status = 400

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class ItemNotFound(ItemError):
    status = 404


class ItemConflict(ItemError):
    """The id is taken (create) or the item changed since the version read (update)."""

    status = 409


@dataclass(frozen=True, slots=True)
class ConsoleItem:
    kind: Kind
    id: str
    body: dict[str, Any]
    version: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str


def _item(row: Any) -> ConsoleItem:
    return ConsoleItem(
        kind=row.kind,
        id=row.id,
        body=json.loads(row.body),
        version=row.version,
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def without_credentials(value: Any) -> Any:
    """``value`` as the audit log and the API show it: a URL's user name and password (a
    feed behind basic auth, a proxy) as ``***``; neither ever shows a secret."""
    if isinstance(value, dict):
        return {k: without_credentials(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_credentials(v) for v in value]
    return redact_text(value) if isinstance(value, str) else value


def _body(ident: str, body: dict[str, Any]) -> str:
    # the id is the key: the body always carries the same one, first, as a file item would
    clean = {"id": ident, **{k: v for k, v in body.items() if k != "id"}}
    return json.dumps(clean, ensure_ascii=False, sort_keys=False)


async def list_items(engine: AsyncEngine, kind: Kind | None = None) -> list[ConsoleItem]:
    statement = select(ITEMS).order_by(ITEMS.c.kind, ITEMS.c.id)
    if kind is not None:
        statement = statement.where(ITEMS.c.kind == kind)
    async with engine.connect() as connection:
        rows = (await connection.execute(statement)).all()
    return [_item(row) for row in rows]


async def get_item(engine: AsyncEngine, kind: Kind, ident: str) -> ConsoleItem | None:
    statement = select(ITEMS).where(ITEMS.c.kind == kind, ITEMS.c.id == ident)
    async with engine.connect() as connection:
        row = (await connection.execute(statement)).first()
    return None if row is None else _item(row)


async def _bump(connection: AsyncConnection, moment: datetime) -> None:
    await connection.execute(
        update(GENERATION)
        .where(GENERATION.c.id == 1)
        .values(generation=GENERATION.c.generation + 1, changed_at=moment)
    )


async def generation(engine: AsyncEngine) -> int:
    """The config generation: it moves with every change of a console item."""
    async with engine.connect() as connection:
        value = (
            await connection.execute(select(GENERATION.c.generation).where(GENERATION.c.id == 1))
        ).scalar_one_or_none()
    return int(value or 0)


async def create_item(
    engine: AsyncEngine,
    kind: Kind,
    body: dict[str, Any],
    *,
    actor: str,
    address: str | None = None,
) -> ConsoleItem:
    """Store a new item (version 1); ``ItemConflict`` when the id is taken."""
    ident = str(body["id"])
    moment = now()
    stored = _body(ident, body)
    async with writing(engine) as connection:
        statement = (
            insert(engine, ITEMS)
            .values(
                kind=kind,
                id=ident,
                body=stored,
                version=1,
                created_at=moment,
                created_by=actor[:100],
                updated_at=moment,
                updated_by=actor[:100],
            )
            .on_conflict_do_nothing(index_elements=["kind", "id"])
            .returning(ITEMS.c.id)
        )
        if (await connection.execute(statement)).first() is None:
            raise ItemConflict(f"a console {kind} {ident!r} exists already")
        await _bump(connection, moment)
        await audit.record(
            connection,
            actor=actor,
            action=f"{kind}.create",
            target=ident,
            after=without_credentials(json.loads(stored)),
            address=address,
            moment=moment,
        )
    return ConsoleItem(kind, ident, json.loads(stored), 1, moment, actor, moment, actor)


async def update_item(
    engine: AsyncEngine,
    kind: Kind,
    ident: str,
    body: dict[str, Any],
    *,
    version: int,
    actor: str,
    address: str | None = None,
) -> ConsoleItem:
    """Replace the body if the item is still at ``version``; returns it at the next one."""
    moment = now()
    stored = _body(ident, body)
    async with writing(engine) as connection:
        before = await _locked(connection, kind, ident)
        if before.version != version:
            raise ItemConflict(_changed(kind, ident, before, version))
        result = await connection.execute(
            update(ITEMS)
            .where(ITEMS.c.kind == kind, ITEMS.c.id == ident, ITEMS.c.version == version)
            .values(body=stored, version=version + 1, updated_at=moment, updated_by=actor[:100])
        )
        if result.rowcount != 1:  # another writer between the read and the write
            raise ItemConflict(_changed(kind, ident, before, version))
        await _bump(connection, moment)
        await audit.record(
            connection,
            actor=actor,
            action=f"{kind}.update",
            target=ident,
            before=without_credentials(before.body),
            after=without_credentials(json.loads(stored)),
            address=address,
            moment=moment,
        )
    return ConsoleItem(
        kind,
        ident,
        json.loads(stored),
        version + 1,
        before.created_at,
        before.created_by,
        moment,
        actor,
    )


async def delete_item(
    engine: AsyncEngine,
    kind: Kind,
    ident: str,
    *,
    actor: str,
    version: int | None = None,
    address: str | None = None,
) -> ConsoleItem:
    """Remove the item (at ``version`` when one is given); returns what was removed."""
    moment = now()
    async with writing(engine) as connection:
        before = await _locked(connection, kind, ident)
        if version is not None and before.version != version:
            raise ItemConflict(_changed(kind, ident, before, version))
        statement = delete(ITEMS).where(
            ITEMS.c.kind == kind, ITEMS.c.id == ident, ITEMS.c.version == before.version
        )
        if (await connection.execute(statement)).rowcount != 1:
            raise ItemConflict(f"the console {kind} {ident!r} changed meanwhile: read it again")
        if kind == "rule":
            await connection.execute(delete(MUTES).where(MUTES.c.rule_id == ident))
        await _bump(connection, moment)
        await audit.record(
            connection,
            actor=actor,
            action=f"{kind}.delete",
            target=ident,
            before=without_credentials(before.body),
            address=address,
            moment=moment,
        )
    return before


async def _locked(connection: AsyncConnection, kind: Kind, ident: str) -> ConsoleItem:
    statement = select(ITEMS).where(ITEMS.c.kind == kind, ITEMS.c.id == ident)
    if connection.dialect.name != "sqlite":  # SQLite's writer lock serialises already
        statement = statement.with_for_update()
    row = (await connection.execute(statement)).first()
    if row is None:
        raise ItemNotFound(f"no console {kind} {ident!r}")
    return _item(row)


def _changed(kind: str, ident: str, current: ConsoleItem, version: int) -> str:
    return (
        f"the console {kind} {ident!r} was changed by {current.updated_by} at "
        f"{current.updated_at.isoformat(timespec='seconds')} (version {current.version}, "
        f"yours {version}): read it again and reapply your change"
    )


# --- mutes -------------------------------------------------------------------------------


async def mute_rule(
    engine: AsyncEngine,
    rule_id: str,
    until: datetime,
    *,
    actor: str,
    address: str | None = None,
) -> datetime:
    """Mute ``rule_id`` (a file or a console rule) until ``until``; a mute set replaces one
    in force. Mutes are state, not configuration: they are read where alerts are made, so
    they take effect on every instance at once, with no generation to watch."""
    moment = now()
    async with writing(engine) as connection:
        before = await _mute(connection, rule_id, moment)
        values = {"until": until, "muted_by": actor[:100], "muted_at": moment}
        statement = insert(engine, MUTES).values(rule_id=rule_id, **values)
        await connection.execute(
            statement.on_conflict_do_update(index_elements=["rule_id"], set_=values)
        )
        await audit.record(
            connection,
            actor=actor,
            action="rule.mute",
            target=rule_id,
            before=None if before is None else {"muted_until": before.isoformat()},
            after={"muted_until": until.isoformat()},
            address=address,
            moment=moment,
        )
    return until


async def unmute_rule(
    engine: AsyncEngine, rule_id: str, *, actor: str, address: str | None = None
) -> bool:
    """End the mute of ``rule_id``; False when it was not muted (nothing is recorded)."""
    moment = now()
    async with writing(engine) as connection:
        before = await _mute(connection, rule_id, moment)
        await connection.execute(delete(MUTES).where(MUTES.c.rule_id == rule_id))
        if before is None:
            return False
        await audit.record(
            connection,
            actor=actor,
            action="rule.unmute",
            target=rule_id,
            before={"muted_until": before.isoformat()},
            after=None,
            address=address,
            moment=moment,
        )
    return True


async def _mute(connection: AsyncConnection, rule_id: str, moment: datetime) -> datetime | None:
    statement = select(MUTES.c.until).where(MUTES.c.rule_id == rule_id, MUTES.c.until > moment)
    value: datetime | None = (await connection.execute(statement)).scalar_one_or_none()
    return value


async def muted_rules(
    source: AsyncEngine | AsyncConnection, moment: datetime | None = None
) -> dict[str, datetime]:
    """The rules muted at ``moment`` (default now), each with the end of its mute."""
    statement = select(MUTES.c.rule_id, MUTES.c.until).where(MUTES.c.until > (moment or now()))
    if isinstance(source, AsyncConnection):
        rows = (await source.execute(statement)).all()
    else:
        async with source.connect() as connection:
            rows = (await connection.execute(statement)).all()
    return {row.rule_id: row.until for row in rows}
