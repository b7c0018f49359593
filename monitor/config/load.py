"""Load a config file: YAML (with lines, bounded) → ``${VAR}`` → pydantic → cross-checks.

Every problem becomes one line naming its place: the file and line, the path with list
indices 0-based and the item's id, in an operator's words (``problems``), e.g.
``monitor.yaml:23: rules[2] (nato).query: unbalanced parenthesis: expected ')' at column 14``
or ``monitor.yaml:7: sources[1] (mofa).intervall: unknown key; did you mean 'interval'?``.
A YAML syntax error reads ``FILE: line L, column C: …``. All problems are collected before
``ConfigError`` is raised, so ``monitor check`` lists every one of them; warnings (a
channel nothing uses) come after the errors, and alone they do not make a config invalid.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from monitor.config.checks import cross_check
from monitor.config.model import Config
from monitor.config.problems import Problem, describe, from_pydantic
from monitor.config.yamlfile import Loc, read_yaml
from monitor.errors import ConfigError

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True, slots=True)
class Loaded:
    config: Config
    warnings: list[str]  # one line each, as the problems are written


# checks of what a config names outside itself, made with the parts that own it (its
# templates, this machine's Chromium): ``monitor.part_checks.check_parts``, which the
# commands pass; the config is below those parts and does not import them
PartChecks = Callable[[dict[str, Any]], Iterable[Problem]]


def load_config(
    path: Path | str, *, environ_database: bool = True, parts: PartChecks | None = None
) -> Config:
    """Load and validate ``path``; raise ``ConfigError`` with every problem found."""
    return read_config(path, environ_database=environ_database, parts=parts).config


def read_config(
    path: Path | str, *, environ_database: bool = True, parts: PartChecks | None = None
) -> Loaded:
    """``load_config``, with the warnings a valid config still deserves."""
    path = Path(path)
    yaml_file = read_yaml(path)
    raw = {} if yaml_file.data is None else yaml_file.data
    if not isinstance(raw, dict):
        raise ConfigError([f"{path}: the top level must be a mapping of keys to values"])
    problems = [
        Problem(loc, "written twice in one mapping: keep one") for loc, _ in yaml_file.duplicates
    ]
    raw = substitute_env(raw, (), problems)
    if environ_database and os.environ.get("MONITOR_DATABASE_URL"):
        raw["database"] = os.environ["MONITOR_DATABASE_URL"]
    config: Config | None = None
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        problems.extend(from_pydantic(exc, Config, raw))
    problems.extend(cross_check(raw, config))
    if parts is not None:
        problems.extend(parts(raw))
    problems.sort(key=lambda p: yaml_file.line_of(p.loc) or 0)  # in the file's order
    errors = [describe(p, path, raw, yaml_file) for p in problems if not p.warning]
    warnings = [describe(p, path, raw, yaml_file) for p in problems if p.warning]
    if errors:
        raise ConfigError(list(dict.fromkeys(errors + warnings)))
    assert config is not None
    return Loaded(config, list(dict.fromkeys(warnings)))


def substitute_env(node: Any, loc: Loc, problems: list[Problem]) -> Any:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in every string of the tree."""
    if isinstance(node, dict):
        # a string with nothing to replace is kept without a call and its place (most of a
        # large file's values: ids and URLs)
        return {
            k: v if isinstance(v, str) and "${" not in v else substitute_env(v, (*loc, k), problems)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [
            v if isinstance(v, str) and "${" not in v else substitute_env(v, (*loc, i), problems)
            for i, v in enumerate(node)
        ]
    if not isinstance(node, str) or "${" not in node:
        return node  # the common case: no closure, no regex

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = os.environ.get(name)
        if value is not None:
            return value
        if default is not None:
            return default
        problems.append(Problem(loc, f"environment variable {name} is not set"))
        return ""

    return _VAR.sub(replace, node)
