"""Documentation that runs: the README's examples of per-source overrides and of
``render: browser`` ("Reaching more ministries") load, pass check and mean what they say."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from monitor.config.load import read_config
from monitor.config.model import Config
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def block_after(heading: str) -> str:
    section = README.split("### Reaching more ministries", 1)[1].split("\n## ", 1)[0]
    part = section.split(heading, 1)[1]
    found = re.search(r"```yaml\n(.*?)```", part, re.S)
    assert found, f"no yaml example after {heading!r}"
    return found.group(1)


def load_sources(tmp_path: Path, sources: str) -> Config:
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"sources:\n{sources}"
        "rules:\n  - {id: nato, query: الناتو, channels: [console]}\n"
        "channels:\n  - {id: console, type: log}\n",
        encoding="utf-8",
    )
    loaded = read_config(config, environ_database=False)
    assert loaded.warnings == []
    return loaded.config


def test_the_overrides_example(tmp_path: Path) -> None:
    config = load_sources(tmp_path, block_after("**Per-source overrides.**"))
    (source,) = config.sources
    settings = config.settings_of(source)
    assert settings.timeout == timedelta(seconds=90)
    assert settings.max_bytes == 20_000_000
    assert settings.user_agent == config.defaults.user_agent


def test_the_render_example(tmp_path: Path) -> None:
    config = load_sources(tmp_path, block_after("**Pages built by JavaScript.**"))
    (source,) = config.sources
    assert source.render == "browser" and source.type == "html"
    assert config.settings_of(source).timeout == timedelta(seconds=60)
