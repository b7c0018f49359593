"""A pooled PostgreSQL connection the server ended while it lay idle (``pg_terminate_backend``,
a restart) is never handed out: the checkout's ping fails and the pool opens another."""

from __future__ import annotations

import psycopg
import sqlalchemy as sa

from tests.conftest import PG_ADMIN_URL, Engines


async def test_a_connection_terminated_while_idle_is_replaced(
    pg_url: str, engines: Engines
) -> None:
    engine = await engines.open(pg_url)
    async with engine.connect() as connection:
        pid = (await connection.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        # the backend is gone once pg_stat_activity no longer lists it
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
            admin.execute("SELECT pg_sleep(0.01)")
    async with engine.connect() as connection:
        again = (await connection.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
    assert again != pid
