"""``monitor demo`` (placeholder until the operations issue lands)."""

from __future__ import annotations

from monitor.cli.common import fail


def demo_command() -> None:
    fail("the demo is not built yet; see issue 'Daemon operations' (use `monitor poll` meanwhile)")
