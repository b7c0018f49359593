"""The daemon's config read in a child process (``monitor.config_child``): the same config,
the same warnings and the same problem lines as ``read_config``, with the file's parse
never made in this process."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

import monitor.config.load as load_module
from monitor.config.load import read_config
from monitor.config_child import read_config_apart
from monitor.errors import ConfigError
from monitor.part_checks import check_parts

VALID = """
database: ${CHILD_DB:-sqlite:///x.db}
defaults: {interval: 10m}
sources:
  - id: mofa
    url: https://www.mofa.gov.qa/ar/rss
  - {id: moi, url: "https://moi.gov.qa/rss", interval: 5m, name: "وزارة الداخلية"}
rules:
  - id: nato
    query: 'NATO OR الناتو'
    channels: [console]
channels:
  - id: console
    type: log
  - id: unused
    type: log
"""

BROKEN = """
sources:
  - id: mofa
    url: https://www.mofa.gov.qa/ar/rss
    intervall: 5m
  - id: Bad_Id
    url: ftp://x
rules:
  - id: nato
    query: 'NATO AND ('
    channels: [nowhere]
channels:
  - id: console
    type: log
    secret: ${CHILD_UNSET_VARIABLE}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def not_here(*args: object, **kwargs: object) -> None:
    raise AssertionError("the file was read in this process")


def test_a_config_read_apart_is_the_one_read_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHILD_DB", "sqlite:///from-the-environment.db")
    monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)
    path = write(tmp_path, VALID)
    here = read_config(path, parts=check_parts)
    monkeypatch.setattr(load_module, "read_yaml", not_here)  # the child's is its own
    apart = read_config_apart(path, apart_bytes=0)
    assert apart.config == here.config
    assert apart.warnings == here.warnings and apart.warnings  # the unused channel
    assert apart.config.database == "sqlite:///from-the-environment.db"
    moi = apart.config.source("moi")
    assert apart.config.interval_of(moi).total_seconds() == 300
    assert apart.config.source("mofa").display_name == "mofa"


def test_the_database_from_the_environment_wins_in_the_child_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITOR_DATABASE_URL", "postgresql+psycopg://db/monitor")
    apart = read_config_apart(write(tmp_path, VALID), apart_bytes=0)
    assert apart.config.database == "postgresql+psycopg://db/monitor"


@pytest.mark.parametrize(
    "text",
    [
        BROKEN,
        "sources: [\n  {id: a, url: 'https://a.example/'\n",  # a YAML syntax error
        "- just\n- a list\n",
    ],
)
def test_the_problem_lines_are_those_read_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.delenv("CHILD_UNSET_VARIABLE", raising=False)
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as here:
        read_config(path, parts=check_parts)
    with pytest.raises(ConfigError) as apart:
        read_config_apart(path, apart_bytes=0)
    assert apart.value.problems == here.value.problems
    assert len(here.value.problems) >= 1


def test_a_missing_file_and_the_size_cap_say_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError) as missing:
        read_config_apart(tmp_path / "nowhere.yaml", apart_bytes=0)
    assert missing.value.problems == [f"{tmp_path / 'nowhere.yaml'}: no such file"]
    path = write(tmp_path, VALID)
    monkeypatch.setenv("MONITOR_CONFIG_MAX_BYTES", "100")
    with pytest.raises(ConfigError) as here:
        read_config(path, parts=check_parts)
    with pytest.raises(ConfigError) as apart:
        read_config_apart(path, apart_bytes=0)
    assert apart.value.problems == here.value.problems


def test_a_child_that_fails_leaves_the_file_read_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, VALID)
    monkeypatch.setattr(sys, "executable", "/bin/false")
    assert read_config_apart(path, apart_bytes=0).config.source("moi").name == "وزارة الداخلية"
    assert "reading it here" in caplog.text


def test_a_small_file_is_read_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, VALID)
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")  # a child would fail
    assert read_config_apart(path).config.source("mofa").id == "mofa"
    assert "child" not in caplog.text


SELECTED = """
sources:
  - {id: a, url: "https://a.example/", type: html, select: {item: li, title: h3, link: a@href}}
  - {id: b, url: "https://b.example/", type: html, select: {item: li, title: h3, link: a@href}}
  - {id: c, url: "https://c.example/", type: html, select: {item: div, title: h2, link: a@href}}
  - {id: d, url: "https://d.example/", interval: 5m, language: ar}
  - {id: e, url: "https://e.example/", interval: 5m, language: ar}
"""


def test_equal_values_of_the_sources_arrive_as_one_object(tmp_path: Path) -> None:
    path = write(tmp_path, SELECTED)
    config = read_config_apart(path, apart_bytes=0).config
    assert config == read_config(path, parts=check_parts).config
    a, b, c, d, e = (config.source(i) for i in "abcde")
    assert a.select is b.select and a.select is not c.select
    assert a.model_fields_set is b.model_fields_set is c.model_fields_set
    assert d.interval is e.interval and d.language is e.language
    assert d.model_fields_set is e.model_fields_set != a.model_fields_set
    # a copy with a change has its own key set: the one shared is left as it was
    changed = d.model_copy(update={"cron": "0 * * * *"})
    assert "cron" in changed.model_fields_set and "cron" not in e.model_fields_set
    assert config.settings_of(d) is config.settings_of(e)
