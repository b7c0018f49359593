"""Opening the store: engine, schema check, and dialect-aware INSERT for ON CONFLICT."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store.db import create_engine
from monitor.store.migrate import ensure_schema


async def open_store(url: str, *, migrate: bool = True) -> AsyncEngine:
    """Create the engine and, unless told not to, bring the schema to the current version."""
    engine = create_engine(url)
    if migrate:
        try:
            await ensure_schema(engine, url)
        except BaseException:
            await engine.dispose()
            raise
    return engine


def insert(engine_or_dialect: Any, table: Any) -> Any:
    """``INSERT`` for the engine's dialect, which offers ``on_conflict_do_nothing/update``."""
    name = getattr(engine_or_dialect, "dialect", engine_or_dialect)
    name = getattr(name, "name", name)
    module = sqlite if name == "sqlite" else postgresql
    return module.insert(table)
