"""Reading the config file: YAML → plain values, with the line of every key and item, bounded.

The file is composed into YAML nodes (libyaml when PyYAML has it) and the values are built
from the nodes here, so that each place (``("rules", 4, "query")``) keeps the line it was
written on, for ``monitor.yaml:23: rules[4] (nato).query: …``.

Limits, so that no file makes ``check`` (or the console, later) unbounded:

- a file over ``MAX_FILE_BYTES`` (1 MB; a config of 500 sources is under 100 KB, of 10,000
  about 850 KB) is refused, unless the operator raises the cap with ``MONITOR_CONFIG_MAX_BYTES``
  in the environment (a deployment of 100,000 file sources needs ~9 MB): the file is theirs,
  the limit is against a file nobody meant to be that large;
- aliases may add at most ``MAX_ALIAS_VALUES`` values to what the file spells out. Anchors
  and aliases are kept (``smtp: *relay`` shared by channels, ``<<: *defaults`` merges are
  honest uses), but nine nested anchors of nine aliases each (a "billion laughs", under
  1 KB) would expand to 387 million values: refused at its line, after 10,000;
- nesting deeper than ``MAX_NESTING`` levels (the shipped configs nest 4) is refused, which
  also stops an alias that contains itself.

A YAML error reads ``FILE: line L, column C: …``; a limit ``FILE:L: …``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from monitor.errors import ConfigError

MAX_FILE_BYTES = 1_000_000
MAX_BYTES_VARIABLE = "MONITOR_CONFIG_MAX_BYTES"
MAX_ALIAS_VALUES = 10_000
MAX_NESTING = 50

Loc = tuple[int | str, ...]

# libyaml's composer when PyYAML was built with it: 10x faster on a large config
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class YamlFile:
    """The values of a config file, and the 1-based line of each key and list item."""

    data: Any
    lines: Mapping[Loc, int]
    duplicates: tuple[tuple[Loc, int], ...] = ()  # a key written twice in one mapping

    def line_of(self, loc: Loc) -> int | None:
        """The line of ``loc``, or of its nearest written parent (a missing key's mapping)."""
        for end in range(len(loc), 0, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return None


def max_file_bytes(environ: Mapping[str, str] | None = None) -> int:
    """The size cap: ``MONITOR_CONFIG_MAX_BYTES`` when set, else ``MAX_FILE_BYTES``."""
    value = (os.environ if environ is None else environ).get(MAX_BYTES_VARIABLE, "").strip()
    if not value:
        return MAX_FILE_BYTES
    if not value.isdigit() or int(value) == 0:
        raise ConfigError(
            [f"{MAX_BYTES_VARIABLE}: {value[:40]!r} is not a number of bytes (e.g. 10000000)"]
        )
    return int(value)


def read_yaml(path: Path) -> YamlFile:
    cap = max_file_bytes()
    try:
        size = path.stat().st_size
        if size > cap:
            raise ConfigError(
                [
                    f"{path}: {size:,} bytes; a configuration file is at most {cap:,} "
                    f"(set {MAX_BYTES_VARIABLE} to allow a larger one)"
                ]
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from None
    try:
        plain = _plain(text)
        if plain is not None:
            return plain
        node = yaml.compose(text, Loader=_LOADER)
        if node is None:
            return YamlFile(None, {})
        builder = _Builder(path)
        data = builder.value(node, (), 0, False, node.start_mark.line + 1)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        raise ConfigError([f"{path}: {where}: {exc.problem or exc}"]) from None
    except yaml.reader.ReaderError as exc:
        # a character YAML does not allow (NUL, a control character, U+FFFE): PyYAML's
        # message spans two lines and counts characters from the start of the file
        before = text[: exc.position]
        line, column = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        raise ConfigError(
            [
                f"{path}: line {line}, column {column}: character U+{exc.character:04X} is not "
                "allowed in a YAML file: remove it"
            ]
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: {' '.join(str(exc).split())}"]) from None
    except RecursionError:  # the pure-Python composer has no nesting limit of its own
        raise ConfigError([f"{path}: nests more than {MAX_NESTING} levels deep"]) from None
    return YamlFile(data, builder.lines, tuple(builder.duplicates))


def _plain(text: str) -> YamlFile | None:
    """The file built from the parser's events in one pass, without composing its nodes
    first (a third of reading a 10,000-source file); None when it has what only
    ``_Builder`` handles (an anchor, an alias, a ``<<`` merge, a key that is a list or a
    mapping, more than one document, nesting past ``MAX_NESTING``): the file is composed
    and read again there, which also words those problems. The values, lines and
    duplicates are the builder's."""
    loader = _LOADER(text)
    try:
        return _from_events(loader)
    finally:
        loader.dispose()


def _from_events(loader: Any) -> YamlFile | None:
    resolve, construct = loader.resolve, yaml.constructor.SafeConstructor().construct_object
    lines: dict[Loc, int] = {}
    duplicates: list[tuple[Loc, int]] = []
    open_: list[Any] = []  # the mappings and lists being filled, outermost first
    places: list[Loc] = []  # the place of each
    keys: list[Any] = []  # each open mapping's key waiting for its value, or _NO_KEY
    root: Any = None
    documents = 0
    while True:
        event = loader.get_event()
        kind = type(event)
        if kind is _SCALAR or kind is _MAPPING or kind is _SEQUENCE:
            if event.anchor is not None:
                return None
            scalar = kind is _SCALAR
            if scalar:
                tag = event.tag
                if tag is None or tag == "!":
                    tag = resolve(yaml.ScalarNode, event.value, event.implicit)
                if tag == _STR:
                    value: Any = event.value
                elif tag == _MERGE:
                    return None
                else:
                    value = _construct(
                        construct,
                        yaml.ScalarNode(
                            tag, event.value, event.start_mark, event.end_mark, event.style
                        ),
                    )
            if open_ and keys[-1] is _NO_KEY and type(open_[-1]) is dict:
                if not scalar:
                    return None  # a key that is a list or a mapping
                place, at = (*places[-1], value), event.start_mark.line + 1
                if value in open_[-1]:
                    duplicates.append((place, at))
                lines[place] = at
                keys[-1] = value
                continue
            if len(open_) > MAX_NESTING:
                return None
            if not scalar:
                value = {} if kind is _MAPPING else []
            if not open_:
                root, place = value, ()
            elif keys[-1] is not _NO_KEY:
                place = (*places[-1], keys[-1])
                open_[-1][keys[-1]] = value
                keys[-1] = _NO_KEY
            else:
                place = (*places[-1], len(open_[-1]))
                lines[place] = event.start_mark.line + 1
                open_[-1].append(value)
            if not scalar:
                open_.append(value)
                places.append(place)
                keys.append(_NO_KEY)
        elif kind is _MAPPING_END or kind is _SEQUENCE_END:
            open_.pop()
            places.pop()
            keys.pop()
        elif kind is _DOCUMENT:
            documents += 1
            if documents > 1:
                return None
        elif kind is _STREAM_END:
            return YamlFile(root, lines, tuple(duplicates))
        elif kind is _ALIAS:
            return None


def _construct(construct: Any, node: yaml.Node) -> Any:
    try:
        return construct(node)
    except yaml.YAMLError:
        raise
    except (ValueError, TypeError, AttributeError, OverflowError):
        # an explicit tag on a value it cannot be (``!!int x``, ``!!timestamp x``): PyYAML's
        # conversion fails with a Python error, not a YAML one, which ended ``check`` in a
        # traceback
        raise yaml.MarkedYAMLError(
            problem=f"{node.value[:40]!r} is not a valid {node.tag.rsplit(':', 1)[-1]}",
            problem_mark=node.start_mark,
        ) from None


@dataclass
class _Builder:
    path: Path
    lines: dict[Loc, int] = field(default_factory=dict)
    duplicates: list[tuple[Loc, int]] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)
    added: int = 0  # values that aliases added
    constructor: yaml.constructor.SafeConstructor = field(
        default_factory=yaml.constructor.SafeConstructor
    )

    def value(self, node: yaml.Node, loc: Loc, depth: int, aliased: bool, line: int) -> Any:
        """Build ``node``'s value. ``line`` is where it stands in the file: under an alias,
        the alias's line (its nodes' own marks point at the anchor)."""
        if depth > MAX_NESTING:
            raise ConfigError([f"{self.path}:{line}: nests more than {MAX_NESTING} levels deep"])
        if id(node) in self.seen:
            aliased = True  # the composer shares an anchored node wherever it is aliased
        else:
            self.seen.add(id(node))
        if aliased:
            self.added += 1
            if self.added > MAX_ALIAS_VALUES:
                raise ConfigError(
                    [
                        f"{self.path}:{line}: aliases expand to more than {MAX_ALIAS_VALUES:,} "
                        "values: write the values out instead of nesting aliases"
                    ]
                )
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, child in enumerate(node.value):
                # an alias's node is the anchor's, marked where the anchor is: the list's
                # own line is nearer the alias
                shared = aliased or id(child) in self.seen
                at = line if shared else child.start_mark.line + 1
                self.lines[(*loc, index)] = at
                items.append(self.value(child, (*loc, index), depth + 1, aliased, at))
            return items
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc, depth, aliased, line)
        return self._scalar(node)

    def _scalar(self, node: yaml.Node) -> Any:
        # a string is the node's own value (SafeConstructor.construct_yaml_str): most of a
        # large config's scalars (ids, URLs), built here without the constructor's
        # bookkeeping of every node, a third of the file's reading
        if node.tag == _STR:
            return node.value
        return _construct(self.constructor.construct_object, node)

    def _mapping(
        self, node: yaml.MappingNode, loc: Loc, depth: int, aliased: bool, line: int
    ) -> dict[Any, Any]:
        merged: dict[Any, Any] = {}
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            at = line if aliased else key_node.start_mark.line + 1
            if key_node.tag == _MERGE:
                # << merges, built here (not by PyYAML's flatten_mapping, which would
                # multiply nested merges before any budget could count them)
                self._merge(value_node, merged, loc, depth, aliased, at)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.MarkedYAMLError(
                    problem="a key must be a plain value, not a list or a mapping",
                    problem_mark=key_node.start_mark,
                )
            key = self._scalar(key_node)
            if key in out:
                self.duplicates.append(((*loc, key), at))
            self.lines[(*loc, key)] = at
            out[key] = self.value(value_node, (*loc, key), depth + 1, aliased, at)
        return {**{k: v for k, v in merged.items() if k not in out}, **out}

    def _merge(
        self,
        node: yaml.Node,
        merged: dict[Any, Any],
        loc: Loc,
        depth: int,
        aliased: bool,
        line: int,
    ) -> None:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for source in sources:
            built = self.value(source, loc, depth + 1, aliased, line)
            if not isinstance(source, yaml.MappingNode) or not isinstance(built, dict):
                raise yaml.MarkedYAMLError(
                    problem="<< merges a mapping (or a list of them) into this one",
                    problem_mark=source.start_mark,
                )
            for key, value in built.items():
                merged.setdefault(key, value)  # the first mapping listed wins, as in YAML


_MERGE = "tag:yaml.org,2002:merge"
_STR = "tag:yaml.org,2002:str"
_NO_KEY = object()
_SCALAR, _ALIAS = yaml.ScalarEvent, yaml.AliasEvent
_MAPPING, _MAPPING_END = yaml.MappingStartEvent, yaml.MappingEndEvent
_SEQUENCE, _SEQUENCE_END = yaml.SequenceStartEvent, yaml.SequenceEndEvent
_DOCUMENT, _STREAM_END = yaml.DocumentStartEvent, yaml.StreamEndEvent
