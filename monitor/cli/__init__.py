"""The ``monitor`` command line (SPEC section 1). Heavy modules are imported per command."""

from __future__ import annotations


def main() -> None:
    import gc

    # Start-up (imports, the config) makes long-lived objects only, and the collector would
    # walk them all again at every full collection while they pile up: off until
    # ``common.end_start_up`` freezes them (0.15-0.3 s of a warm ``monitor poll``).
    gc.disable()
    from monitor.cli.app import app

    app()
