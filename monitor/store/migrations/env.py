"""Alembic environment: always handed a connection by ``monitor.store.migrate``."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

# both register their tables on the metadata
import monitor.store.items
import monitor.store.tables  # noqa: F401

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through 'monitor db upgrade'")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
