"""Credentials out of everything shown: ``http://user:secret@host/feed`` → ``http://***@host/feed``.

A source URL may carry its feed's basic-auth credentials (SPEC section 4: "credentials in a
source URL are never shown"); the fetcher uses them, and everything a person or another
system reads — the CLI, log lines, alerts, metrics, the console and its API — goes through
here first. ``redact_text`` does the same to every URL inside a longer text (an error
message, a log line). The userinfo is replaced whole, whatever it holds: a password with
an ``@`` in it (``user:p@ss@host``) is hidden to its last ``@``, as URL parsers read it.
"""

from __future__ import annotations

import re

# scheme://userinfo@ — greedy up to the authority's last "@", never past its end
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s]*@")


def redact_url(url: str) -> str:
    """``url`` with its userinfo (user name and password) replaced by ``***``."""
    return redact_text(url)


def redact_text(text: str) -> str:
    """Every URL in ``text`` with its userinfo replaced by ``***``."""
    if "@" not in text:
        return text  # the common case: nothing to scan
    return _USERINFO.sub(r"\1***@", text)
