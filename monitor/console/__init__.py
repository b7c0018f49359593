"""The web console and its API (SPEC section 5), served by ``monitor run`` on its event loop.

``app.build_app`` makes the ASGI application from a ``ConsoleContext``; ``server`` runs it
with uvicorn inside the daemon. Pages and API handlers are thin: they read the request,
call the store's read and write functions (``store.reads``, ``store.archive``,
``store.people``, ``store.audit``) and render a template or return a shape.
"""
