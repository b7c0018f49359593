"""``ops.health``: a database outage is one episode — one error, a backoff, one recovery line.

The failures are real: a PostgreSQL engine pointed at a closed port, and SQLite on a full
disk (a small tmpfs filled by a ballast file: ``tests.support.volume``). The clock is the
test's, so backoffs are checked without waiting for them.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.ops import health as health_module
from monitor.ops.health import DatabaseHealth, describe, is_database_error, probe
from monitor.ops.http import readiness
from monitor.store.db import create_engine
from monitor.store.session import open_store
from tests.conftest import Engines
from tests.support.volume import Volume, mounted_volume

UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def volume(tmp_path: Path) -> Iterator[Volume]:
    # room for the schema and its write-ahead log, so the ballast decides when it is full
    with mounted_volume(tmp_path / "vol", "4m") as mounted:
        yield mounted


@pytest.fixture
async def sqlite_store(volume: Volume) -> AsyncIterator[AsyncEngine]:
    engine = await open_store(f"sqlite:///{volume.path / 'monitor.db'}")
    try:
        yield engine
    finally:
        volume.free()
        await engine.dispose()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.INFO, logger="monitor")
    # straight to caplog's handler: once set up (setup_logging), "monitor" does not propagate
    logger = logging.getLogger("monitor")
    propagate, logger.propagate = logger.propagate, False
    logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        logger.removeHandler(caplog.handler)
        logger.propagate = propagate


async def _fill(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE IF NOT EXISTS ballast (b BLOB)"))
        await connection.execute(text("INSERT INTO ballast VALUES (zeroblob(100000))"))


async def _unreachable_error() -> BaseException:
    engine = create_engine(UNREACHABLE)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        return exc
    finally:
        await engine.dispose()
    raise AssertionError("a closed port answered")


async def test_probe_fails_on_a_full_disk_and_works_once_space_is_freed(
    sqlite_store: AsyncEngine, volume: Volume
) -> None:
    await probe(sqlite_store)
    volume.fill()
    with pytest.raises(sa.exc.OperationalError) as raised:
        await probe(sqlite_store)
    assert is_database_error(raised.value)
    assert describe(raised.value) == "database or disk is full"
    async with sqlite_store.connect() as connection:  # reads still work: SELECT 1 passes
        assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
    volume.free()
    await probe(sqlite_store)


async def test_what_counts_as_the_database(sqlite_store: AsyncEngine) -> None:
    assert is_database_error(await _unreachable_error())
    assert is_database_error(sqlite3.OperationalError("database is locked"))
    assert not is_database_error(ValueError("a bug"))
    with pytest.raises(sa.exc.IntegrityError) as raised:  # content, not an outage
        async with sqlite_store.begin() as connection:
            await connection.execute(text("CREATE TABLE u (x INTEGER UNIQUE)"))
            await connection.execute(text("INSERT INTO u VALUES (1), (1)"))
    assert not is_database_error(raised.value)


async def test_an_outage_is_one_error_a_backoff_and_one_recovery_line(
    sqlite_store: AsyncEngine, volume: Volume, logs: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    health = DatabaseHealth(sqlite_store, "host:1:abc", clock=clock)
    ready = readiness(sqlite_store, lambda: True, health.problem)
    assert await ready() == (True, "ready")
    volume.fill()
    with pytest.raises(sa.exc.OperationalError) as full:
        await _fill(sqlite_store)
    for _ in range(50):  # the ticks of 50 seconds, each failing
        assert health.failed(full.value)
    assert not health.failed(ValueError("a bug is not an outage"))
    errors = [r for r in logs.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == ["database unwritable: database or disk is full"]
    assert errors[0].exc_info is None  # the traceback only with -v
    ok, reason = await ready()
    assert not ok and reason.startswith("database unwritable: database or disk is full (since ")

    # probes back off: 1 s, then 2, 4, 8, 10, 10 ... between them the ticks do nothing
    probes = []
    for _ in range(200):
        clock.now += 0.5
        if await health.usable():
            raise AssertionError("usable on a full disk")
        probes.append(health.outage.probe_delay if health.outage else None)
    delays = sorted(set(probes), key=probes.index)
    assert delays == [1.0, 2.0, 4.0, 8.0, 10.0]
    repeats = [r.getMessage() for r in logs.records if r.levelno >= logging.ERROR][1:]
    # 100 s down: repeated after 60 s only (then not before 120 s more)
    assert len(repeats) == 1 and repeats[0].startswith("database unwritable: database or disk")

    volume.free()
    clock.now += 10
    assert await health.usable()  # the probe succeeded: the ticks work again
    assert await ready() == (True, "ready")
    assert not [r for r in logs.records if "again" in r.getMessage()]  # not yet: on probation
    clock.now += health_module.PROBATION
    assert await health.usable()
    (back,) = [r.getMessage() for r in logs.records if "again" in r.getMessage()]
    assert back == "database writable again after 1m 50s"
    assert health.outage is None


async def test_a_failure_on_probation_continues_the_episode(
    sqlite_store: AsyncEngine, logs: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    health = DatabaseHealth(sqlite_store, clock=clock)
    error = sqlite3.OperationalError("database or disk is full")
    health.failed(error)
    clock.now += 1
    assert await health.usable()  # the disk had a page free for the probe
    health.failed(error)  # ...but not for the next poll
    assert health.down and not await health.usable()
    clock.now += 2
    assert await health.usable()
    clock.now += health_module.PROBATION
    assert await health.usable()
    messages = [r.getMessage() for r in logs.records]
    assert messages == [
        "database unwritable: database or disk is full",
        "database writable again after 3 s",
    ]


async def test_an_unreachable_server_is_said_so(
    logs: pytest.LogCaptureFixture, engines: Engines
) -> None:
    engine = engines.adopt(create_engine(UNREACHABLE))
    clock = Clock()
    health = DatabaseHealth(engine, clock=clock)
    assert health.failed(await _unreachable_error())
    clock.now += 1
    assert not await health.usable()  # the probe, against the same closed port
    (line,) = [r.getMessage() for r in logs.records]
    assert line.startswith("database unreachable: connection")
    assert (health.problem() or "").startswith("database unreachable: connection")


async def test_a_long_outage_raises_one_alarm_notice_and_its_recovery(
    sqlite_store: AsyncEngine,
) -> None:
    clock = Clock()
    health = DatabaseHealth(
        sqlite_store, "db1.example:42:abcdef", clock=clock, alarm_after=timedelta(minutes=5)
    )
    health.failed(sqlite3.OperationalError("database or disk is full"))
    clock.now += 299
    assert health.notice_due() is None
    clock.now += 1
    raised = health.notice_due()
    assert raised is not None and raised.alarm is not None
    assert (raised.alarm.kind, raised.alarm.state) == ("database", "raised")
    assert raised.title == (
        "monitor on db1.example: database unwritable: database or disk is full for 5m 00s; "
        "nothing is polled"
    )
    health.notice_tried(raised, delivered=False)  # the channel refused: tried a minute later
    assert health.notice_due() is None
    clock.now += health_module.REPORT_FIRST
    again = health.notice_due()
    assert again is not None and again.alert_id == raised.alert_id  # the same id
    health.notice_tried(again, delivered=True)
    clock.now += 600
    assert health.notice_due() is None  # once per episode
    clock.now = health.outage.probe_at if health.outage else clock.now
    assert await health.usable()
    clock.now += health_module.PROBATION
    assert await health.usable()
    cleared = health.notice_due()
    assert cleared is not None and cleared.alarm is not None
    assert cleared.alarm.state == "cleared"
    assert cleared.alert_id == raised.alert_id + "-cleared"
    assert health.notice_due() is None
