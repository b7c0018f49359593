"""A simulated ministry web on loopback, for `bench.scale` and the scale behaviour test.

One asyncio process (``python -m bench.sim``) serves N sources at ``/s/{i}.xml``: RSS,
Atom and listing pages, in Arabic and English, 5–50 items each, answering ETag and
Last-Modified with 304. Sources gain items as time passes (about ``change`` of them per
interval, 1–3 items each, a few items republished by another source), a few fail for an
interval (500, 429, or no answer), and a webhook receiver at ``/hook`` timestamps every
alert. Everything it saw (each request, when each new item appeared and was first served,
each alert) is returned by ``GET /_dump`` for ``analysis``.

Content is derived from (source, item) by a seeded generator, so the process keeps only
counters per source and stays small at 100,000 sources.
"""
