"""Passwords: Argon2id hashes (argon2-cffi, its recommended parameters), checked off the
event loop so that a sign-in does not pause the daemon's polls."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()  # Argon2id, RFC 9106's low-memory profile
# checked when the user does not exist, so a wrong name takes as long as a wrong password
_DUMMY = _HASHER.hash("no such user")
MIN_LENGTH = 8


def check_strength(password: str) -> str | None:
    """Why ``password`` is refused, or None."""
    if len(password) < MIN_LENGTH:
        return f"a password has at least {MIN_LENGTH} characters"
    return None


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def hash_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_async(stored: str | None, password: str) -> bool:
    """Whether ``password`` is the one ``stored`` hashes (None: no such user, always False)."""
    return await asyncio.to_thread(_verify, stored, password)
