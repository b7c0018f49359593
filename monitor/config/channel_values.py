"""The two channel settings whose format belongs to another party: a webhook secret
(Standard Webhooks' ``whsec_`` + base64 key) and an Apprise URL (what Apprise's plugins
understand).

``monitor check`` and every command refuse a config whose secret or URL would fail at
the first delivery, naming the setting and never its value; the channels (``notify.webhook``,
``notify.apprise``) use the same functions to read them. They live with the config, below
the channels, so that the config's checks need nothing of ``notify``.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format marker, not a secret
MIN_KEY_BYTES = 16


def webhook_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret; ValueError (without the secret) if malformed."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"webhook secret must start with {SECRET_PREFIX!r}")
    encoded = secret[len(SECRET_PREFIX) :].strip()
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"webhook secret must be {SECRET_PREFIX!r} followed by base64") from None
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"webhook secret key is {len(key)} bytes; it must be at least {MIN_KEY_BYTES}"
        )
    return key


def validate_webhook_secret(secret: str | None) -> str | None:
    """One-line problem with a webhook secret, or None if it is usable (or absent)."""
    if secret is None:
        return None
    try:
        webhook_key(secret)
    except ValueError as exc:
        return str(exc)
    return None


def url_problem(url: str) -> str | None:
    """Why Apprise would not understand ``url`` (one line, without the URL), or None."""
    scheme = url.partition("://")[0] if "://" in url else ""
    if not scheme or not scheme.replace("+", "").replace("-", "").isalnum():
        return "not an Apprise URL: write service://…, e.g. tgram://${TG_TOKEN}/${TG_CHAT}"
    if apprise_plugin(url) is None:
        return (
            f"'{scheme.lower()}://…' is not a URL Apprise understands (an unknown service, "
            "or a token or address missing): see Apprise's list of services"
        )
    return None


def apprise_plugin(url: str) -> Any:
    """Apprise's plugin for ``url``, or None when Apprise does not understand it. Apprise
    is imported here, on first use: a config without apprise channels never loads it."""
    import apprise

    # a plugin that cannot read its URL logs why, quoting pieces of it (a token): Apprise's
    # records never reach the daemon's log (``notify.apprise`` keeps them per send)
    logging.getLogger("apprise").propagate = False
    asset = apprise.AppriseAsset(app_id="monitor", storage_mode="memory")
    try:
        return apprise.Apprise.instantiate(url, asset=asset, suppress_exceptions=True)
    except Exception:  # a plugin that raises while reading its URL: not understood
        return None
