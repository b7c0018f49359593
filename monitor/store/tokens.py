"""API tokens: bearer credentials with a role of their own, for scripts and the API.

A token is ``mon_`` and 256 random bits, printed once when made; only its SHA-256 is
stored, so revoking one (or losing the database) never exposes another. ``last_used_at``
is written at most once a ``TOKEN_TOUCH``, not on every request.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store import audit
from monitor.store.people import Identity, PeopleError, check_role, digest, new_secret
from monitor.store.session import writing
from monitor.store.shapes import TokenItem
from monitor.store.tables import API_TOKENS, now

TOKEN_TOUCH = timedelta(minutes=1)  # last_used_at is written at most this often


async def create_token(
    engine: AsyncEngine, name: str, role: str, *, actor: str, address: str | None = None
) -> str:
    """A new token; the clear value is returned once and never stored."""
    check_role(role)
    token = "mon_" + new_secret()
    moment = now()
    try:
        async with writing(engine) as connection:
            await connection.execute(
                insert(API_TOKENS).values(
                    name=name,
                    role=role,
                    token_hash=digest(token),
                    created_by=actor[:100],
                    created_at=moment,
                )
            )
            await audit.record(
                connection,
                actor=actor,
                action="token.create",
                target=name,
                after={"name": name, "role": role},
                address=address,
                moment=moment,
            )
    except IntegrityError:
        raise PeopleError("exists", f"token {name!r} exists already") from None
    return token


async def list_tokens(engine: AsyncEngine) -> list[TokenItem]:
    async with engine.connect() as connection:
        rows = (await connection.execute(select(API_TOKENS).order_by(API_TOKENS.c.name))).all()
    return [
        TokenItem(
            name=r.name,
            role=r.role,
            created_by=r.created_by,
            created_at=r.created_at,
            last_used_at=r.last_used_at,
        )
        for r in rows
    ]


async def revoke_token(
    engine: AsyncEngine, name: str, *, actor: str, address: str | None = None
) -> None:
    async with writing(engine) as connection:
        row = (
            await connection.execute(select(API_TOKENS.c.role).where(API_TOKENS.c.name == name))
        ).one_or_none()
        if row is None:
            raise PeopleError("unknown", f"no token {name!r}")
        await connection.execute(delete(API_TOKENS).where(API_TOKENS.c.name == name))
        await audit.record(
            connection,
            actor=actor,
            action="token.revoke",
            target=name,
            before={"name": name, "role": row.role},
            address=address,
        )


async def token_identity(engine: AsyncEngine, token: str) -> Identity | None:
    hashed = digest(token)
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                select(API_TOKENS.c.name, API_TOKENS.c.role, API_TOKENS.c.last_used_at).where(
                    API_TOKENS.c.token_hash == hashed
                )
            )
        ).one_or_none()
    if row is None:
        return None
    moment = now()
    if row.last_used_at is None or moment - row.last_used_at > TOKEN_TOUCH:
        async with writing(engine) as connection:
            await connection.execute(
                update(API_TOKENS)
                .where(API_TOKENS.c.token_hash == hashed)
                .values(last_used_at=moment)
            )
    return Identity(f"token:{row.name}", row.role, "token")
