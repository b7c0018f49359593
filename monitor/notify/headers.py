"""Email headers whose words survive the trip: RFC 2047 encoded words made here.

Why not the email package's own folding: its SMTP policy folds a long non-ASCII subject
between two encoded words and leaves the text's space there (``…?= =?utf-8?b?…``). RFC 2047
(section 6.2) tells decoders to ignore whitespace between adjacent encoded words, and they
do — the standard library's parser among them — so a space that fell on a fold vanished:
``قطر وحلف الناتو`` arrived as ``قطر وحلفالناتو``, in about one long Arabic subject in five.
The email package also decodes an encoded word found in a value it is given, so a title
that reads ``=?utf-8?q?…?=`` would not arrive as written.

Here a value is taken as written and every character of it, spaces included, travels
inside a plain word or an encoded word; the only whitespace between two encoded words is
the fold itself, which every decoder drops:

- text (``Subject``): the leading run of plain ASCII words stays readable; from the first
  word that is not plain, the rest is UTF-8 ``B`` encoded words of at most 75 characters,
  on lines of at most 76 (RFC 2047 section 2). An encoded word ends after a space, so a
  word is split only when it alone is longer than one encoded word (some mail clients show
  a split word with a space in it).
- mailboxes (``From``, ``To``): a non-ASCII display name keeps its ASCII atoms (``-``,
  ``Qatar``) as they are and its other words as encoded words, one run between two atoms,
  then ``<address>``. A run that fits one encoded word (about 22 Arabic letters) reads the
  same everywhere; a longer one is split after a space, which RFC 2047 decoders read
  exactly and the standard library's address parser reads with that space doubled (it
  keeps the fold between encoded words in a display name).

``POLICY`` is the SMTP policy (CRLF, 7bit bodies) with these header classes registered,
for building messages; parse received ones with ``email.policy.default``.
"""

from __future__ import annotations

import base64
import email.policy
import re
from collections.abc import Iterable, Sequence
from email.headerregistry import (
    Address,
    HeaderRegistry,
    UniqueAddressHeader,
    UniqueUnstructuredHeader,
)
from email.policy import Policy
from typing import Any

LINE = 76  # characters on a header line that holds an encoded word (RFC 2047 section 2)
PREFIX, SUFFIX = "=?utf-8?b?", "?="
# bytes of UTF-8 one encoded word holds: 75 characters at most, base64 in groups of 4
WORD_BYTES = (75 - len(PREFIX) - len(SUFFIX)) // 4 * 3
_PLAIN = re.compile(r"[!-~]{1,60}")  # printable ASCII without space, short enough to keep
_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,60}")  # RFC 5322 atext: plain in a phrase
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_PIECES = re.compile(r"\S*\s*")  # a word and the whitespace after it


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _plain(word: str) -> bool:
    return bool(_PLAIN.fullmatch(word)) and "=?" not in word


def encoded_word(text: str) -> str:
    return PREFIX + base64.b64encode(text.encode("utf-8")).decode("ascii") + SUFFIX


def _capacity(room: int) -> int:
    """Bytes of UTF-8 an encoded word of at most ``room`` characters holds."""
    return max(0, (min(room, 75) - len(PREFIX) - len(SUFFIX)) // 4 * 3)


def _head(piece: str, limit: int) -> str:
    """The longest start of ``piece`` within ``limit`` bytes (at least one character)."""
    size = 0
    for i, char in enumerate(piece):
        size += _size(char)
        if size > limit:
            return piece[: max(i, 1)]
    return piece


def chunks(text: str, first: int = WORD_BYTES, wrap: bool = False) -> list[str]:
    """``text`` cut into pieces of at most ``first`` bytes, then ``WORD_BYTES``; a cut falls
    after a space unless one word alone is longer than a piece. With ``wrap`` (the first
    piece would share a line), a first word too long for ``first`` but not for a whole
    piece is not split: it starts a piece of its own (on the next line)."""
    out: list[str] = []
    current, limit = "", first
    for piece in _PIECES.findall(text):
        if not piece:
            continue
        if _size(current + piece) <= limit:
            current += piece
            continue
        if current:
            out.append(current)
            current, limit = "", WORD_BYTES
        elif wrap and _size(piece) <= WORD_BYTES:
            limit = WORD_BYTES
        while _size(piece) > limit:
            head = _head(piece, limit)
            out.append(head)
            piece, limit = piece[len(head) :], WORD_BYTES
        current = piece
    if current:
        out.append(current)
    return out


def _lines(name: str, tokens: Iterable[str]) -> list[str]:
    """``Name: token token…`` as lines, a new one before a token that would pass ``LINE``."""
    lines = [f"{name}:"]
    for token in tokens:
        if len(lines[-1]) + 1 + len(token) > LINE and lines[-1] != f"{name}:":
            lines.append(f" {token}")
        else:
            lines[-1] += f" {token}"
    return lines


def _encoded_tokens(text: str, room: int, wrap: bool) -> list[str]:
    """Encoded words for ``text``, the first one sized to ``room`` characters if that holds
    at least a few bytes (else it starts a new line); ``wrap``: a line break may come first."""
    first = _capacity(room)
    return [encoded_word(c) for c in chunks(text, first if first >= 6 else WORD_BYTES, wrap)]


def _room(name: str, tokens: Sequence[str]) -> int:
    """Characters left for the next token on the line it would share (after its space)."""
    return LINE - len(_lines(name, tokens)[-1]) - 1


def fold_text(name: str, value: str, linesep: str = "\r\n") -> str:
    """An unstructured header (``Subject``) as it goes on the wire, ``linesep`` included."""
    value = _SURROGATE.sub("\ufffd", value)
    words = value.split(" ")
    plain = 0
    while plain < len(words) and _plain(words[plain]):
        plain += 1
    rest = " ".join(words[plain:])
    if plain < len(words) and not rest:  # only a trailing space is left: it travels encoded
        plain -= 1
        rest = " ".join(words[plain:])
    tokens = words[:plain]
    if rest:
        tokens += _encoded_tokens(rest, _room(name, tokens), wrap=bool(tokens))
    return linesep.join(_lines(name, tokens)) + linesep


def fold_mailboxes(name: str, addresses: Sequence[Address], linesep: str = "\r\n") -> str | None:
    """An address list header with non-ASCII display names as encoded words; None when an
    address itself is not ASCII (the email package's folding applies then)."""
    tokens: list[str] = []
    for i, address in enumerate(addresses):
        spec = address.addr_spec
        if not spec.isascii():
            return None
        comma = "," if i < len(addresses) - 1 else ""
        name_text = _SURROGATE.sub("\ufffd", address.display_name)
        if not name_text:
            tokens.append(spec + comma)
        elif name_text.isascii() and name_text.isprintable():
            tokens.append(str(Address(display_name=name_text, addr_spec=spec)) + comma)
        else:
            tokens += _phrase_tokens(name, name_text, tokens)
            tokens.append(f"<{spec}>{comma}")
    return linesep.join(_lines(name, tokens)) + linesep


def _phrase_tokens(header: str, text: str, before: Sequence[str]) -> list[str]:
    """A display name's tokens: its ASCII atoms as they are, each run of other words as
    encoded words (the spaces between a run and an atom are the tokens' separators)."""
    words = text.split(" ")
    if "" in words:  # leading, trailing or doubled spaces: all of it travels encoded
        return _encoded_tokens(text, _room(header, before), wrap=bool(before))
    tokens: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            line = [*before, *tokens]
            tokens.extend(_encoded_tokens(" ".join(run), _room(header, line), bool(line)))
            run.clear()

    for word in words:
        if _ATOM.fullmatch(word) and "=?" not in word:
            flush()
            tokens.append(word)
        else:
            run.append(word)
    flush()
    return tokens


class TextHeader(UniqueUnstructuredHeader):
    """``Subject``: the value as written (never decoded), folded by ``fold_text``."""

    @classmethod
    def parse(cls, value: str, kwds: dict[str, Any]) -> None:
        kwds["parse_tree"] = None  # only the email package's own fold reads it
        kwds["decoded"] = value

    def fold(self, *, policy: Policy) -> str:
        name: str = getattr(self, "name")  # noqa: B009 - set by BaseHeader.init
        return fold_text(name, str(self), policy.linesep)


class MailboxesHeader(UniqueAddressHeader):
    """``From``, ``To``: parsed by the email package, folded by ``fold_mailboxes``."""

    def fold(self, *, policy: Policy) -> str:
        name: str = getattr(self, "name")  # noqa: B009 - set by BaseHeader.init
        addresses: tuple[Address, ...] = getattr(self, "addresses")  # noqa: B009
        folded = fold_mailboxes(name, addresses, policy.linesep)
        if folded is None:
            folded = str(super().fold(policy=policy))  # type: ignore[misc]
        return folded


def _registry() -> HeaderRegistry:
    registry = HeaderRegistry()
    # the registry takes mixins and adds BaseHeader itself (typeshed wants the result)
    registry.map_to_type("subject", TextHeader)  # type: ignore[arg-type]
    for name in ("from", "to", "cc", "reply-to"):
        registry.map_to_type(name, MailboxesHeader)  # type: ignore[arg-type]
    return registry


# 7bit: bodies go base64/quoted-printable, so no relay needs 8BITMIME.
POLICY = email.policy.SMTP.clone(cte_type="7bit", header_factory=_registry())
