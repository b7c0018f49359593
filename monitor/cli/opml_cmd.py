"""``sources export --opml`` and ``sources import FILE.opml --yaml``: OPML in and out.

The conversion is ``monitor.opml`` (pure); this module reads and writes the files.
``export --opml`` prints every source as OPML 2.0 on stdout (notes — a listing page left
out, credentials dropped from a URL — go to stderr). ``import FILE --yaml`` prints the
file's feeds as config YAML (a ``sources:`` block to paste into the config), with ids
that avoid the config's own and without the feeds it already polls. A file that is not
OPML is one error line naming where (``FILE: line L: …``), exit 2.

Adding the imported feeds as console sources (plain ``import`` without ``--yaml``) comes
with the console's database-backed sources; until then it says to use ``--yaml``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from monitor.cli.common import EXIT_USAGE, fail
from monitor.config.model import Config
from monitor.errors import ParseError

MAX_OPML_BYTES = 10_000_000  # a subscription list of tens of thousands of feeds fits


def export_command(config: Config, *, opml: bool) -> None:
    if not opml:
        fail("sources export: give --opml (OPML 2.0 of every source)", EXIT_USAGE)
    from monitor.opml import write_opml

    text, notes = write_opml(config.sources)
    for note in notes:
        typer.echo(f"monitor: note: {note}", err=True)
    typer.echo(text, nl=False)


def import_command(config: Config, path: Path, *, as_yaml: bool) -> None:
    if not as_yaml:
        fail(
            "sources import: adding console sources is not available in this build; "
            f"use --yaml to print config YAML for the feeds: monitor sources import {path} --yaml",
            EXIT_USAGE,
        )
    import yaml

    from monitor.opml import read_opml

    try:
        with path.open("rb") as file:
            data = file.read(MAX_OPML_BYTES + 1)
    except OSError as exc:
        fail(f"{path}: cannot read: {exc.strerror or exc}", EXIT_USAGE)
    if len(data) > MAX_OPML_BYTES:
        fail(f"{path}: larger than {MAX_OPML_BYTES // 1_000_000} MB: not an OPML file", EXIT_USAGE)
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
