"""The tree of a parsed rule query (``monitor.rules.query`` parses and prints it).

Nodes are frozen: a parsed query is shared (parses are cached) and used as a dict key.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Word:
    text: str  # one word as written (un-normalised)


@dataclass(frozen=True, slots=True)
class Prefix:
    text: str  # the letters before '*', as written


@dataclass(frozen=True, slots=True)
class Phrase:
    words: tuple[str, ...]  # consecutive words, as written


@dataclass(frozen=True, slots=True)
class Concept:
    name: str
    body: Node  # the OR of the entries (a single entry stands alone)


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # title | summary | content | text
    child: Node


@dataclass(frozen=True, slots=True)
class Filter:
    name: str  # source | url | lang
    value: str


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Near:
    left: Node
    right: Node
    distance: int
    ordered: bool  # ONEAR: the left one comes first


Node = Word | Prefix | Phrase | Concept | Field | Filter | Not | And | Or | Near
