"""Finding how to poll a ministry: its feeds, or selectors for its listing page.

One implementation for ``monitor sources discover URL`` and the console's source preview
(``/sources/new``, ``POST /api/v1/sources/preview``): ``probe`` fetches and reads,
``feeds`` says where feeds may be, ``suggest`` writes ``select:`` selectors for a page's
repeated blocks. Nothing here stores anything.
"""
