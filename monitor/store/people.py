"""The console's people: users, sessions, API tokens and sign-in throttling (SPEC section 5).

- Roles rise ``viewer`` < ``editor`` < ``admin``; the last admin can be neither demoted nor
  removed, so the console always has someone who can manage it.
- A session id (and an API token, ``store.tokens``) is a 256-bit random string handed
  out once; only its SHA-256 is stored. Sessions live here, so every instance knows them
  and logout (or a password change, or removing the user) ends them everywhere at once.
- Throttling of failed sign-ins lives in ``store.throttle``.

Every change writes its audit entry in the same transaction. Password hashing happens
before these functions are called (``monitor.console.passwords``): the store keeps hashes.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.errors import MonitorError
from monitor.store import audit
from monitor.store.session import writing
from monitor.store.shapes import ROLES, UserItem
from monitor.store.tables import CONSOLE_SESSIONS, USERS, now

_FIRST_ADMIN_LOCK = 0x7573657273  # "users": two first-admin forms at once make one admin


class PeopleError(MonitorError):
    """A change that cannot be made; ``code`` is ``unknown``, ``exists`` or ``last-admin``."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is asking: a signed-in user, a token, or a user a trusted proxy vouches for."""

    name: str
    role: str
    via: str  # session | token | proxy
    session_hash: str | None = None
    csrf_token: str | None = None

    def can(self, role: str) -> bool:
        return rank(self.role) >= rank(role)


def rank(role: str) -> int:
    return ROLES.index(role) if role in ROLES else -1


def check_role(role: str) -> str:
    if role not in ROLES:
        raise PeopleError("invalid", f"unknown role {role!r}: use viewer, editor or admin")
    return role


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


def _user(row: object) -> UserItem:
    return UserItem(
        name=row.name,  # type: ignore[attr-defined]
        role=row.role,  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
        updated_at=row.updated_at,  # type: ignore[attr-defined]
        password=row.password_hash is not None,  # type: ignore[attr-defined]
    )


# --- users ------------------------------------------------------------------------------


async def count_users(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(USERS))).scalar_one())


async def list_users(engine: AsyncEngine) -> list[UserItem]:
    async with engine.connect() as connection:
        rows = (await connection.execute(select(USERS).order_by(USERS.c.name))).all()
    return [_user(row) for row in rows]


async def password_hash_of(engine: AsyncEngine, name: str) -> tuple[int, str | None] | None:
    """(id, Argon2 hash) of user ``name``, for signing in; None if there is no such user."""
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                select(USERS.c.id, USERS.c.password_hash).where(USERS.c.name == name)
            )
        ).one_or_none()
    return None if row is None else (row.id, row.password_hash)


async def add_user(
    engine: AsyncEngine,
    name: str,
    role: str,
    password_hash: str | None,
    *,
    actor: str,
    address: str | None = None,
    first: bool = False,
) -> UserItem:
    """Add a user. ``first``: only while no user exists (the first-admin form)."""
    check_role(role)
    name = name.strip()
    if not name or len(name) > 100 or any(not c.isprintable() for c in name):
        raise PeopleError("invalid", "a user name is 1 to 100 printable characters")
    moment = now()
    try:
        async with writing(engine) as connection:
            if first:
                if connection.dialect.name == "postgresql":
                    await connection.execute(
                        text("SELECT pg_advisory_xact_lock(:k)"), {"k": _FIRST_ADMIN_LOCK}
                    )
                count = (await connection.execute(select(func.count()).select_from(USERS))).scalar()
                if count:
                    raise PeopleError("exists", "a user exists already: sign in")
            await connection.execute(
                insert(USERS).values(
                    name=name,
                    role=role,
                    password_hash=password_hash,
                    created_at=moment,
                    updated_at=moment,
                )
            )
            await audit.record(
                connection,
                actor=actor,
                action="user.add",
                target=name,
                after={"name": name, "role": role},
                address=address,
                moment=moment,
            )
    except IntegrityError:
        raise PeopleError("exists", f"user {name!r} exists already") from None
    return UserItem(
        name=name,
        role=role,
        created_at=moment,
        updated_at=moment,
        password=password_hash is not None,
    )


async def _role_of(connection: AsyncConnection, name: str) -> str:
    role = (
        await connection.execute(select(USERS.c.role).where(USERS.c.name == name))
    ).scalar_one_or_none()
    if role is None:
        raise PeopleError("unknown", f"no user {name!r}")
    return str(role)


async def _keep_an_admin(connection: AsyncConnection, name: str) -> None:
    admins = (
        await connection.execute(
            select(func.count())
            .select_from(USERS)
            .where(USERS.c.role == "admin", USERS.c.name != name)
        )
    ).scalar_one()
    if not admins:
        raise PeopleError(
            "last-admin", f"{name!r} is the last admin: make another user admin first"
        )


async def set_role(
    engine: AsyncEngine, name: str, role: str, *, actor: str, address: str | None = None
) -> str:
    """Change a user's role (in effect at their next request); returns the previous one."""
    check_role(role)
    async with writing(engine) as connection:
        before = await _role_of(connection, name)
        if before == "admin" and role != "admin":
            await _keep_an_admin(connection, name)
        await connection.execute(
            update(USERS).where(USERS.c.name == name).values(role=role, updated_at=now())
        )
        await audit.record(
            connection,
            actor=actor,
            action="user.role",
            target=name,
            before={"role": before},
            after={"role": role},
            address=address,
        )
    return before


async def set_password(
    engine: AsyncEngine,
    name: str,
    password_hash: str,
    *,
    actor: str,
    address: str | None = None,
) -> None:
    """Set a new password and end the user's sessions on every instance."""
    async with writing(engine) as connection:
        await _role_of(connection, name)
        user_id = select(USERS.c.id).where(USERS.c.name == name).scalar_subquery()
        await connection.execute(
            update(USERS)
            .where(USERS.c.name == name)
            .values(password_hash=password_hash, updated_at=now())
        )
        ended = await connection.execute(
            delete(CONSOLE_SESSIONS).where(CONSOLE_SESSIONS.c.user_id == user_id)
        )
        await audit.record(
            connection,
            actor=actor,
            action="user.password",
            target=name,
            after={"sessions_ended": ended.rowcount},
            address=address,
        )


async def remove_user(
    engine: AsyncEngine, name: str, *, actor: str, address: str | None = None
) -> None:
    async with writing(engine) as connection:
        role = await _role_of(connection, name)
        if role == "admin":
            await _keep_an_admin(connection, name)
        user_id = select(USERS.c.id).where(USERS.c.name == name).scalar_subquery()
        await connection.execute(
            delete(CONSOLE_SESSIONS).where(CONSOLE_SESSIONS.c.user_id == user_id)
        )
        await connection.execute(delete(USERS).where(USERS.c.name == name))
        await audit.record(
            connection,
            actor=actor,
            action="user.remove",
            target=name,
            before={"name": name, "role": role},
            address=address,
        )


async def vouched_user(engine: AsyncEngine, name: str) -> Identity | None:
    """The user a trusted proxy names, if monitor knows them."""
    async with engine.connect() as connection:
        role = (
            await connection.execute(select(USERS.c.role).where(USERS.c.name == name))
        ).scalar_one_or_none()
    return None if role is None else Identity(name, str(role), "proxy")


# --- sessions ---------------------------------------------------------------------------


async def start_session(
    engine: AsyncEngine,
    user_id: int,
    *,
    lifetime: timedelta,
    address: str | None,
    replacing: str | None = None,
) -> tuple[str, str]:
    """A new session (a new id at every sign-in: a planted id is worth nothing); the one
    the browser held before is ended. Returns (session id, CSRF token), both in clear."""
    session_id, csrf_token = new_secret(), new_secret()
    moment = now()
    async with writing(engine) as connection:
        if replacing:
            await connection.execute(
                delete(CONSOLE_SESSIONS).where(CONSOLE_SESSIONS.c.id_hash == digest(replacing))
            )
        # expired sessions go with each sign-in: the table holds live ones only
        await connection.execute(
            delete(CONSOLE_SESSIONS).where(CONSOLE_SESSIONS.c.expires_at < moment)
        )
        await connection.execute(
            insert(CONSOLE_SESSIONS).values(
                id_hash=digest(session_id),
                user_id=user_id,
                csrf_token=csrf_token,
                address=address,
                created_at=moment,
                expires_at=moment + lifetime,
            )
        )
    return session_id, csrf_token


async def session_identity(engine: AsyncEngine, session_id: str) -> Identity | None:
    """Who holds ``session_id``, while it lives."""
    hashed = digest(session_id)
    statement = (
        select(USERS.c.name, USERS.c.role, CONSOLE_SESSIONS.c.csrf_token)
        .join(USERS, USERS.c.id == CONSOLE_SESSIONS.c.user_id)
        .where(CONSOLE_SESSIONS.c.id_hash == hashed, CONSOLE_SESSIONS.c.expires_at > now())
    )
    async with engine.connect() as connection:
        row = (await connection.execute(statement)).one_or_none()
    if row is None:
        return None
    return Identity(row.name, row.role, "session", hashed, row.csrf_token)


async def end_session(engine: AsyncEngine, session_id: str) -> None:
    async with writing(engine) as connection:
        await connection.execute(
            delete(CONSOLE_SESSIONS).where(CONSOLE_SESSIONS.c.id_hash == digest(session_id))
        )
