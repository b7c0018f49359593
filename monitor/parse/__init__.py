"""Parsing stage: fetched bodies become entries, and entries become releases.

``feed`` (RSS, Atom; ``jsonfeed`` for JSON Feed) and ``listing`` (HTML listing pages) turn a
body into a ``ParsedFeed``; ``identity.derive`` is the one step after every parser that
decides a release's identity, plain text and canonical URL; ``text`` turns markup into plain
text; ``dates`` reads published dates; ``pool`` runs parsers off the event loop.
Nothing is imported here, so importing a submodule stays cheap.
"""
