"""Ending what the daemon started, within its grace period."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("monitor.daemon")

CANCEL_ROUNDS, CANCEL_WAIT = 3, 0.5  # after the grace: SIGTERM to exit within 10 s (SPEC 1)


async def finish(tasks: Iterable[asyncio.Task[Any]], grace: float) -> None:
    """Wait ``grace`` seconds for ``tasks``, then cancel what is left, a few times: a task
    stuck on a database that stopped answering takes one cancellation to leave its query
    (which the driver spends trying to cancel it on the server) and another to leave a
    shielded clean-up (giving back a lease) that is stuck the same way."""
    pending = {task for task in tasks if not task.done()}
    if pending:
        _, pending = await asyncio.wait(pending, timeout=grace)
    for _ in range(CANCEL_ROUNDS):
        if not pending:
            return
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=CANCEL_WAIT)
    for task in pending:
        log.warning("abandoned at shutdown: %s", task.get_name(), extra={"action": "stop"})
