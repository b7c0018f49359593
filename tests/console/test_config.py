"""The ``console:`` section: what `check` accepts, and one line per problem otherwise."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config.load import load_config
from monitor.errors import ConfigError
from tests.conftest import ROOT

BASE = """
sources: [{id: mofa, url: "https://mofa.example/rss"}]
rules: [{id: nato, query: NATO, channels: [log]}]
channels: [{id: log, type: log}]
"""


def _write(tmp_path: Path, console: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(textwrap.dedent(BASE) + textwrap.dedent(console), encoding="utf-8")
    return path


def test_a_full_console_section_loads(tmp_path: Path) -> None:
    config = load_config(
        _write(
            tmp_path,
            """
            console:
              listen: 0.0.0.0:8443
              public_url: https://monitor.example.org
              auth: proxy
              proxy_header: X-Forwarded-User
              trusted_proxies: [127.0.0.1/32, "::1"]
              session: 8h
            """,
        )
    )
    assert config.console is not None
    assert config.console.session == timedelta(hours=8)
    assert config.console.trusted_proxies == ("127.0.0.1/32", "::1")
    assert load_config(_write(tmp_path, "")).console is None  # off unless configured


@pytest.mark.parametrize(
    ("console", "problem"),
    [
        ("console: {listen: nowhere}", "console.listen: invalid listen address 'nowhere'"),
        ("console: {auth: kerberos}", "console.auth: "),
        ("console: {trusted_proxies: [10.0.0.0/33]}", "console.trusted_proxies: invalid network"),
        ("console: {auth: proxy}", "console: auth: proxy needs trusted_proxies"),
        ("console: {sesion: 1h}", "console.sesion: unknown key; did you mean 'session'?"),
        ("console: {session: soon}", "console.session: invalid duration"),
    ],
)
def test_check_names_each_problem(tmp_path: Path, console: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, console))
    # each line names the file and line first: monitor.yaml:5: console.listen: ...
    where = f"{tmp_path / 'monitor.yaml'}:"
    assert any(
        line.startswith(where) and line.split(": ", 1)[1].startswith(problem)
        for line in caught.value.problems
    ), caught.value.problems
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(tmp_path / "monitor.yaml"), "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and problem in done.stderr


def test_the_shipped_config_serves_the_console_on_loopback() -> None:
    config = load_config(ROOT / "config" / "monitor.yaml")
    assert config.console is not None and config.console.listen == "127.0.0.1:8080"
