"""The lxml fast path for plain RSS and Atom feeds: one function, ``parse_fast``.

``parse_fast(body, content_type, url, date_parser)`` returns the ``ParsedFeed`` that
feedparser would give (as ``parse.feed`` maps it), or ``None`` to decline, and the caller
then uses feedparser. Its specification is the corpus differential test
(tests/parse/test_fast.py): for every feed it takes, the same feed header and the same
releases as feedparser alone. The value helpers both paths share (a field's text, a date)
are public in ``parse.entry_values``; nothing outside this package imports its modules
(an import-linter contract in pyproject.toml keeps it so).

``document`` reads the document, ``entry`` one item, ``names`` and ``values`` name
elements and read their text as feedparser does.
"""

from monitor.parse.lxml_feed.document import parse_fast

__all__ = ["parse_fast"]
