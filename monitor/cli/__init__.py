"""The ``monitor`` command line (SPEC section 1). Heavy modules are imported per command."""

from __future__ import annotations


def main() -> None:
    from monitor.cli.app import app
    from monitor.ops.memory import tune

    tune()
    app()
