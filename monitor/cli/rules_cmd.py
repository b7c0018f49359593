"""``monitor rules test``: the rules over files, URLs or the stored archive. Sends nothing."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer

from monitor.cli.common import EXIT_FAILURE, EXIT_USAGE, fail, run_async
from monitor.cli.common import since as since_time
from monitor.config.model import Config
from monitor.errors import FetchError, ParseError


def rules_test_command(
    config: Config, targets: Sequence[str], *, rules: Sequence[str], since: str, as_json: bool
) -> None:
    from monitor.model import Document
    from monitor.rules.report import to_json_lines, write_text
    from monitor.runtime import compile_matcher

    if not targets:  # over the archive: the database's console rules are tested too
        config = run_async(_with_console_rules(config))
    known = [r.id for r in config.rules]
    for rule_id in rules:
        if rule_id not in known:
            fail(f"unknown rule {rule_id!r} (known: {', '.join(known) or 'none'})", EXIT_USAGE)
    wanted = set(rules or known)
    if not wanted:
        fail("the configuration has no rules to test", EXIT_USAGE)
    matcher = compile_matcher(config)
    problems = 0
    documents: list[tuple[str, Document]] = []
    if targets:
        for target in targets:
            try:
                documents.extend(_load(target))
            except (OSError, ParseError, FetchError) as exc:
                typer.echo(f"{target}: {exc}", err=True)
                problems += 1
    else:
        documents = run_async(_archive(config, since_time(since)))
    results: list[tuple[str, Document, Any]] = []
    for name, doc in documents:
        matches = [
            m for m in matcher.match(doc, ignore_scopes=bool(targets)) if m.rule_id in wanted
        ]
        results.append((name, doc, matches))
    if as_json:
        for line in to_json_lines(results):
            sys.stdout.write(line + "\n")
        sys.stdout.flush()
    else:
        write_text(results, [r for r in known if r in wanted], sys.stdout)
    if problems:
        raise typer.Exit(EXIT_FAILURE)


def _load(target: str) -> list[Any]:
    from monitor.parse.documents import documents_from_bytes, load_documents

    if target.startswith(("http://", "https://")):
        fetched = run_async(_fetch(target))
        return documents_from_bytes(fetched.body, fetched.headers, fetched.url)
    return load_documents(target)


async def _fetch(url: str) -> Any:
    from monitor.fetch import Fetcher
    from monitor.http_client import new_client

    async with new_client() as client:
        return await Fetcher(client).fetch(url, user_agent="monitor rules test")


async def _with_console_rules(config: Config) -> Config:
    from monitor.config.items import merge
    from monitor.store.items import list_items
    from monitor.store.session import open_store

    engine = await open_store(config.database)
    try:
        stored = await list_items(engine)
    finally:
        await engine.dispose()
    return merge(config, [(i.kind, i.body) for i in stored]).config


async def _archive(config: Config, start: Any) -> list[Any]:
    from monitor.store import queries
    from monitor.store.matching import document_of
    from monitor.store.session import open_store

    engine = await open_store(config.database)
    try:
        rows = await queries.list_releases(engine, since=start)
    finally:
        await engine.dispose()
    return [(f"release {r.id}", document_of(r)) for r in rows]
