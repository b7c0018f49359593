"""Validators of single values an operator writes: email addresses, language codes, zones.

Each takes the raw value and returns it unchanged, or raises ``ValueError`` with a message
that says what was wrong and what is expected (it becomes ``to[0]: …`` in ``check``).
Values of another type pass through, for pydantic to say "expected text".
"""

from __future__ import annotations

import difflib
import email.utils
import functools
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

# BCP 47's shapes, the common part: language (2-3 letters), script (4 letters), region
# (2 letters or 3 digits), variants. Enough to catch "english" or "ar_QA"; no registry.
_LANGUAGE = re.compile(
    r"^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-(?:[A-Za-z]{2}|[0-9]{3}))?"
    r"(-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*$"
)


def email_address(value: Any) -> Any:
    """An address, bare or with a display name (``Monitor <monitor@example.org>``)."""
    if not isinstance(value, str):
        return value
    if "," in value:
        raise ValueError(f"{value!r}: one address per entry, e.g. [a@example.org, b@example.org]")
    address = email.utils.parseaddr(value)[1]
    if not address or ("<" not in value and address != value.strip()):
        raise ValueError(f"{value!r} is not an email address: write name@domain")
    # imported here: ~60 ms that only a config with an email channel should pay
    from email_validator import EmailNotValidError, validate_email

    _allow_intranet_domains()
    try:
        # syntax only: whether the domain takes mail is the relay's business, and a
        # private relay may serve a domain no public DNS knows
        validate_email(
            address, check_deliverability=False, globally_deliverable=False, test_environment=True
        )
    except EmailNotValidError as exc:
        reason = str(exc).rstrip(".")
        reason = reason[:1].lower() + reason[1:]
        raise ValueError(f"{value!r} is not an email address: {reason}") from None
    return value


@functools.cache
def _allow_intranet_domains() -> None:
    """Let ``ops@corp.local`` and ``ops@localhost`` through: email-validator refuses these
    special-use names, yet a government intranet's relay often serves exactly such a
    domain. Its documented way is to edit this module-level list."""
    import email_validator

    for name in ("local", "localhost"):
        if name in email_validator.SPECIAL_USE_DOMAIN_NAMES:
            email_validator.SPECIAL_USE_DOMAIN_NAMES.remove(name)


def language_code(value: Any) -> Any:
    if isinstance(value, str) and not _LANGUAGE.match(value):
        raise ValueError(
            f"{value!r} is not a language code: use a BCP 47 code such as ar, en, en-GB or zh-Hant"
        )
    return value


def time_zone(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        ZoneInfo(value)
    # OSError: "Asia" names a directory of the tz database, and ZoneInfo opens it
    except (ZoneInfoNotFoundError, ValueError, OSError):
        close = difflib.get_close_matches(value, _zones(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ": use a name such as Asia/Qatar"
        raise ValueError(f"unknown time zone {value!r}{hint}") from None
    return value


@functools.cache
def _zones() -> list[str]:
    return sorted(available_timezones())
