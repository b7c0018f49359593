"""A config without anchors, aliases or merges is read from libyaml's events in one pass
(``yamlfile._plain``); it must give what composing the nodes gives (``_Builder``): the same
values in the same order, the same line for every key and item, the same duplicates, the
same errors. Anything else falls back to the nodes, whose checks (alias budget, nesting,
merges) the limits' tests hold."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.config.yamlfile import MAX_NESTING, YamlFile, _Builder, _plain, read_yaml
from monitor.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

PLAIN = [
    "",
    "---\n",
    "# only a comment\n",
    "just a scalar\n",
    "a: 1\nb: 1.5\nc: yes\nd: ~\ne:\nf: '1'\ng: 2026-12-07\nh: \"x\\ty\"\n",
    "a: 1\nb: 2\na: 3\n",  # a duplicate: the last value, at the first key's place
    "1: one\n2: two\n1: again\n",
    "- 1\n- [a, b]\n- {c: d, e: [f, {g: h}]}\n-\n  - deep\n",
    "sources:\n  - id: a\n    url: http://x/a\n    select: {item: li, title: a}\n"
    "  - id: b\n    url: http://x/b\n    headers:\n      X-A: '1'\n      X-A: '2'\n",
    "a: !!binary aGVsbG8=\nb: !!str 12\nc: !!int '7'\n",
    "[" * MAX_NESTING + "]" * MAX_NESTING,
    "key: |\n  two\n  lines\nfolded: >\n  one\n  line\n",
]

FALLS_BACK = [
    "a: &x 1\nb: *x\n",
    "base: &b {a: 1}\nc:\n  <<: *b\n  d: 2\n",
    "c:\n  <<: {a: 1}\n",
    "? [a]\n: 1\n",
    "--- 1\n--- 2\n",
    "[" * (MAX_NESTING + 2) + "]" * (MAX_NESTING + 2),
]


def _composed(text: str) -> YamlFile:
    node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if node is None:
        return YamlFile(None, {})
    builder = _Builder(Path("x.yaml"))
    data = builder.value(node, (), 0, False, node.start_mark.line + 1)
    return YamlFile(data, builder.lines, tuple(builder.duplicates))


def _same(text: str) -> None:
    plain = _plain(text)
    assert plain is not None
    composed = _composed(text)
    # repr: dicts compared in their order too
    assert repr(plain.data) == repr(composed.data)
    assert list(plain.lines.items()) == list(composed.lines.items())
    assert plain.duplicates == composed.duplicates


@pytest.mark.parametrize("text", PLAIN)
def test_events_give_what_the_nodes_give(text: str) -> None:
    _same(text)


def test_the_shipped_configs_read_the_same() -> None:
    files = [ROOT / "config" / "monitor.yaml", *(ROOT / "config" / "examples").glob("*.yaml")]
    assert len(files) > 1
    for path in files:
        text = path.read_text(encoding="utf-8")
        if _plain(text) is not None:
            _same(text)
        assert read_yaml(path) == _composed(text)


def test_a_large_config_reads_the_same(tmp_path: Path) -> None:
    text = "sources:\n" + "".join(
        f"  - id: s{i}\n    url: http://127.0.0.1:9/s/{i}.xml\n    interval: {i % 7 + 1}m\n"
        for i in range(2000)
    )
    _same(text)


@pytest.mark.parametrize("text", FALLS_BACK)
def test_what_only_the_nodes_handle_falls_back_to_them(text: str) -> None:
    assert _plain(text) is None


@pytest.mark.parametrize(
    "text",
    ["a: !custom x\n", "a: [1, 2\n", "a: b: c\n", "a: 1\n\tb: 2\n", "a: !!int x\n"],
)
def test_errors_read_the_same(tmp_path: Path, text: str) -> None:
    with pytest.raises(yaml.YAMLError) as composed:
        _composed(text)
    with pytest.raises(yaml.YAMLError) as plain:
        _plain(text)
    assert str(plain.value) == str(composed.value)
    path = tmp_path / "monitor.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError):
        read_yaml(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: !!int x\n", "line 1, column 4: 'x' is not a valid int"),
        ("a:\n  - !!float x\n", "line 2, column 5: 'x' is not a valid float"),
        ("a: !!timestamp soon\n", "line 1, column 4: 'soon' is not a valid timestamp"),
        ("b: &b 1\na: !!int x\n", "line 2, column 4: 'x' is not a valid int"),  # the nodes
    ],
)
def test_a_tag_on_a_value_it_cannot_be_is_a_problem_with_its_line(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_yaml(path)
    assert caught.value.problems == [f"{path}: {message}"]
