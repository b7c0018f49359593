"""Console rules and sources come into force without a restart: a runtime reads them at
start, and ``refresh`` reloads when the generation moved (written by any instance); the
file keeps its own items and wins a clash. On both databases."""

from __future__ import annotations

from monitor.config.model import Config
from monitor.model import Document
from monitor.runtime import Runtime
from monitor.store.items import create_item, delete_item, update_item
from monitor.store.session import open_store
from monitor.store.sources import list_sources


def _config(database: str) -> Config:
    return Config.model_validate(
        {
            "database": database,
            "sources": [{"id": "mofa", "url": "http://127.0.0.1:9/rss"}],
            "rules": [{"id": "nato", "query": "NATO", "channels": ["console"]}],
            "channels": [{"id": "console", "type": "log"}],
        }
    )


async def test_console_items_are_loaded_and_refreshed(db_url: str) -> None:
    writer = await open_store(db_url)  # another instance's console
    await create_item(
        writer, "rule", {"id": "gulf", "query": "قطر", "channels": ["console"]}, actor="a"
    )
    runtime = await Runtime.start(_config(db_url))
    try:
        assert [r.id for r in runtime.config.rules] == ["nato", "gulf"]
        assert runtime.effective.origin("rule", "gulf") == "console"
        assert await runtime.refresh() is False  # nothing changed since the start
        key = runtime.pool.rules_key

        source = {"id": "new", "url": "http://127.0.0.1:9/new.rss"}
        await create_item(writer, "source", source, actor="a")
        rule = {"id": "gulf", "query": "قطر", "channels": ["console"], "sources": ["new"]}
        await update_item(writer, "rule", "gulf", rule, version=1, actor="a")
        await create_item(
            writer, "rule", {"id": "nato", "query": "OTAN", "channels": ["console"]}, actor="a"
        )
        assert await runtime.refresh() is True
        assert [s.id for s in runtime.config.sources] == ["mofa", "new"]
        assert runtime.config.rule("gulf").sources == ("new",)
        assert runtime.config.rule("nato").query == "NATO"  # the file wins the clash
        assert runtime.effective.shadowed["rule"] == {"nato"}
        assert runtime.pool.rules_key != key
        assert "new" in await list_sources(runtime.engine)  # scheduled from now on
        matched = runtime.compiled().match(Document("الدوحة: قطر ترحب", source="new"))
        assert [m.rule_id for m in matched] == ["gulf"]

        await delete_item(writer, "rule", "gulf", actor="a")
        assert await runtime.refresh() is True
        assert [r.id for r in runtime.config.rules] == ["nato"]
    finally:
        await runtime.close()
        await writer.dispose()
