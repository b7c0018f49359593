"""The config file is input too: aliases, size and nesting are bounded, with the line."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config.load import load_config
from monitor.config.yamlfile import MAX_FILE_BYTES, read_yaml
from monitor.errors import ConfigError
from tests.config.test_load import BASE

ROOT = Path(__file__).resolve().parents[2]

# nine nested anchors of nine aliases each: 387 million values, under 1 KB
BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    # a regression must fail this test, not take the machine down
    limit = 1024 * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_an_alias_bomb_is_refused_quickly_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(BASE + BOMB + "\n", encoding="utf-8")
    assert path.stat().st_size < 1024
    env = {
        k: v for k, v in os.environ.items() if k not in ("MONITOR_CONFIG", "MONITOR_DATABASE_URL")
    }
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(path), "check"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
        preexec_fn=_limit_memory,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"{path}:16: aliases expand to more than 10,000 values: "
        "write the values out instead of nesting aliases"
    ]


def test_honest_aliases_and_merges_still_work(tmp_path: Path) -> None:
    text = BASE.replace("channels: [console]", "channels: [console, ops, desk]") + (
        "  - &mail\n"
        "    id: ops\n"
        "    type: email\n"
        "    to: [ops@example.org]\n"
        "    from: monitor@example.org\n"
        "    smtp: &relay {host: mail.example.org, port: 25, tls: none}\n"
        "  - <<: *mail\n"
        "    id: desk\n"
        "    to: [desk@example.org]\n"
        "    smtp: *relay\n"
    )
    path = tmp_path / "monitor.yaml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    desk = config.channel("desk")
    assert desk.to == ("desk@example.org",)  # type: ignore[union-attr]
    assert desk.smtp.host == "mail.example.org"  # type: ignore[union-attr]
    assert desk.sender == "monitor@example.org"  # type: ignore[union-attr]


def test_an_alias_problem_points_at_the_alias(tmp_path: Path) -> None:
    text = BASE + "defaults: &d {interval: 15m}\nretention: *d\n"
    path = tmp_path / "monitor.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"{path}:13: retention.interval: unknown key" in caught.value.problems


def test_a_file_over_1_mb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(BASE + "#" * MAX_FILE_BYTES + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_yaml(path)
    size = path.stat().st_size
    assert caught.value.problems == [
        f"{path}: {size:,} bytes; a configuration file is at most 1,000,000 "
        "(set MONITOR_CONFIG_MAX_BYTES to allow a larger one)"
    ]


def test_the_operator_raises_the_cap_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(BASE + "#" * MAX_FILE_BYTES + "\n", encoding="utf-8")
    monkeypatch.setenv("MONITOR_CONFIG_MAX_BYTES", str(2 * MAX_FILE_BYTES))
    assert read_yaml(path).data["sources"]  # read whole, comments and all
    monkeypatch.setenv("MONITOR_CONFIG_MAX_BYTES", "2MB")
    with pytest.raises(ConfigError) as caught:
        read_yaml(path)
    assert caught.value.problems == [
        "MONITOR_CONFIG_MAX_BYTES: '2MB' is not a number of bytes (e.g. 10000000)"
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: " + "[" * 60 + "]" * 60 + "\n", 1),  # libyaml allows 1,000 levels
        ("x: 1\nr: &r [1, *r]\n", 2),  # an alias that holds itself
    ],
)
def test_nesting_is_bounded(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_yaml(path)
    assert caught.value.problems == [f"{path}:{line}: nests more than 50 levels deep"]


def test_keys_keep_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(BASE, encoding="utf-8")
    found = read_yaml(path)
    assert found.line_of(("rules", 0, "query")) == 7
    assert found.line_of(("channels", 0, "to")) == 10  # missing: its item's line
    assert found.line_of(("nowhere",)) is None
