"""Checks that span several parts of the config: ids, references, queries, cron, selectors.

They read the raw tree (not the validated model), so a config with a type error in one
place still gets its broken references reported too: ``monitor check`` lists every problem.
An unknown id suggests a close one (``unknown channel 'ops-mail'; did you mean
'ops-email'?``). A channel that no rule uses and that is not in ``alarm_channels`` is a
warning: it can never send anything, which is likely a slip but harms nothing. What needs
the parts the config names (its templates, this machine's Chromium) is checked by
``monitor.part_checks``, above those parts.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.config.channel_values import validate_webhook_secret
from monitor.config.model import Config
from monitor.config.problems import Problem


def _list(raw: dict[str, Any], key: str) -> list[Any]:
    value = raw.get(key)
    return value if isinstance(value, list) else []


def _ids(items: list[Any]) -> set[str]:
    return {i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("id"), str)}


def _zone(raw: dict[str, Any]) -> ZoneInfo:
    try:
        return ZoneInfo(str(raw.get("timezone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return ZoneInfo("UTC")


def cross_check(raw: dict[str, Any], config: Config | None) -> Iterator[Problem]:
    sources, rules, channels = _list(raw, "sources"), _list(raw, "rules"), _list(raw, "channels")
    for key, items in (("sources", sources), ("rules", rules), ("channels", channels)):
        for index, ident in duplicates(items, "id"):
            yield Problem((key, index, "id"), f"duplicate id {ident!r}")
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
                    yield Problem(("rules", index, key, j), _unknown(what, ref, known))
        if isinstance(rule.get("query"), str):
            yield from _check_query(index, rule["query"], concepts or {})
    alarm_channels = raw.get("alarm_channels")
    alarm_list = alarm_channels if isinstance(alarm_channels, list) else []
    for j, ref in enumerate(alarm_list):
        if isinstance(ref, str) and ref not in channel_ids:
            yield Problem(("alarm_channels", j), _unknown("channel", ref, channel_ids))
    yield from _unused_channels(rules, channels, alarm_list)
    zone = _zone(raw)
    for index, source in enumerate(sources):
        # most sources have neither: no generator for them (10,000 of them in a large file)
        if isinstance(source, dict) and ("cron" in source or "select" in source):
            yield from _check_source(index, source, zone)
    yield from _check_proxy_env(raw, sources, channels)
    for index, channel in enumerate(channels):
        if isinstance(channel, dict) and channel.get("type") == "webhook":
            secret = channel.get("secret")
            if isinstance(secret, str) and secret:
                problem = validate_webhook_secret(secret)
                if problem:
                    yield Problem(("channels", index, "secret"), problem)


def _check_proxy_env(
    raw: dict[str, Any], sources: list[Any], channels: list[Any]
) -> Iterator[Problem]:
    """``proxy: env`` with none of the variables set: likely run from another shell."""
    places: list[tuple[Any, ...]] = [("defaults",)]
    places += [("sources", i) for i in range(len(sources))]
    places += [("channels", i) for i in range(len(channels))]
    for place in places:
        item = raw.get(place[0]) if len(place) == 1 else raw[place[0]][place[1]]
        if not (isinstance(item, dict) and item.get("proxy") == "env"):
            continue
        import urllib.request  # only for proxy: env (http.client and email with it)

        found = urllib.request.getproxies_environment()
        if not any(found.get(scheme) for scheme in ("http", "https", "all")):
            yield Problem(
                (*place, "proxy"),
                "proxy: env, but none of HTTPS_PROXY, HTTP_PROXY, ALL_PROXY is set here: "
                "requests go directly",
                warning=True,
            )


def _check_query(index: int, query: str, concepts: dict[str, Any]) -> Iterator[Problem]:
    from monitor.errors import QuerySyntaxError
    from monitor.rules.query import parse

    clean = {k: v for k, v in concepts.items() if isinstance(v, list)}
    try:
        parse(query, clean)
    except QuerySyntaxError as exc:
        yield Problem(("rules", index, "query"), str(exc))


def _check_source(index: int, source: dict[str, Any], zone: ZoneInfo) -> Iterator[Problem]:
    from monitor.config.cron import Crontab

    if isinstance(source.get("cron"), str):
        try:
            Crontab.parse(source["cron"], zone)
        except ValueError as exc:
            yield Problem(("sources", index, "cron"), str(exc))
    select = source.get("select")
    if isinstance(select, dict):
        from monitor.parse.listing import validate_selector

        for key, selector in select.items():
            if isinstance(selector, str):
                problem = validate_selector(selector, item=key == "item")
                if problem:
                    yield Problem(("sources", index, "select", key), problem)


def _unknown(what: str, ref: str, known: set[str]) -> str:
    close = difflib.get_close_matches(ref, sorted(known), n=1)
    return f"unknown {what} {ref!r}" + (f"; did you mean {close[0]!r}?" if close else "")


def _unused_channels(
    rules: list[Any], channels: list[Any], alarm_channels: list[Any]
) -> Iterator[Problem]:
    used = {ref for ref in alarm_channels if isinstance(ref, str)}
    for rule in rules:
        refs = rule.get("channels") if isinstance(rule, dict) else None
        if not isinstance(refs, list):
            return  # that rule's error says enough; which channel it meant is unknown
        used.update(ref for ref in refs if isinstance(ref, str))
    for index, channel in enumerate(channels):
        ident = channel.get("id") if isinstance(channel, dict) else None
        if isinstance(ident, str) and ident not in used:
            yield Problem(
                ("channels", index),
                "no rule sends to this channel and it is not in alarm_channels: "
                "it will never send anything",
                warning=True,
            )


def duplicates(items: list[Any], key: str) -> Iterator[tuple[int, str]]:
    """Yield (index, id) for each repeat of an id already seen earlier in the list."""
    seen: Counter[str] = Counter()
    for index, item in enumerate(items):
        if isinstance(item, dict) and isinstance(item.get(key), str):
            if seen[item[key]]:
                yield index, item[key]
            seen[item[key]] += 1
