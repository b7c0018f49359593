"""The config checks that need the parts a config names (``monitor.part_checks``): its
templates compiled with the channels' renderer, this machine's Chromium for ``render:
browser``. The config package does not import those parts: the commands pass the checks
to ``read_config`` (``monitor check`` reporting them: ``tests/e2e/test_cli.py``)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from monitor.config.load import read_config
from monitor.errors import ConfigError
from monitor.part_checks import check_parts

RULES = """\
rules:
  - {id: nato, query: NATO, channels: [console]}
channels:
  - {id: console, type: log}
"""
FEED = "sources:\n  - {id: mofa, url: 'https://www.mofa.gov.qa/rss'}\n"
BROWSER = textwrap.dedent(
    """\
    sources:
      - id: own
        url: https://ministry.example/news
        type: html
        render: browser
        select: {item: li, title: a, link: a}
    """
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def broken_templates(tmp_path: Path) -> Path:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "email.html").write_text("<p>{{ alert.title </p>", encoding="utf-8")
    return templates


def test_broken_templates_refuse_the_config_where_the_parts_are_checked(tmp_path: Path) -> None:
    path = write(tmp_path, f"templates: {broken_templates(tmp_path)}\n{FEED}{RULES}")
    with pytest.raises(ConfigError) as refused:
        read_config(path, environ_database=False, parts=check_parts)
    (problem,) = refused.value.problems
    assert problem.startswith(f"{path}:1: templates: ")
    assert "email.html: line 1: " in problem
    # the config alone (a test's, the demo's) does not compile the channels' templates
    assert read_config(path, environ_database=False).warnings == []


def test_a_templates_path_that_is_no_directory(tmp_path: Path) -> None:
    path = write(tmp_path, f"templates: {tmp_path / 'nope'}\n{FEED}{RULES}")
    with pytest.raises(ConfigError) as refused:
        read_config(path, environ_database=False, parts=check_parts)
    assert refused.value.problems == [
        f"{path}:1: templates: {str(tmp_path / 'nope')!r} is not a directory"
    ]


def test_a_browser_source_without_chromium_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITOR_CHROMIUM", str(tmp_path / "no-chromium"))
    path = write(tmp_path, BROWSER + RULES)
    (warning,) = read_config(path, environ_database=False, parts=check_parts).warnings
    assert warning.startswith(f"{path}:5: warning: sources[0] (own).render: ")
    assert "MONITOR_CHROMIUM" in warning
    assert read_config(path, environ_database=False).warnings == []
