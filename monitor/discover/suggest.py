"""Suggested ``select:`` selectors for a listing page without a feed: pure, values in and out.

A ministry's news index repeats one block per release (a card, a list item, a table row).
``suggest_selectors`` looks for groups of sibling elements that share a tag and classes
and that each hold a link with a title-like text, outside the page furniture (``nav``,
``header``, ``footer``, ``aside``, forms, and elements whose class or id says menu,
sidebar, breadcrumb, …: ``extract``'s list). A group scores by how many of its blocks
hold a link, how long their link texts are (a menu's "Home" is one word, a release's
title ten), how many carry a date ``parse_date`` reads, and how few other links each
block holds. For the best groups it writes the item selector (the block's tag and common
classes, with its parents' until it picks exactly that group) and, inside the block, the
title, link (``…@href``) and date selectors that agree on the most blocks.

Work is bounded by the page's size, not its shape: at most ``MAX_ELEMENTS`` elements are
looked at (a larger page gets a warning and no suggestion), elements deeper than
``MAX_DEPTH`` are never candidates, and only the ``MAX_GROUPS`` best-scored groups get
selectors written. The caller checks each suggestion with the real listing extractor, so
what a suggestion shows is what polling would store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from cssselect import SelectorError

from monitor.parse.dates import parse_date
from monitor.parse.listing import ListingSelectors, element_text, first_value, select_elements

MAX_ELEMENTS = 200_000  # a news index has a few thousand; more is a page to read by hand
MAX_DEPTH = 64  # deeper than any real listing; hostile nesting is skipped, not walked
MAX_GROUPS = 8  # best-scored groups whose selectors are written
MIN_ITEMS = 3  # fewer sibling blocks than this is not a list
_NOISE_TAGS = frozenset(
    {"nav", "header", "footer", "aside", "form", "script", "style", "noscript", "template"}
    | {"select", "menu", "dialog", "svg", "iframe", "button", "head", "option"}
)
_NOISE_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "menu", "search"})
_NOISE_WORDS = (
    "nav",
    "menu",
    "footer",
    "header",
    "sidebar",
    "breadcrumb",
    "share",
    "social",
    "cookie",
    "pagination",
    "pager",
    "widget",
    "banner",
    "subscribe",
    "newsletter",
    "lang",
    "skip",
)
# classes that differ between blocks of one list (zebra rows, the current one)
_UNSTABLE_CLASSES = re.compile(r"^(odd|even|first|last|active|current|selected|is-.*|js-.*)$")
_CSS_NAME = re.compile(r"^-?[A-Za-z_][-\w]*$")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_MAX_DATE_CHARS = 60


@dataclass(frozen=True, slots=True)
class Suggested:
    """Selectors for one repeated block, with the score that ranked them."""

    select: ListingSelectors
    blocks: int  # elements the item selector picks
    score: float


class TooLarge(Exception):
    """The page has more elements than ``MAX_ELEMENTS``."""


def suggest_selectors(doc: Any, tz: ZoneInfo, limit: int = 3) -> list[Suggested]:
    """The best ``limit`` selector sets for the repeated blocks of ``doc`` (an lxml HTML
    document), best first; empty when nothing looks like a list of releases."""
    elements, noisy, depth = _survey(doc)
    groups = _sibling_groups(elements, noisy, depth)
    scored = sorted(
        ((score, group) for group in groups if (score := _score(group, tz)) > 0),
        key=lambda pair: -pair[0],
    )
    found: list[Suggested] = []
    seen: set[str] = set()
    for score, group in scored[:MAX_GROUPS]:
        select = _selectors_for(doc, _unwrapped(group), noisy, tz)
        if select is None or select.item in seen:
            continue
        seen.add(select.item)
        found.append(Suggested(select, len(group), round(score, 1)))
        if len(found) == limit:
            break
    return found


def _survey(doc: Any) -> tuple[list[Any], set[Any], dict[Any, int]]:
    """Every element (held, so lxml keeps one proxy per element), those that are page
    furniture or inside it, and each one's depth — iteratively, never recursively."""
    elements: list[Any] = []
    noisy: set[Any] = set()
    depth: dict[Any, int] = {}
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        elements.append(el)
        if len(elements) > MAX_ELEMENTS:
            raise TooLarge(f"more than {MAX_ELEMENTS:,} elements")
        parent = el.getparent()
        depth[el] = depth.get(parent, -1) + 1 if parent is not None else 0
        if (parent is not None and parent in noisy) or _is_furniture(el):
            noisy.add(el)
    return elements, noisy, depth


def _unwrapped(group: list[Any]) -> list[Any]:
    """The blocks themselves when each group element only wraps one (a grid's column
    holding an ``article.card``): their selector says what they are."""
    for _ in range(3):
        inner = [[c for c in el if isinstance(c.tag, str)] for el in group]
        if any(len(children) != 1 or children[0].tag == "a" for children in inner):
            break  # a block that is one link stays the block: its link is "a@href"
        if len({_step(children[0]) for children in inner}) != 1:
            break
        group = [children[0] for children in inner]
    return group


def _is_furniture(el: Any) -> bool:
    if el.tag in _NOISE_TAGS or (el.get("role") or "").lower() in _NOISE_ROLES:
        return True
    if el.tag in ("html", "body", "main", "article"):
        return False
    names = re.split(r"[^a-z0-9]+", f"{el.get('class') or ''} {el.get('id') or ''}".lower())
    return any(token.startswith(word) for token in names if token for word in _NOISE_WORDS)


def _stable_classes(el: Any) -> frozenset[str]:
    classes = (el.get("class") or "").split()
    return frozenset(c for c in classes if _CSS_NAME.match(c) and not _UNSTABLE_CLASSES.match(c))


def _sibling_groups(elements: list[Any], noisy: set[Any], depth: dict[Any, int]) -> list[list[Any]]:
    """Sibling elements of one tag and the same classes; and of one tag whatever their
    classes, when that differs (a list whose rows carry one class each)."""
    groups: list[list[Any]] = []
    for parent in elements:
        if parent in noisy or depth[parent] >= MAX_DEPTH or len(parent) < MIN_ITEMS:
            continue
        by_key: dict[tuple[str, frozenset[str]], list[Any]] = {}
        by_tag: dict[str, list[Any]] = {}
        for child in parent:
            if isinstance(child.tag, str) and child not in noisy:
                by_key.setdefault((child.tag, _stable_classes(child)), []).append(child)
                by_tag.setdefault(child.tag, []).append(child)
        for same in by_key.values():
            if len(same) >= MIN_ITEMS:
                groups.append(same)
        for tag, same in by_tag.items():
            if len(same) >= MIN_ITEMS and sum(1 for key in by_key if key[0] == tag) > 1:
                groups.append(same)
    return groups


def _links(el: Any) -> list[tuple[Any, str]]:
    """The links of a block that lead somewhere, with their visible text."""
    found = []
    for a in el.iter("a"):
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        found.append((a, " ".join(element_text(a).split())))
    return found


def _title_link(el: Any) -> tuple[Any, str] | None:
    """The block's link whose text is longest: the release's title, not "Read more"."""
    links = [(a, text) for a, text in _links(el) if text]
    return max(links, key=lambda pair: len(pair[1])) if links else None


def _date_element(el: Any, tz: ZoneInfo, title: str) -> tuple[Any, str | None] | None:
    """The first element of the block whose text (or ``datetime``) is a date, with the
    attribute to read (``None``: its text)."""
    for child in el.iter():
        if not isinstance(child.tag, str) or child.tag == "a":
            continue
        if child.tag == "time" and child.get("datetime") and parse_date(child.get("datetime"), tz):
            return child, "datetime"
        if len(child) > 2:
            continue  # a container; its date is in one of its children
        text = " ".join(element_text(child).split())
        if text and len(text) <= _MAX_DATE_CHARS and text != title and parse_date(text, tz):
            return child, None
    return None


def _score(group: list[Any], tz: ZoneInfo) -> float:
    linked, words, dated, extra_links = 0, 0, 0, 0
    hrefs: set[str] = set()
    for block in group[:200]:  # a sample is enough to rank; every block is checked later
        found = _title_link(block)
        if found is None:
            continue
        a, text = found
        linked += 1
        words += min(len(text.split()), 15)
        hrefs.add(a.get("href").strip())
        extra_links += max(0, len(_links(block)) - 2)
        if _date_element(block, tz, text) is not None:
            dated += 1
    sample = min(len(group), 200)
    if linked < MIN_ITEMS or linked < 0.6 * sample:
        return 0.0
    mean_words = words / linked
    if mean_words < 2:
        return 0.0  # one-word links: a menu, tags, pages of a pager
    crowding = 1.0 + extra_links / linked / 3  # blocks holding many links are containers
    return linked * mean_words * (1.0 + dated / sample) * (len(hrefs) / linked) / crowding


def _selectors_for(
    doc: Any, group: list[Any], noisy: set[Any], tz: ZoneInfo
) -> ListingSelectors | None:
    item = _item_selector(doc, group, noisy)
    if item is None:
        return None
    titled = [(b, found) for b in group[:200] if (found := _title_link(b)) is not None]
    if not titled:
        return None
    own_link = group[0].tag == "a"  # the whole card is the link
    link_targets = [(b, a, a.get("href").strip()) for b, (a, _) in titled]
    link: str | None = "@href"
    if own_link:
        title_targets = [(b, _title_element(b, b), text) for b, (_, text) in titled]
    else:
        link = _field_selector(link_targets, first_value, attr="href")
        title_targets = [(b, _title_element(b, a), text) for b, (a, text) in titled]
    title = _field_selector(
        [(b, t, " ".join(element_text(t).split())) for b, t, _ in title_targets],
        first_value,
    )
    if link is None or title is None:
        return None
    dates = [(b, hit) for b, (_, text) in titled if (hit := _date_element(b, tz, text))]
    date = None
    if len(dates) >= max(1, len(titled) // 2):
        attr = dates[0][1][1]
        targets = [(b, el, _date_value(el, attr)) for b, (el, a) in dates if a == attr]
        date = _field_selector(targets, first_value, attr=attr)
    return ListingSelectors(item=item, title=title, link=link, date=date)


def _date_value(el: Any, attr: str | None) -> str:
    return " ".join((el.get(attr) if attr else element_text(el)).split())


def _title_element(block: Any, anchor: Any) -> Any:
    """The heading that holds the title link (its text is the title), else the link."""
    el = anchor
    while el is not None and el is not block:
        if el.tag in _HEADINGS:
            return el
        el = el.getparent()
    for heading in block.iter(*_HEADINGS):
        return heading
    return anchor


def _step(el: Any) -> str:
    return str(el.tag) + "".join(f".{c}" for c in sorted(_stable_classes(el)))


def _item_selector(doc: Any, group: list[Any], noisy: set[Any]) -> str | None:
    """The shortest selector (the block's step, then with its parents') that picks exactly
    the group's elements in the whole page; failing that, the shortest that picks them and
    other blocks of their shape outside the furniture (cards in rows of three: one row is
    a group, the selector takes every row)."""
    common = frozenset.intersection(*(_stable_classes(el) for el in group))
    css = str(group[0].tag) + "".join(f".{c}" for c in sorted(common))
    wanted = set(group)
    wider: str | None = None
    parent = group[0].getparent()
    for _ in range(4):
        try:
            picked = set(select_elements(doc, css))
        except SelectorError:  # a class name cssselect refuses: try the next shape
            picked = set()
        if picked == wanted:
            return css
        if wider is None and wanted <= picked and not picked & noisy:
            wider = css
        if parent is None or not isinstance(parent.tag, str):
            break
        ident = parent.get("id")
        parent_step = f"#{ident}" if ident and _CSS_NAME.match(ident) else _step(parent)
        css = f"{parent_step} > {css}"
        # an id is unique: no need to climb further
        parent = None if parent_step.startswith("#") else parent.getparent()
    return wider


def _field_selector(
    targets: list[tuple[Any, Any, str]], value_of: Any, attr: str | None = None
) -> str | None:
    """Of the selectors that reach each block's target from the block, the first (the
    shortest) that gives the expected value in the most blocks."""
    if not targets:
        return None
    candidates: list[str] = []
    for block, target, _ in targets[:5]:
        for css in _relative_paths(block, target):
            if css not in candidates:
                candidates.append(css)
    suffix = f"@{attr}" if attr else ""
    best, best_hits = None, 0
    for css in candidates:
        selector = css + suffix
        try:
            hits = sum(1 for block, _, want in targets if value_of(block, selector) == want)
        except SelectorError:  # a class cssselect refuses: not a candidate
            hits = 0
        if hits > best_hits:
            best, best_hits = selector, hits
    return best if best_hits >= max(1, len(targets) // 2) else None


def _relative_paths(block: Any, target: Any) -> list[str]:
    """Selectors from the block to the target, shortest first: the target's own step, its
    tag, then with the steps of its ancestors inside the block."""
    if target is block:
        return [block.tag]  # CSS selectors here match the block itself too
    steps = []
    el = target
    while el is not None and el is not block:
        steps.append(_step(el))
        el = el.getparent()
    steps.reverse()
    paths = [steps[-1], target.tag]
    for start in range(len(steps) - 2, -1, -1):
        paths.append(" ".join(steps[start:]))
    return paths
