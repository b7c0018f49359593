"""Parsing stage: fetched bodies become entries, and entries become releases.

``feed`` (RSS, Atom; ``jsonfeed`` for JSON Feed) and ``listing`` (HTML listing pages) turn a
body into a ``ParsedFeed``; ``identity.derive`` is the one step after every parser that
decides a release's identity, plain text and canonical URL; ``text`` turns markup into plain
text; ``dates`` reads published dates; ``pool`` runs parsers off the event loop.
``lxml_feed`` is the fast path for plain RSS and Atom, ``entry_values`` the values both feed
readers share; ``documents`` turns files, feeds and JSON release lists into the documents
``monitor rules test`` matches.
Nothing is imported here, so importing a submodule stays cheap.
"""
