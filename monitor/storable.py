"""Text every store, template and serialiser takes: ``storable`` turns any ``str`` into it.

A ministry's feed may carry what no database takes: a NUL (PostgreSQL refuses it in text),
a lone surrogate from a JSON ``"\\ud800"`` escape (no UTF-8 encoder takes it, so SQLite and
PostgreSQL both refuse the row), control characters that XML, HTML and JSON consumers choke
on. ``storable``:

- line endings become ``\\n`` (CRLF and a lone CR alike, so a CR never joins two words);
- a lone surrogate becomes U+FFFD (a surrogate pair left in a ``str`` is joined into its
  character); the other characters XML 1.0 has no room for are removed: NUL and the C0
  controls but tab and newline, and the noncharacters U+FFFE and U+FFFF;
- the text is put in Unicode NFC: canonically equivalent spellings (``e`` + U+0301 and
  ``é``; ا + U+0654 and أ) are stored alike, so a publisher's re-encoding is no revision.
  NFC loses nothing a reader sees. The matcher applies NFKC itself (``rules.normalize``),
  which NFC text passes through unchanged in meaning, and more often on its fast path.

The parsers apply it to every field of every item (``parse.clean``), and a skipped item's
reason (``model.Skipped``) goes through it too: it is in the lowest layer so that the
store and the parsers share it without either importing the other.
"""

from __future__ import annotations

import re
import unicodedata

# what XML 1.0 calls a character (Char), less the CR that ``_repair`` turns into a newline
_UNSTORABLE = re.compile("[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_DROPPED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def storable(text: str) -> str:
    """``text`` as every store and serialiser takes it (see the module doc)."""
    if _UNSTORABLE.search(text) is not None:
        text = _repair(text)
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text


def _repair(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _SURROGATE.search(text) is not None:
        # UTF-16 joins the pairs and replaces the lone ones with U+FFFD
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return _DROPPED.sub("", text)
