"""Config problems in an operator's words: where (file, line, path with ids) and what.

A ``Problem`` is a place (``("rules", 4, "query")``) and a message; ``describe`` prints it
as ``monitor.yaml:23: rules[4] (nato).query: …`` — list indices 0-based, the item's id
beside its index. ``from_pydantic`` turns each of pydantic's error types into plain words
(``to: expected a list of addresses``, never ``Input should be a valid tuple``); it works
from the error's type and place alone, so a model field added later gets the same words.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from monitor.config.yamlfile import Loc, YamlFile


@dataclass(frozen=True, slots=True)
class Problem:
    loc: Loc
    message: str
    warning: bool = False  # printed, but the config is still valid


def describe(problem: Problem, path: object, raw: Any, yaml_file: YamlFile) -> str:
    """``FILE:LINE: [warning: ]PLACE: MESSAGE`` on one line."""
    line = yaml_file.line_of(problem.loc)
    where = f"{path}:{line}" if line else f"{path}"
    kind = "warning: " if problem.warning else ""
    message = " ".join(problem.message.split())  # one line, whatever a value held
    return f"{where}: {kind}{place(raw, problem.loc) or 'config'}: {message}"


def place(raw: Any, loc: Loc) -> str:
    """``rules[4] (nato).query``: the path, and the id of each list item that has one."""
    out = ""
    node = raw
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            ident = node.get("id") if isinstance(node, dict) else None
            if isinstance(ident, str) and ident:
                out += f" ({ident})"
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out


def from_pydantic(exc: ValidationError, model: type[BaseModel], raw: Any) -> Iterator[Problem]:
    for error in exc.errors():
        loc = _without_tags(tuple(error["loc"]), raw)
        yield Problem(loc, _plain(error, loc, model, raw))


def _without_tags(loc: Loc, raw: Any) -> Loc:
    """A discriminated union puts the tag into the place (``channels[0].email.smtp``)."""
    out: list[int | str] = []
    node = raw
    for part in loc:
        if isinstance(part, str) and isinstance(node, dict):
            if part not in node and node.get("type") == part:
                continue
            node = node.get(part)
        elif isinstance(part, int) and isinstance(node, list):
            node = node[part] if 0 <= part < len(node) else None
        else:
            node = None
        out.append(part)
    return tuple(out)


# what a list holds, by the key it is under (the generic word is "values")
_LIST_OF = {
    "to": "addresses",
    "channels": "channel ids",
    "alarm_channels": "channel ids",
    "sources": "source ids",
    "languages": "language codes",
    "no_proxy": "host names",
}
_TOP_LISTS = {"sources", "rules", "channels"}
_CHANNEL_TYPES = "email, webhook, apprise or log"


def _plain(error: ErrorDetails, loc: Loc, model: type[BaseModel], raw: Any) -> str:
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    given = error.get("input")
    got = _got(given)
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error") or error["msg"]).removeprefix("Value error, ")
    if kind == "missing":
        return "missing required key"
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), _allowed_keys(model, loc, raw), n=1)
        return "unknown key" + (f"; did you mean '{close[0]}'?" if close else "")
    if kind in ("string_type", "string_unicode"):
        return f"expected text, got {got}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"too long (at most {ctx.get('max_length')} characters)"
    if kind == "string_pattern_mismatch":
        return f"{given!r} is not a valid id: use lower-case letters, digits and '-'"
    if kind in ("int_type", "int_parsing", "int_from_float", "int_parsing_size"):
        return f"expected a whole number, got {got}"
    if kind in ("float_type", "float_parsing", "finite_number", "decimal_type"):
        return f"expected a number, got {got}"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {got}"
    if kind in _BOUNDS:
        words, key = _BOUNDS[kind]
        return f"{words} {ctx.get(key)}, got {got}"
    if kind == "multiple_of":
        return f"must be a multiple of {ctx.get('multiple_of')}, got {got}"
    if kind == "too_short":
        least = int(ctx.get("min_length", 1))
        return f"needs at least {least} {'entry' if least == 1 else 'entries'}"
    if kind == "too_long":
        return f"takes at most {ctx.get('max_length')} entries"
    if kind in _LISTS:
        return _expected_list(loc, given)
    if kind in _MAPPINGS:
        return f"expected keys and values (key: value on lines of their own), got {got}"
    if kind in ("literal_error", "enum"):
        allowed = str(ctx.get("expected", "")).replace("'", "")
        return f"unknown value {given!r}: use {allowed}"
    if kind == "union_tag_invalid":
        tag = given.get("type") if isinstance(given, dict) else given
        if tag == "slack":
            return "unknown channel type 'slack': use type: webhook with format: slack"
        return f"unknown channel type {tag!r}: use {_CHANNEL_TYPES}"
    if kind == "union_tag_not_found":
        return f"missing required key 'type' ({_CHANNEL_TYPES})"
    if kind in ("time_delta_type", "time_delta_parsing"):
        return f"expected a duration such as 30s, 10m, 2h or 1d, got {got}"
    if kind.startswith("url"):
        return f"expected a URL such as https://example.org/feed, got {got}"
    if kind == "none_required":
        return f"must be empty, got {got}"
    if kind == "invalid_key":
        return "keys must be text"
    return f"invalid value {_short(given)}"


_BOUNDS = {
    "greater_than": ("must be more than", "gt"),
    "greater_than_equal": ("must be at least", "ge"),
    "less_than": ("must be less than", "lt"),
    "less_than_equal": ("must be at most", "le"),
}
_LISTS = {
    "list_type",
    "tuple_type",
    "set_type",
    "frozen_set_type",
    "iterable_type",
    "deque_type",
}
_MAPPINGS = {
    "dict_type",
    "mapping_type",
    "model_type",
    "model_attributes_type",
    "dataclass_type",
    "ordered_dict_type",
}


def _expected_list(loc: Loc, given: Any) -> str:
    key = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
    if len(loc) == 1 and key in _TOP_LISTS:
        return f"expected a list of {key} (each item starts with '- id: …')"
    noun = "terms" if len(loc) == 2 and loc[0] == "concepts" else _LIST_OF.get(key, "values")
    text = f"expected a list of {noun}"
    if isinstance(given, str):
        text += f": write [{given}]"
    return text


def _got(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, dict):
        return "keys and values"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"text {_short(value)}"
    return _short(value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_keys(model: type[BaseModel], loc: Loc, raw: Any) -> list[str]:
    """Walk the model (and the raw tree beside it) along ``loc`` to list the keys allowed
    where an unknown one stood; in a union, the model whose ``type`` the item names."""
    annotation: Any = model
    node = raw
    for part in loc[:-1]:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            continue
        current = _model_in(annotation, node)
        field = current.model_fields.get(part) if current is not None else None
        if field is None:
            return []
        annotation = field.annotation
        node = node.get(part) if isinstance(node, dict) else None
    current = _model_in(annotation, node)
    fields = current.model_fields if current is not None else {}
    return [f.alias or name for name, f in fields.items()]


def _model_in(annotation: Any, node: Any) -> type[BaseModel] | None:
    """The model in ``annotation`` (a list's items, a union's members) that ``node`` is."""
    found = list(_models_in(annotation))
    tag = node.get("type") if isinstance(node, dict) else None
    for candidate in found:
        field = candidate.model_fields.get("type")
        if field is not None and tag in getattr(field.annotation, "__args__", ()):
            return candidate
    return found[0] if found else None


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in getattr(annotation, "__args__", ()):
        yield from _models_in(arg)
