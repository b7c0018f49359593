"""``monitor sources`` prints plain rows (``reports.SourceRow``), not ``SourceHealth``
models: the same table and the same JSON lines as the models gave, on both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import bindparam, update

from monitor.cli.reports import SourceRow, _redacted, _source_json
from monitor.config.load import load_config
from monitor.ops.health import overdue
from monitor.store.reads import source_health
from monitor.store.shapes import SourceHealth
from monitor.store.sources import sync_sources
from monitor.store.tables import SOURCES
from tests.conftest import Engines

MOMENT = datetime(2026, 12, 7, 20, 0, 0, 123456, tzinfo=UTC)


def _model_json(source: SourceHealth, moment: datetime) -> dict[str, object]:
    """What the command wrote from the model before: ``model_dump`` with ``overdue``
    after ``next_poll_at``."""
    shown = source.model_dump(mode="json", exclude={"language", "origin"})
    items = list(shown.items())
    at = list(shown).index("next_poll_at") + 1
    items.insert(at, ("overdue", overdue(source.next_poll_at, moment)))
    return dict(items)


def test_the_row_has_the_models_fields_in_their_order() -> None:
    assert SourceRow._fields == tuple(f for f in SourceHealth.model_fields if f != "origin")


async def test_rows_print_what_the_models_printed(
    db_url: str, tmp_path: Path, engines: Engines
) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f"database: {db_url}\n"
        "sources:\n"
        "  - id: plain\n    url: http://127.0.0.1:9/a.xml\n"
        "  - id: named\n    name: Ministry «Nord»\n    url: http://bot:pw@127.0.0.1:9/b.xml\n"
        "    language: fr\n"
        "  - id: page\n    url: http://127.0.0.1:9/c.html\n    select: {item: li, title: a, link: a}\n"
        "  - id: unpolled\n    url: http://127.0.0.1:9/d.xml\n"
        "rules:\n  - id: nato\n    query: NATO\n    channels: [log]\n"
        "channels:\n  - id: log\n    type: log\n",
        encoding="utf-8",
    )
    config = load_config(path, environ_database=False)
    engine = await engines.open(db_url)
    await sync_sources(engine, config)
    statement = update(SOURCES).where(SOURCES.c.id == bindparam("b_id"))
    async with engine.begin() as connection:
        for values in (
            {
                "b_id": "plain",
                "status": "ok",
                "last_poll_at": MOMENT,
                "last_success_at": MOMENT - timedelta(minutes=5),
                "next_poll_at": MOMENT + timedelta(minutes=5),
                "last_warning": "feed lists no dates",
                "items_seen": 12,
                "items_skipped": 1,
                "release_count": 7,
            },
            {
                "b_id": "named",
                "status": "failing",
                "last_poll_at": MOMENT,
                "last_success_at": None,
                "next_poll_at": MOMENT - timedelta(days=1),  # overdue
                "last_error": "HTTP 503 from http://bot:pw@127.0.0.1:9/b.xml",
                "consecutive_failures": 3,
                "moved_to": "https://bot:pw@127.0.0.1:9/moved.xml",
                "items_seen": 0,
                "items_skipped": 0,
                "release_count": 0,
            },
        ):
            await connection.execute(statement, values)
    models = await source_health(engine, config, shown=_redacted)
    rows = await source_health(engine, config, shown=_redacted, shape=SourceRow)
    assert [SourceRow(**m.model_dump(exclude={"origin"})) for m in models] == rows
    assert len(rows) == 4 and rows[1].last_error == "HTTP 503 from http://***@127.0.0.1:9/b.xml"
    for model, row in zip(models, rows, strict=True):
        for moment in (MOMENT, MOMENT + timedelta(days=2)):
            want, got = _model_json(model, moment), _source_json(row, moment)
            assert list(got.items()) == list(want.items())
            assert json.dumps(got, ensure_ascii=False) == json.dumps(want, ensure_ascii=False)
