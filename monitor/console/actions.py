"""The console's writes of part 1, shared by its pages and its API: each makes the change
and records it in the audit log with who, when, and before/after.

- ``retry``: a failed or dead alert is due now (``store.queries.retry_alert``, the CLI's
  own), then delivery is woken so it leaves within the second.
- ``send_test``: a test message through a configured channel, now, outside the outbox:
  it is no alert, and its result is shown at once.
"""

from __future__ import annotations

import logging
import uuid

from monitor.console.auth import Conflict, NotFound
from monitor.console.context import ConsoleContext
from monitor.errors import DeliveryError
from monitor.notify.payload import AlertView
from monitor.store import audit, queries
from monitor.store.people import Identity
from monitor.store.tables import now

log = logging.getLogger("monitor.console")


async def retry(ctx: ConsoleContext, alert_id: str, who: Identity, address: str) -> str:
    """Make the alert due now; returns its previous status."""
    previous = await queries.retry_alert(ctx.engine, alert_id)
    if previous is None:
        raise NotFound(f"no alert {alert_id!r}")
    if previous not in ("failed", "dead"):
        raise Conflict(f"the alert is {previous}; only failed or dead alerts can be retried")
    await audit.write(
        ctx.engine,
        actor=who.name,
        action="alert.retry",
        target=alert_id,
        before={"status": previous},
        after={"status": "failed", "due": "now"},
        address=address,
    )
    if ctx.wake_delivery is not None:
        await ctx.wake_delivery()
    return previous


def test_view(channel_id: str, who: Identity, link: str) -> AlertView:
    return AlertView(
        alert_id=f"test-{uuid.uuid4().hex}",
        rule_id="test",
        rule_name="Test message",
        release_id="test",
        source_id="monitor",
        source_name="monitor console",
        title=f"Test message for channel {channel_id}",
        url=link,
        published_at=now(),
        language="en",
        summary=(
            f"{who.name} sent this from the monitor console to check that channel "
            f"{channel_id} reaches you. No release matched; nothing needs doing."
        ),
        matches=(),
    )


async def send_test(
    ctx: ConsoleContext, channel_id: str, who: Identity, address: str
) -> str | None:
    """Send a test message through the channel; None when it went, else the error line."""
    channel = ctx.current_channels().get(channel_id)
    if channel is None:
        raise NotFound(f"no channel {channel_id!r}")
    link = ctx.settings.public_url or ""
    error: str | None = None
    try:
        await channel.send(test_view(channel_id, who, link))
    except DeliveryError as exc:
        error = str(exc)  # one line, never a secret (notify.base)
    except Exception:
        log.exception("test message crashed", extra={"channel": channel_id, "action": "test"})
        error = "internal error: see the daemon's log"
    await audit.write(
        ctx.engine,
        actor=who.name,
        action="channel.test",
        target=channel_id,
        after={"result": "sent" if error is None else "failed", "error": error},
        address=address,
    )
    return error
