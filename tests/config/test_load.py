"""Config loading: every broken config gives one precise line per problem."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config.load import load_config
from monitor.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

BASE = """
sources:
  - id: mofa
    url: https://www.mofa.gov.qa/ar/rss
rules:
  - id: nato
    query: 'NATO OR الناتو'
    channels: [console]
channels:
  - id: console
    type: log
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return caught.value.problems


@pytest.mark.parametrize("path", sorted((ROOT / "config").rglob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_loads(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)
    config = load_config(path)
    assert config.rules, f"{path} has no rules"
    assert config.sources, f"{path} has no sources"


def test_defaults_and_types(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE))
    assert config.database == "sqlite:///data/monitor.db"
    assert config.defaults.interval == timedelta(minutes=15)
    assert config.defaults.backfill == timedelta(days=1)
    assert config.defaults.max_connections_per_host == 2
    assert config.rules[0].channels == ("console",)
    assert config.source("mofa").type == "feed"
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        config.rules[0].id = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        (
            BASE.replace("    url:", "    intervall: 10m\n    url:"),
            "sources[0].intervall: unknown key; did you mean 'interval'?",
        ),
        (
            BASE.replace("https://www.mofa.gov.qa/ar/rss", "ftp://x"),
            "sources[0].url: invalid URL 'ftp://x': must be an absolute http:// or https:// URL",
        ),
        (
            BASE.replace("    url:", "    interval: 10 minutes\n    url:"),
            "sources[0].interval: invalid duration '10 minutes': use a number and a unit, e.g. 30s, 10m, 2h, 1d",
        ),
        (
            BASE.replace("    url:", "    cron: '*/10 7-20 * *'\n    url:"),
            "sources[0].cron: cron expression '*/10 7-20 * *' needs 5 fields (minute hour day-of-month month day-of-week)",
        ),
        (
            BASE.replace("    url:", "    cron: '0 25 * * *'\n    url:"),
            "sources[0].cron: hour '25' is not in 0-23",
        ),
        (
            BASE.replace("channels: [console]", "channels: [pager]"),
            "rules[0].channels[0]: unknown channel 'pager'",
        ),
        (
            BASE.replace("channels: [console]", "channels: [console]\n    sources: [nope]"),
            "rules[0].sources[0]: unknown source 'nope'",
        ),
        (
            BASE.replace("id: mofa", "id: Mofa_1"),
            "sources[0].id: 'Mofa_1' is not a valid id: use lower-case letters, digits and '-'",
        ),
        (
            BASE.replace("type: log", "type: pager"),
            "channels[0]: unknown channel type 'pager': use email, webhook or log",
        ),
        (BASE + "timezone: Mars/Olympus\n", "timezone: unknown time zone 'Mars/Olympus'"),
        (
            BASE.replace("channels: [console]", "channels: []"),
            "rules[0].channels: needs at least 1 entry",
        ),
        (BASE + "unknown_top: 1\n", "unknown_top: unknown key"),
        (
            BASE.replace(
                "    type: log",
                "    type: webhook\n    url: https://hooks.example.org/x\n    secret: nope",
            ),
            "channels[0].secret: webhook secret must start with 'whsec_'",
        ),
    ],
)
def test_one_line_per_problem(tmp_path: Path, snippet: str, expected: str) -> None:
    assert expected in problems(tmp_path, snippet)


def test_duplicate_ids(tmp_path: Path) -> None:
    text = BASE.replace(
        "channels:\n  - id: console\n    type: log",
        "channels:\n  - id: console\n    type: log\n  - id: console\n    type: log",
    )
    assert "channels[1].id: duplicate id 'console'" in problems(tmp_path, text)


def test_every_problem_is_listed(tmp_path: Path) -> None:
    text = BASE.replace("    url:", "    intervall: 10m\n    url:").replace(
        "channels: [console]", "channels: [pager]"
    )
    found = problems(tmp_path, text)
    assert "sources[0].intervall: unknown key; did you mean 'interval'?" in found
    assert "rules[0].channels[0]: unknown channel 'pager'" in found


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "sources:\n  - id: x\n   url: [unclosed\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (line,) = caught.value.problems
    assert line.startswith(f"{path}: line 3, column ")


def test_env_substitution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_HOST", "hooks.example.org")
    monkeypatch.delenv("UNSET_SECRET", raising=False)
    text = BASE.replace(
        "    type: log",
        "    type: log\n  - id: hook\n    type: webhook\n    url: https://${HOOK_HOST}/x\n"
        "    timeout: ${HOOK_TIMEOUT:-20s}",
    )
    config = load_config(write(tmp_path, text))
    hook = config.channel("hook")
    assert hook.url == "https://hooks.example.org/x"  # type: ignore[union-attr]
    assert hook.timeout == timedelta(seconds=20)  # type: ignore[union-attr]
    broken = text.replace("${HOOK_HOST}", "${UNSET_SECRET}")
    assert "channels[1].url: environment variable UNSET_SECRET is not set" in problems(
        tmp_path, broken
    )


def test_database_url_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_DATABASE_URL", "postgresql+psycopg://u@db/monitor")
    assert load_config(write(tmp_path, BASE)).database == "postgresql+psycopg://u@db/monitor"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "absent.yaml")
    assert caught.value.problems == [f"{tmp_path / 'absent.yaml'}: no such file"]
