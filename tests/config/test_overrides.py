"""Per-source overrides (SPEC section 2: defaults "apply to every source unless it
overrides them"): every ``defaults`` key can be set on a source, and only on that source."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.config.load import load_config
from monitor.config.model import Config, Defaults
from monitor.errors import ConfigError
from monitor.schedule import poll_lease

# each defaults key: (what a source writes, the value that then applies to it)
SAMPLES: dict[str, tuple[str, Any]] = {
    "interval": ("5m", timedelta(minutes=5)),
    "user_agent": ('"desk/2 (+https://desk.example)"', "desk/2 (+https://desk.example)"),
    "max_connections_per_host": ("6", 6),
    "backfill": ("7d", timedelta(days=7)),
    "timeout": ("2m", timedelta(minutes=2)),
    "max_bytes": ("50000000", 50_000_000),
    "max_alerts_per_poll": ("7", 7),
    "proxy": ("http://proxy.internal:3128", "http://proxy.internal:3128"),
    "no_proxy": ("[intranet.example]", ("intranet.example",)),
}


def config_with(tmp_path: Path, source_lines: str, defaults: str = "") -> Path:
    text = textwrap.dedent(
        """\
        {defaults}
        sources:
          - id: own
            url: https://www.mofa.gov.qa/ar/rss
        {source_lines}
          - id: plain
            url: https://www.mofa.gov.qa/en/rss
        rules:
          - id: nato
            query: NATO
            channels: [console]
        channels:
          - id: console
            type: log
        """
    ).format(defaults=defaults, source_lines=textwrap.indent(source_lines, "    "))
    path = tmp_path / "monitor.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_defaults_key_is_covered_here() -> None:
    # a defaults key added later must be settable per source too (and get a sample here)
    assert set(SAMPLES) == set(Defaults.model_fields)


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_each_defaults_key_can_be_overridden_by_one_source(tmp_path: Path, key: str) -> None:
    written, expected = SAMPLES[key]
    config = load_config(config_with(tmp_path, f"{key}: {written}"), environ_database=False)
    assert getattr(config.settings_of(config.source("own")), key) == expected
    # the other source keeps the defaults' value
    assert getattr(config.settings_of(config.source("plain")), key) == getattr(config.defaults, key)
    assert getattr(config.defaults, key) != expected


def test_an_override_wins_over_a_value_set_in_defaults(tmp_path: Path) -> None:
    path = config_with(tmp_path, "timeout: 90s", defaults="defaults: {timeout: 10s}")
    config = load_config(path, environ_database=False)
    assert config.settings_of(config.source("own")).timeout == timedelta(seconds=90)
    assert config.settings_of(config.source("plain")).timeout == timedelta(seconds=10)


def test_a_longer_deadline_on_one_source_lengthens_the_poll_lease(tmp_path: Path) -> None:
    # a lease shorter than a poll would let another instance take a source mid-poll
    config = load_config(config_with(tmp_path, "timeout: 5m"), environ_database=False)
    assert poll_lease(config) >= timedelta(minutes=15)


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ("timout: 90s", "sources[0] (own).timout: unknown key; did you mean 'timeout'?"),
        ("max_byte: 5000", "sources[0] (own).max_byte: unknown key; did you mean 'max_bytes'?"),
        ("timeout: soon", "sources[0] (own).timeout: invalid duration 'soon'"),
        ("max_bytes: 10", "sources[0] (own).max_bytes: must be at least 1024, got 10"),
        (
            "max_connections_per_host: 0",
            "sources[0] (own).max_connections_per_host: must be at least 1, got 0",
        ),
    ],
)
def test_bad_overrides_are_one_line_each(tmp_path: Path, lines: str, problem: str) -> None:
    path = config_with(tmp_path, lines)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ_database=False)
    found = [line.replace(str(path), "monitor.yaml") for line in caught.value.problems]
    assert len(found) == 1
    assert found[0].startswith(f"monitor.yaml:5: {problem}"), found


def test_render_browser_needs_a_page_to_render(tmp_path: Path) -> None:
    path = config_with(tmp_path, "render: browser")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ_database=False)
    assert caught.value.problems == [
        f"{path}:3: sources[0] (own): render: browser loads a listing page (type: html) or "
        "full-text pages (full_text: true); a feed is read over HTTP"
    ]


def test_settings_are_worked_out_once_per_config_and_never_shared_with_a_copy() -> None:
    config = Config(
        sources=[
            {"id": "a", "url": "https://a.example/rss"},
            {"id": "b", "url": "https://b.example/rss", "interval": "5m"},
        ]
    )
    b = config.source("b")
    assert config.settings_of(b) is config.settings_of(b)
    assert config.interval_of(b).total_seconds() == 300
    assert config == Config.model_validate(config.model_dump())  # the memo is not a field
    copy = config.model_copy(
        update={"defaults": config.defaults.model_copy(update={"interval": timedelta(minutes=1)})}
    )
    assert copy.interval_of(copy.source("a")).total_seconds() == 60
    assert config.interval_of(config.source("a")).total_seconds() == 900
    only_a = config.model_copy(update={"sources": (config.source("a"),)})
    with pytest.raises(KeyError):
        only_a.source("b")


def test_sources_that_override_alike_share_one_settings_object() -> None:
    # one copy per distinct set of overrides, not per source: at 100,000 sources a copy
    # each held ~1 KB a source for the daemon's life (bench/README.md, issue 23)
    config = Config(
        defaults={"interval": "10m"},
        sources=[
            {"id": "a", "url": "https://a.example/rss"},
            {"id": "b", "url": "https://b.example/rss"},
            {"id": "c", "url": "https://c.example/rss", "interval": "5m"},
            {"id": "d", "url": "https://d.example/rss", "interval": "5m"},
            {"id": "e", "url": "https://e.example/rss", "interval": "5m", "timeout": "1m"},
        ],
    )
    a, b, c, d, e = (config.source(i) for i in "abcde")
    assert config.settings_of(a) is config.settings_of(b) is config.defaults
    assert config.settings_of(c) is config.settings_of(d)
    assert config.settings_of(e) is not config.settings_of(c)
    assert config.interval_of(c) == config.interval_of(e) == timedelta(minutes=5)
    assert config.settings_of(e).timeout == timedelta(minutes=1)
    assert config.settings_of(c).timeout == config.defaults.timeout
    assert config.interval_of(a) == timedelta(minutes=10)
