"""``monitor rules export`` and ``monitor sources export``: the console's rules or sources
(those kept in the database, ``origin: console``) printed as config YAML — a ``rules:`` or
``sources:`` block that ``monitor check`` accepts once pasted into the config file, so
that what analysts made in the browser can be provisioned from the file."""

from __future__ import annotations

from typing import Any

import typer

from monitor.cli.common import run_async
from monitor.config.model import Config
from monitor.store.items import Kind


def export_items(config: Config, kind: Kind) -> None:
    bodies = run_async(_bodies(config, kind))
    typer.echo(render(kind, bodies), nl=False)


def render(kind: Kind, bodies: list[dict[str, Any]]) -> str:
    import yaml

    key = "rules" if kind == "rule" else "sources"
    if not bodies:
        return f"# no console {key}\n{key}: []\n"
    return yaml.safe_dump({key: bodies}, allow_unicode=True, sort_keys=False, width=100)


async def _bodies(config: Config, kind: Kind) -> list[dict[str, Any]]:
    from monitor.store.items import list_items
    from monitor.store.session import open_store

    engine = await open_store(config.database)
    try:
        return [item.body for item in await list_items(engine, kind)]
    finally:
        await engine.dispose()
