"""Console items (rules and sources kept in the database) checked and merged with the file.

The effective configuration is the file's items (``origin: file``) and the console's
(``origin: console``). A console item passes the same checks as the file's (the models,
the references to channels and sources, the query, cron and selectors); a problem is
an ``ItemProblem`` naming the field (``query``, ``select.item``) and, for a query, the
column — what the API answers with 422. Where an id is in both, the file wins and the
console item is *shadowed*: kept, shown, not in force. A stored item that no longer
passes (a channel removed from the file, say) is left out and reported, never fatal: one
bad row must not keep a daemon from starting.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from monitor.config.model import Config, Rule, Source
from monitor.config.problems import from_pydantic

Kind = Literal["rule", "source"]
Origin = Literal["file", "console"]
_LIST = {"rule": "rules", "source": "sources"}
_ORDER: tuple[Kind, ...] = ("source", "rule")  # a console rule may name a console source


@dataclass(frozen=True, slots=True)
class ItemProblem:
    field: str  # the key in the item, dotted (``select.item``); "" for the item as a whole
    message: str
    column: int | None = None  # 1-based, for a query

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc[2:])


def _model(kind: Kind, body: Any) -> tuple[Rule | Source | None, list[ItemProblem]]:
    if not isinstance(body, dict):
        return None, [ItemProblem("", f"a {kind} is a mapping of keys to values")]
    raw = {_LIST[kind]: [body]}
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        return None, [
            ItemProblem(_field(p.loc), p.message) for p in from_pydantic(exc, Config, raw)
        ]
    return (config.rules[0] if kind == "rule" else config.sources[0]), []


def check_rule(body: Any, config: Config) -> list[ItemProblem]:
    """What is wrong with rule ``body`` beside ``config``'s channels, sources and concepts."""
    from monitor.config.checks import _unknown
    from monitor.errors import QuerySyntaxError
    from monitor.rules.query import parse

    rule, problems = _model("rule", body)
    if isinstance(body, dict) and isinstance(body.get("query"), str):
        try:
            parse(body["query"], {k: list(v) for k, v in config.concepts.items()})
        except QuerySyntaxError as exc:
            problems.append(ItemProblem("query", str(exc), exc.column))
    if not isinstance(rule, Rule):
        return problems
    channels = {c.id for c in config.channels}
    sources = {s.id for s in config.sources}
    for key, refs, known, what in (
        ("channels", rule.channels, channels, "channel"),
        ("sources", rule.sources, sources, "source"),
    ):
        for index, ref in enumerate(refs):
            if ref not in known:
                problems.append(ItemProblem(f"{key}.{index}", _unknown(what, ref, known)))
    return problems


def check_source(body: Any, config: Config) -> list[ItemProblem]:
    """What is wrong with source ``body``: the model, its cron and its selectors."""
    from monitor.config.checks import _check_source

    source, problems = _model("source", body)
    if isinstance(body, dict):
        problems += [
            ItemProblem(_field(p.loc), p.message)
            for p in _check_source(0, body, config.zone)
            if not p.warning
        ]
    return problems if problems or source is not None else [ItemProblem("", "invalid source")]


def check_item(kind: Kind, body: Any, config: Config) -> list[ItemProblem]:
    return check_rule(body, config) if kind == "rule" else check_source(body, config)


@dataclass(frozen=True)
class Effective:
    """The configuration in force, and where each rule and source comes from."""

    config: Config  # the file's items and the console's in force
    file: Config  # the file alone
    console: dict[Kind, frozenset[str]] = field(default_factory=dict)  # in force
    shadowed: dict[Kind, frozenset[str]] = field(default_factory=dict)  # the file has the id
    invalid: dict[Kind, dict[str, str]] = field(default_factory=dict)  # left out, and why

    def origin(self, kind: Kind, ident: str) -> Origin | None:
        items = self.file.rules if kind == "rule" else self.file.sources
        if any(item.id == ident for item in items):
            return "file"
        return "console" if ident in self.console.get(kind, frozenset()) else None

    def notices(self) -> list[str]:
        """One line for each console item not in force, for logs and the console."""
        lines = [
            f"console {kind} {ident!r} is not in force: the config file has one with "
            "that id (the file wins)"
            for kind in _ORDER
            for ident in sorted(self.shadowed.get(kind, ()))
        ]
        lines += [
            f"console {kind} {ident!r} is not in force: {message}"
            for kind in _ORDER
            for ident, message in sorted(self.invalid.get(kind, {}).items())
        ]
        return lines


def merge(file: Config, items: Iterable[tuple[Kind, dict[str, Any]]]) -> Effective:
    """The effective configuration: ``file`` and the console ``items`` (kind, body) that
    pass the checks; sources first, as a console rule may name a console source."""
    by_kind: dict[Kind, list[dict[str, Any]]] = {"source": [], "rule": []}
    for kind, body in items:
        by_kind[kind].append(body)
    config = file
    console: dict[Kind, frozenset[str]] = {}
    shadowed: dict[Kind, frozenset[str]] = {}
    invalid: dict[Kind, dict[str, str]] = {}
    for kind in _ORDER:
        taken = {i.id for i in (file.sources if kind == "source" else file.rules)}
        added: list[Any] = []
        shadow: set[str] = set()
        bad: dict[str, str] = {}
        for body in by_kind[kind]:
            ident = str(body.get("id"))
            if ident in taken:
                shadow.add(ident)
                continue
            problems = check_item(kind, body, config)
            if problems:
                bad[ident] = "; ".join(str(p) for p in problems)
                continue
            model, _ = _model(kind, body)
            added.append(model)
            taken.add(ident)
        key = _LIST[kind]
        config = config.model_copy(update={key: (*getattr(config, key), *added)})
        console[kind] = frozenset(i.id for i in added)
        shadowed[kind] = frozenset(shadow)
        invalid[kind] = bad
    return Effective(config, file, console, shadowed, invalid)
