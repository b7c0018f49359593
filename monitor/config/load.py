"""Load a config file: YAML → ``${VAR}`` substitution → pydantic → cross-checks.

Every problem becomes one line naming its place, list indices 0-based, e.g.
``rules[2].query: expected ')' at column 14`` or ``sources[1].intervall: unknown key``.
A YAML syntax error reads ``FILE: line L, column C: …``. All problems are collected
before ``ConfigError`` is raised, so ``monitor check`` lists every one of them.
"""

from __future__ import annotations

import difflib
import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from monitor.config.model import Config
from monitor.errors import ConfigError

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def path_of(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def substitute_env(node: Any, loc: tuple[int | str, ...], problems: list[str]) -> Any:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in every string of the tree."""
    if isinstance(node, dict):
        return {k: substitute_env(v, (*loc, k), problems) for k, v in node.items()}
    if isinstance(node, list):
        return [substitute_env(v, (*loc, i), problems) for i, v in enumerate(node)]
    if not isinstance(node, str) or "${" not in node:
        return node  # the common case: no closure, no regex

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = os.environ.get(name)
        if value is not None:
            return value
        if default is not None:
            return default
        problems.append(f"{path_of(loc)}: environment variable {name} is not set")
        return ""

    return _VAR.sub(replace, node)


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from None
    try:
        # libyaml's safe loader when PyYAML was built with it: 10x faster on a large config
        return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 (a safe loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        raise ConfigError([f"{path}: {where}: {exc.problem or exc}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: {exc}"]) from None


def _allowed_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """Walk the model along ``loc`` to list the keys allowed where an unknown one stood."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = _model_in(field.annotation)
    fields = getattr(current, "model_fields", {})
    return [f.alias or name for name, f in fields.items()]


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


_CHANNEL_TAGS = {"email", "webhook", "log"}


def _pydantic_problems(exc: ValidationError) -> Iterator[str]:
    for error in exc.errors():
        loc = tuple(error["loc"])
        # a discriminated union puts its tag into the location: channels[0].email.smtp
        if len(loc) >= 3 and loc[0] == "channels" and loc[2] in _CHANNEL_TAGS:
            loc = loc[:2] + loc[3:]
        place = path_of(loc) or "config"
        kind = error["type"]
        message = str(error["msg"]).removeprefix("Value error, ")
        if kind == "extra_forbidden":
            allowed = _allowed_keys(Config, loc)
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            message = f"unknown key{hint}"
        elif kind == "too_short":
            message = f"needs at least {error.get('ctx', {}).get('min_length', 1)} entry"
        elif kind == "missing":
            message = "missing required key"
        elif kind == "string_pattern_mismatch":
            message = (
                f"{error['input']!r} is not a valid id: use lower-case letters, digits and '-'"
            )
        elif kind == "union_tag_invalid":
            given = error["input"]
            given = given.get("type") if isinstance(given, dict) else given
            message = f"unknown channel type {given!r}: use email, webhook or log"
        elif kind == "union_tag_not_found":
            message = "missing required key 'type' (email, webhook or log)"
        yield f"{place}: {message}"


def load_config(path: Path | str, *, environ_database: bool = True) -> Config:
    """Load and validate ``path``; raise ``ConfigError`` with every problem found."""
    from monitor.config.checks import cross_check

    path = Path(path)
    raw = read_yaml(path)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError([f"{path}: the top level must be a mapping of keys to values"])
    problems: list[str] = []
    raw = substitute_env(raw, (), problems)
    if environ_database and os.environ.get("MONITOR_DATABASE_URL"):
        raw["database"] = os.environ["MONITOR_DATABASE_URL"]
    config: Config | None = None
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(exc))
    problems.extend(cross_check(raw, config))
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))
    assert config is not None
    return config


def duplicates(items: list[Any], key: str) -> Iterator[tuple[int, str]]:
    """Yield (index, id) for each repeat of an id already seen earlier in the list."""
    seen: Counter[str] = Counter()
    for index, item in enumerate(items):
        if isinstance(item, dict) and isinstance(item.get(key), str):
            if seen[item[key]]:
                yield index, item[key]
            seen[item[key]] += 1
