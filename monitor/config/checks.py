"""Checks that span several parts of the config: ids, references, queries, cron, selectors.

They read the raw tree (not the validated model), so a config with a type error in one
place still gets its broken references reported too: ``monitor check`` lists every problem.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.config.load import duplicates
from monitor.config.model import Config


def _list(raw: dict[str, Any], key: str) -> list[Any]:
    value = raw.get(key)
    return value if isinstance(value, list) else []


def _ids(items: list[Any]) -> set[str]:
    return {i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("id"), str)}


def _zone(raw: dict[str, Any]) -> ZoneInfo:
    try:
        return ZoneInfo(str(raw.get("timezone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def cross_check(raw: dict[str, Any], config: Config | None) -> Iterator[str]:
    sources, rules, channels = _list(raw, "sources"), _list(raw, "rules"), _list(raw, "channels")
    for key, items in (("sources", sources), ("rules", rules), ("channels", channels)):
        for index, ident in duplicates(items, "id"):
            yield f"{key}[{index}].id: duplicate id {ident!r}"
    source_ids, channel_ids = _ids(sources), _ids(channels)
    concepts = raw.get("concepts") if isinstance(raw.get("concepts"), dict) else {}
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict):
            continue
        for key, known, what in (
            ("channels", channel_ids, "channel"),
            ("sources", source_ids, "source"),
        ):
            refs = rule.get(key)
            for j, ref in enumerate(refs if isinstance(refs, list) else []):
                if isinstance(ref, str) and ref not in known:
                    yield f"rules[{index}].{key}[{j}]: unknown {what} {ref!r}"
        if isinstance(rule.get("query"), str):
            yield from _check_query(index, rule["query"], concepts or {})
    alarm_channels = raw.get("alarm_channels")
    for j, ref in enumerate(alarm_channels if isinstance(alarm_channels, list) else []):
        if isinstance(ref, str) and ref not in channel_ids:
            yield f"alarm_channels[{j}]: unknown channel {ref!r}"
    if isinstance(raw.get("templates"), str):
        yield from _check_templates(raw["templates"])
    zone = _zone(raw)
    for index, source in enumerate(sources):
        if isinstance(source, dict):
            yield from _check_source(index, source, zone)
    for index, channel in enumerate(channels):
        if isinstance(channel, dict) and channel.get("type") == "webhook":
            secret = channel.get("secret")
            if isinstance(secret, str) and secret:
                from monitor.notify.webhook import validate_webhook_secret

                problem = validate_webhook_secret(secret)
                if problem:
                    yield f"channels[{index}].secret: {problem}"


def _check_query(index: int, query: str, concepts: dict[str, Any]) -> Iterator[str]:
    from monitor.errors import QuerySyntaxError
    from monitor.rules.query import parse

    clean = {k: v for k, v in concepts.items() if isinstance(v, list)}
    try:
        parse(query, clean)
    except QuerySyntaxError as exc:
        yield f"rules[{index}].query: {exc}"


def _check_source(index: int, source: dict[str, Any], zone: ZoneInfo) -> Iterator[str]:
    from monitor.config.cron import Crontab

    if isinstance(source.get("cron"), str):
        try:
            Crontab.parse(source["cron"], zone)
        except ValueError as exc:
            yield f"sources[{index}].cron: {exc}"
    select = source.get("select")
    if isinstance(select, dict):
        from monitor.parse.listing import validate_selector

        for key, selector in select.items():
            if isinstance(selector, str):
                problem = validate_selector(selector)
                if problem:
                    yield f"sources[{index}].select.{key}: {problem}"


def _check_templates(directory: str) -> Iterator[str]:
    from pathlib import Path

    from monitor.notify.render import Renderer

    path = Path(directory)
    if not path.is_dir():
        yield f"templates: {directory!r} is not a directory"
        return
    for problem in Renderer(path).check_templates():
        yield f"templates: {problem}"
