"""Documentation that runs: every example query in the README parses with the shipped
concepts, and the README's quick start names the scripts that exist."""

from __future__ import annotations

import re

import pytest

from monitor.config.load import load_config
from monitor.rules.query import parse, to_string
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def example_queries() -> list[str]:
    section = README.split("## The rule language", 1)[1]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block is not None
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


@pytest.mark.parametrize("query", example_queries())
def test_readme_queries_parse(query: str) -> None:
    concepts = {
        k: list(v) for k, v in load_config(ROOT / "config" / "monitor.yaml").concepts.items()
    }
    tree = parse(query, concepts)
    assert parse(to_string(tree), concepts) == tree


def test_quick_start_scripts_exist() -> None:
    quick = README.split("## Quick start", 1)[1].split("##", 1)[0]
    scripts = re.findall(r"^\./(\S+)", quick, re.M)
    assert scripts == ["scripts/run", "scripts/test"]
    for script in scripts:
        assert (ROOT / script).stat().st_mode & 0o111, f"{script} is not executable"
