"""``monitor sources discover URL``: the feeds a site offers, else selectors for its page.

The work is ``monitor.discover`` (shared with the console's source preview); this module
prints it. Exit 0 when a feed or a selector suggestion was found, 1 when the URL cannot be
fetched or nothing was found (one line on stderr saying so), 2 for a URL that is not
http(s). ``--json`` prints one object: ``{"url", "feeds": [{"url", "title", "kind",
"count", "advertised", "items"}], "suggestions": [{"select", "count", "items",
"warnings"}], "warnings"}``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from zoneinfo import ZoneInfo

import typer

from monitor.cli.common import EXIT_FAILURE, EXIT_USAGE, emit_json, fail, run_async
from monitor.config.model import Config
from monitor.discover.probe import Discovery, Item, Reach

SHOWN_ITEMS = 5  # per feed or suggestion in the text output; --json has up to 50


def discover_command(config: Config, url: str, *, as_json: bool) -> None:
    try:
        reach = Reach.of(config, url)
    except ValueError:
        fail(f"sources discover: {url!r} is not an http:// or https:// URL", EXIT_USAGE)
    found = run_async(_discover(url, reach))
    if as_json:
        emit_json([asdict(found)])
    else:
        _print(found, reach.zone)
    if not found.feeds and not found.suggestions:
        reason = found.warnings[-1] if found.warnings else "nothing found"
        fail(f"sources discover: {found.url}: no feed and no listing found: {reason}")


async def _discover(url: str, reach: Reach) -> Discovery:
    from monitor.discover.probe import discover
    from monitor.errors import FetchError
    from monitor.fetch import Fetcher
    from monitor.http_client import Clients

    clients = Clients()
    try:
        return await discover(Fetcher(clients), url, reach)
    except FetchError as exc:
        fail(f"sources discover: {url}: {exc}", EXIT_FAILURE)
    finally:
        await clients.aclose()


def _print(found: Discovery, zone: ZoneInfo) -> None:
    nothing = not found.feeds and not found.suggestions
    for warning in found.warnings[:-1] if nothing else found.warnings:  # the last: the error
        typer.echo(f"monitor: note: {warning}", err=True)
    if found.feeds:
        count = len(found.feeds)
        typer.echo(f"{found.url}: {count} feed{'s' if count != 1 else ''}")
        for feed in found.feeds:
            how = "advertised" if feed.advertised else "usual path"
            typer.echo(f"  {feed.url}  ({feed.kind}, {_items(feed.count)}, {how})")
            if feed.title:
                typer.echo(f"    title: {feed.title}")
            _print_items(feed.items, zone)
        return
    if not found.suggestions:
        return
    typer.echo(f"{found.url}: no feed; suggested selectors for type: html, best first")
    for rank, suggestion in enumerate(found.suggestions, 1):
        typer.echo(f"  {rank}. {_items(suggestion.count)}")
        typer.echo(f"    select: {_flow(suggestion.select)}")
        for warning in suggestion.warnings:
            typer.echo(f"    warning: {warning}")
        _print_items(suggestion.items, zone)


def _print_items(items: tuple[Item, ...], zone: ZoneInfo) -> None:
    for item in items[:SHOWN_ITEMS]:
        # the day in the config's zone, as every table shows times
        when = (
            item.published_at.astimezone(zone).date().isoformat()
            if item.published_at
            else "undated"
        )
        typer.echo(f"    - {when}  {item.title[:100]}  {item.url}")


def _items(count: int) -> str:
    return f"{count} item{'s' if count != 1 else ''}"


def _flow(select: dict[str, Any]) -> str:
    """The selectors as a YAML flow mapping, ready to paste under a source."""
    import json

    return (
        "{"
        + ", ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in select.items())
        + "}"
    )
