"""``sources export --opml`` and ``sources import FILE.opml [--yaml]``: OPML in and out.

The conversion is ``monitor.opml`` (pure); this module reads and writes the files.
``export --opml`` prints every source in force — the file's and the console's — as OPML
2.0 on stdout (notes — a listing page left out, credentials dropped from a URL — go to
stderr). ``import FILE`` adds the file's feeds
as console sources (``origin: console``, in the database, polled by every instance within
10 s, each creation in the audit log as ``cli:USER``); ``import FILE --yaml`` prints them
as config YAML instead (a ``sources:`` block to paste into the config). Either way the ids
avoid the config's and the console's own, and feeds already polled are left out. A file
that is not OPML is one error line naming where (``FILE: line L: …``), exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from monitor.cli.common import EXIT_USAGE, fail
from monitor.config.model import Config, Source
from monitor.errors import ParseError

MAX_OPML_BYTES = 10_000_000  # a subscription list of tens of thousands of feeds fits


def export_command(config: Config, *, opml: bool) -> None:
    if not opml:
        fail("sources export: give --opml (OPML 2.0 of every source)", EXIT_USAGE)
    from monitor.opml import write_opml

    text, notes = write_opml(_with_console_sources(config))
    for note in notes:
        typer.echo(f"monitor: note: {note}", err=True)
    typer.echo(text, nl=False)


def _with_console_sources(config: Config) -> tuple[Source, ...]:
    """The sources in force: the file's and the console's (those the file does not shadow
    and that still pass the checks), so that what was imported can be exported again. A
    SQLite database not made yet holds none, and is not made by an export."""
    from sqlalchemy.engine import make_url

    from monitor.cli.common import run_async
    from monitor.config.items import merge

    url = make_url(config.database)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return config.sources

    async def bodies() -> list[dict[str, Any]]:
        from monitor.store.items import list_items
        from monitor.store.session import open_store

        engine = await open_store(config.database)
        try:
            return [item.body for item in await list_items(engine, "source")]
        finally:
            await engine.dispose()

    return merge(config, [("source", body) for body in run_async(bodies())]).config.sources


def import_command(config: Config, path: Path, *, as_yaml: bool) -> None:
    data = _read(path)
    if not as_yaml:
        _add_console_sources(config, path, data)
        return
    import yaml

    from monitor.opml import read_opml

    try:
        imported = read_opml(
            data,
            str(path),
            taken={s.id for s in config.sources},
            known_urls=[s.url for s in config.sources],
        )
    except ParseError as exc:
        fail(str(exc), EXIT_USAGE)
    for note in imported.notes:
        typer.echo(f"monitor: note: {note}", err=True)
    count = len(imported.sources)
    typer.echo(
        f"# {count} feed{'s' if count != 1 else ''} from {path.name}: add to the config's sources"
    )
    text = yaml.safe_dump(
        {"sources": imported.sources}, allow_unicode=True, sort_keys=False, width=100
    )
    typer.echo(text, nl=False)


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as file:
            data = file.read(MAX_OPML_BYTES + 1)
    except OSError as exc:
        fail(f"{path}: cannot read: {exc.strerror or exc}", EXIT_USAGE)
    if len(data) > MAX_OPML_BYTES:
        fail(f"{path}: larger than {MAX_OPML_BYTES // 1_000_000} MB: not an OPML file", EXIT_USAGE)
    return data


def _add_console_sources(config: Config, path: Path, data: bytes) -> None:
    """Each feed of the file as a console source, checked as the API checks one; a feed
    that does not pass, or whose id was taken meanwhile, is a note and the others go on."""
    from monitor.cli.common import actor, run_async
    from monitor.config.items import check_source
    from monitor.opml import read_opml
    from monitor.store import items
    from monitor.store.session import open_store

    async def run() -> tuple[list[str], list[str]]:
        engine = await open_store(config.database)
        try:
            stored = await items.list_items(engine, "source")
            urls = [s.url for s in config.sources] + [str(i.body.get("url")) for i in stored]
            taken = {s.id for s in config.sources} | {i.id for i in stored}
            imported = read_opml(data, str(path), taken=taken, known_urls=urls)
            added: list[str] = []
            notes = list(imported.notes)
            for body in imported.sources:
                problems = check_source(body, config)
                if problems:
                    notes.append(f"{body['id']}: {problems[0]}; skipped")
                    continue
                try:
                    await items.create_item(engine, "source", body, actor=actor())
                except items.ItemConflict as exc:
                    notes.append(f"{exc.message}; skipped")
                    continue
                added.append(str(body["id"]))
            return added, notes
        finally:
            await engine.dispose()

    try:
        added, notes = run_async(run())
    except ParseError as exc:
        fail(str(exc), EXIT_USAGE)
    for note in notes:
        typer.echo(f"monitor: note: {note}", err=True)
    count = len(added)
    typer.echo(
        f"{count} console source{'s' if count != 1 else ''} added from {path.name}"
        + (f": {', '.join(added)}" if added else "")
    )
