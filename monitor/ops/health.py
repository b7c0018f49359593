"""The daemon's view of its own database: an outage told once, ticks that back off, readiness.

Every tick of ``monitor run`` (poll, deliver, alarms, retention) uses the database. When it
goes away — PostgreSQL unreachable, SQLite on a full disk — each tick fails the same way
every second; logged each time with its traceback that was some 450 lines a second, all
saying one thing. ``DatabaseHealth`` makes it one episode:

- the first failure that is the database's (``is_database_error``; anything else is a bug
  and keeps its traceback) opens the episode with ONE error,
  ``database unreachable: <reason>`` (``unwritable`` when the database answers but cannot
  write: a full disk, a read-only file); the traceback only at debug level (``-v``);
- while it lasts, the ticks skip their work. A probe — a real write that touches no data
  (``probe``) — tries the database at a backoff, ``PROBE_FIRST`` doubling to ``PROBE_CAP``;
  the error is repeated at most once a minute (``REPORT_FIRST`` doubling to ``REPORT_CAP``);
- a successful probe lets the ticks work again; when they have for ``PROBATION`` seconds
  the episode ends with ONE line, ``database reachable again after 41 s``;
- ``problem()`` says what is wrong meanwhile, so ``/readyz`` answers 503 with the reason
  (a ``SELECT 1`` alone passes on a full disk, where every read works and no write does);
- an episode that lasts ``ALARM_AFTER`` is told to the alarm channels, and its end too
  (``notice_due``): the alarms of ``ops.alarms`` live in the database, which cannot take
  them now, so this notice is the instance's own and travels as an ``AlertView`` of kind
  ``database`` straight to the channels.

``overdue`` is what ``monitor sources`` shows of the same trouble from the outside.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store.session import writing
from monitor.store.tables import now

if TYPE_CHECKING:
    from monitor.notify.payload import AlertView

log = logging.getLogger("monitor.daemon")

PROBE_FIRST = 1.0  # seconds
PROBE_CAP = 10.0
PROBE_TIMEOUT = 5.0
PROBATION = 5.0  # seconds of working ticks after a successful probe that end an episode
REPORT_FIRST = 60.0
REPORT_CAP = 600.0
ALARM_AFTER = timedelta(minutes=5)
OVERDUE_AFTER = timedelta(minutes=5)
# SQLite messages of a database that is there but cannot be written
_UNWRITABLE = ("full", "readonly", "read-only", "disk i/o", "locked", "no space", "could not")


def is_database_error(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is unreachable or cannot write (not a bug of ours)."""
    import sqlite3

    if isinstance(exc, sa_exc.DBAPIError):
        return exc.connection_invalidated or isinstance(
            exc, sa_exc.OperationalError | sa_exc.InterfaceError
        )
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return True  # the pool could not get a connection
    return isinstance(exc, sqlite3.OperationalError | sqlite3.InterfaceError)


def describe(exc: BaseException) -> str:
    """The driver's own message, first line: never the statement or its parameters."""
    original = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig else exc
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    message = lines[0] if lines else type(original).__name__
    return message[:200]


def _kind(exc: BaseException, dialect: str) -> str:
    message = describe(exc).lower()
    if dialect == "sqlite" and "unable to open" not in message:
        return "unwritable"
    if any(mark in message for mark in ("read-only", "no space", "could not extend")):
        return "unwritable"
    return "unreachable"


def overdue(next_poll_at: datetime | None, moment: datetime) -> bool:
    """A source whose poll is ``OVERDUE_AFTER`` late: nothing is polling it (no daemon, or
    one whose database cannot be written). A poll in progress is never this late: its
    deadlines are seconds, and a due source is claimed within a tick."""
    return next_poll_at is not None and moment - next_poll_at > OVERDUE_AFTER


def seconds(value: float) -> str:
    """``41 s``, ``3m 05s``, ``2h 10m``: a duration people read in a log line."""
    whole = round(value)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


@dataclass
class Outage:
    """One episode: from the first failure until writes have worked for ``PROBATION``."""

    kind: str  # unreachable | unwritable
    reason: str
    started: float  # monotonic
    started_at: datetime
    failures: int = 1
    probe_at: float = 0.0
    probe_delay: float = PROBE_FIRST
    report_at: float = 0.0
    report_delay: float = REPORT_FIRST
    recovered: float | None = None  # monotonic: the probe succeeded, the ticks work again
    alarmed: bool = False  # the raised notice reached every alarm channel
    notice_at: float = 0.0  # when the raised notice may be tried (again)

    @property
    def summary(self) -> str:
        return f"database {self.kind}: {self.reason}"


class DatabaseHealth:
    """What the daemon's ticks tell about the database, and what they may do now.

    An episode is over once the ticks have worked for ``PROBATION`` seconds after a
    successful probe: a database that fails again within it (a disk with a little room,
    a flapping link) continues the episode and its backoff, rather than logging a
    recovery and a new outage every few seconds. ``clock`` is monotonic seconds (tests
    pass their own); ``owner`` names this instance in its alarm notices.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        owner: str = "",
        *,
        clock: Callable[[], float] = time.monotonic,
        alarm_after: timedelta = ALARM_AFTER,
    ) -> None:
        self.engine = engine
        self.owner = owner
        self.clock = clock
        self.alarm_after = alarm_after
        self.outage: Outage | None = None
        self._ended: Outage | None = None  # the episode just over, until its notice is due
        self._probing = asyncio.Lock()

    @property
    def down(self) -> bool:
        """Whether the ticks must leave the database alone now."""
        return self.outage is not None and self.outage.recovered is None

    def problem(self) -> str | None:
        """One line for ``/readyz`` while the database is down, else None."""
        outage = self.outage
        if outage is None or outage.recovered is not None:
            return None
        since = outage.started_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        lasted = seconds(self.clock() - outage.started)
        return f"{outage.summary} (since {since}, {lasted})"

    def failed(self, exc: BaseException) -> bool:
        """Count a tick's failure; False (nothing done) when it is not the database's."""
        if not is_database_error(exc):
            return False
        moment = self.clock()
        outage = self.outage
        if outage is None:
            outage = self.outage = Outage(
                _kind(exc, self.engine.dialect.name), describe(exc), moment, now()
            )
            outage.probe_at = moment + outage.probe_delay
            outage.report_at = moment + outage.report_delay
            # the traceback says nothing the reason does not, unless one is debugging
            debug = log.isEnabledFor(logging.DEBUG)
            log.error(outage.summary, exc_info=exc if debug else None, extra={"action": "database"})
            return True
        if outage.recovered is not None:  # within the probation: the same episode goes on
            outage.recovered = None
            outage.probe_delay = min(outage.probe_delay * 2, PROBE_CAP)
            outage.probe_at = moment + outage.probe_delay
        outage.failures += 1
        outage.reason = describe(exc)
        self._report(moment)
        return True

    async def usable(self) -> bool:
        """True when ticks may work: no episode, or the probe now due succeeded."""
        outage = self.outage
        if outage is None:
            return True
        if outage.recovered is not None:
            if self.clock() - outage.recovered >= PROBATION:
                self._close(outage)
            return True
        async with self._probing:
            if self.outage is not outage or outage.recovered is not None:
                return True
            moment = self.clock()
            if moment < outage.probe_at:
                return False
            try:
                await asyncio.wait_for(probe(self.engine), PROBE_TIMEOUT)
            except TimeoutError:
                self._probe_failed(outage, f"no answer within {PROBE_TIMEOUT:g} s")
                return False
            except Exception as exc:
                if not is_database_error(exc):
                    raise
                self._probe_failed(outage, describe(exc))
                return False
            outage.recovered = self.clock()
            return True

    def _close(self, outage: Outage) -> None:
        assert outage.recovered is not None
        self.outage, self._ended = None, outage
        log.warning(
            "database %s again after %s",
            "writable" if outage.kind == "unwritable" else "reachable",
            seconds(outage.recovered - outage.started),
            extra={"action": "database"},
        )

    def _probe_failed(self, outage: Outage, reason: str) -> None:
        moment = self.clock()
        outage.failures += 1
        outage.reason = reason
        outage.probe_delay = min(outage.probe_delay * 2, PROBE_CAP)
        outage.probe_at = moment + outage.probe_delay
        self._report(moment)

    def _report(self, moment: float) -> None:
        outage = self.outage
        if outage is None or moment < outage.report_at:
            return
        outage.report_delay = min(outage.report_delay * 2, REPORT_CAP)
        outage.report_at = moment + outage.report_delay
        log.error(
            "%s (for %s, %d failures)",
            outage.summary,
            seconds(moment - outage.started),
            outage.failures,
            extra={"action": "database"},
        )

    def notice_due(self) -> AlertView | None:
        """The alarm notice to send now, if any: raised once an episode has lasted
        ``alarm_after`` (tried again every ``REPORT_FIRST`` seconds until every alarm channel
        took it), cleared once when an episode whose notice went out is over."""
        moment = self.clock()
        outage = self.outage
        if outage is not None:
            lasted = moment - outage.started
            if outage.alarmed or outage.recovered is not None:
                return None
            if lasted < self.alarm_after.total_seconds() or moment < outage.notice_at:
                return None
            return outage_view(self.owner, outage, "raised", lasted)
        ended, self._ended = self._ended, None
        if ended is None or not ended.alarmed or ended.recovered is None:
            return None
        return outage_view(self.owner, ended, "cleared", ended.recovered - ended.started)

    def notice_tried(self, view: AlertView, delivered: bool) -> None:
        """The raised notice went to every alarm channel (never again), or try later."""
        outage = self.outage or self._ended  # it may have ended while the notice went out
        if outage is None or view.alarm is None or view.alarm.state != "raised":
            return
        if delivered:
            outage.alarmed = True
        else:
            outage.notice_at = self.clock() + REPORT_FIRST


def outage_view(owner: str, outage: Outage, state: str, lasted: float) -> AlertView:
    """The notice of one episode, as the channels render a source alarm."""
    # imported here: the reports that read ``overdue`` need not load the notifiers' shapes
    from monitor.notify.payload import AlarmNotice, AlertView

    stamp = outage.started_at.strftime("%Y%m%dT%H%M%S")
    host = owner.split(":", 1)[0] or "monitor"
    if state == "raised":
        title = f"monitor on {host}: {outage.summary} for {seconds(lasted)}; nothing is polled"
    else:
        title = f"monitor on {host}: the database works again after {seconds(lasted)}"
    return AlertView(
        alert_id=f"database-{owner}-{stamp}" + ("" if state == "raised" else "-cleared"),
        rule_id="alarm:database",
        rule_name="Database alarm" if state == "raised" else "Database recovered",
        release_id="",
        source_id="database",
        source_name=f"the database of monitor on {host}",
        title=title,
        url="",
        published_at=now(),
        language=None,
        summary=outage.summary,
        matches=(),
        alarm=AlarmNotice("database", "raised" if state == "raised" else "cleared"),
    )


async def probe(engine: AsyncEngine) -> None:
    """A write that changes no data: it fails where any write would (a full disk, a
    read-only database or server, no connection) and succeeds once writes work again."""
    async with writing(engine) as connection:
        if engine.dialect.name == "sqlite":
            # rewriting the header's user version puts a page in the WAL, as every write does
            version = (await connection.execute(text("PRAGMA user_version"))).scalar_one()
            await connection.execute(text(f"PRAGMA user_version = {int(version)}"))
        else:
            # a transaction id makes the commit write a WAL record
            await connection.execute(text("SELECT txid_current()"))
