"""``monitor rules export`` / ``sources export``: the console's items as config YAML that
``monitor check`` accepts once pasted into the file (driven as an operator would)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import yaml

from monitor.store.items import create_item
from monitor.store.session import open_store
from tests.e2e.test_cli import monitor, write_config

CONFIG = """
    database: "{db}"
    sources:
      - id: mofa
        url: https://www.mofa.gov.qa/ar/rss
    rules:
      - id: nato
        query: NATO
        channels: [console]
    channels:
      - id: console
        type: log
"""


async def _store(db: str) -> None:
    engine = await open_store(db)
    try:
        source = {
            "id": "mofa-en",
            "url": "https://www.mofa.gov.qa/en/news",
            "type": "html",
            "select": {"item": "div.news", "title": "h3", "link": "a@href"},
        }
        await create_item(engine, "source", source, actor="eve")
        rule = {
            "id": "gulf",
            "name": "الخليج",
            "query": '"مجلس التعاون" OR GCC',
            "sources": ["mofa-en"],
            "channels": ["console"],
        }
        await create_item(engine, "rule", rule, actor="eve")
    finally:
        await engine.dispose()


def test_exported_items_pass_check_in_the_file(tmp_path: Path, sqlite_url: str) -> None:
    config = write_config(tmp_path, CONFIG.format(db=sqlite_url))
    empty = monitor("rules", "export", config=config)
    assert empty.returncode == 0, empty.stderr
    assert yaml.safe_load(empty.stdout) == {"rules": []}
    asyncio.run(_store(sqlite_url))

    rules = monitor("rules", "export", config=config)
    sources = monitor("sources", "export", config=config)
    assert rules.returncode == 0 and sources.returncode == 0, (rules.stderr, sources.stderr)
    assert "الخليج" in rules.stdout  # written as it reads, not escaped
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    raw["rules"] += yaml.safe_load(rules.stdout)["rules"]
    raw["sources"] += yaml.safe_load(sources.stdout)["sources"]
    merged = tmp_path / "merged.yaml"
    merged.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    checked = monitor("check", config=merged)
    assert checked.returncode == 0, (rules.stdout, sources.stdout, checked.stderr)
    assert "ok (2 sources, 2 rules" in checked.stdout

    tested = monitor("rules", "test", "--rule", "gulf", "--json", config=config)
    assert tested.returncode == 0, tested.stderr  # a console rule, known to rules test

    health = monitor("sources", "--json", config=config)  # the console's source is there
    assert health.returncode == 0, health.stderr
    assert [json.loads(line)["id"] for line in health.stdout.splitlines()] == ["mofa", "mofa-en"]
