"""Fuzz: the config loader, on mutations of real-looking configuration files.

Contract: for any file, ``load_config`` returns a ``Config`` or raises ``ConfigError``
whose problems are each one line; nothing else, within a deadline. (The config will come
from the web console too: it is input like any other.)

Known (issue 22 item 4, another engineer's): YAML aliases are expanded without a budget —
nine nested anchors under 1 KB grew ``monitor check`` to 7 GB. The random search keeps
anchors out (``&`` removed) and ``test_an_alias_bomb_is_refused`` holds a small,
harmless bomb (59,049 strings) that the loader must refuse once aliases have a budget.

Found by this target (NEW; monitor/config is not this branch's): a character YAML does
not accept (NUL, other C0 controls, U+FFFE...) gives a problem of two lines — PyYAML's
``ReaderError`` is not a ``MarkedYAMLError``, so its text (with its ``in "<unicode
string>", position 0`` line) is passed through whole:
``monitor.yaml: unacceptable character #x0000: control characters are not allowed``
then ``  in "<unicode string>", position 0``. Held by
``test_an_unacceptable_character_is_one_line``; passed over by the random search.

And (NEW): a time zone that names one of tzdata's directories (``timezone: Asia``)
escapes as ``IsADirectoryError`` from ``zoneinfo``: ``monitor check`` prints a traceback
instead of "unknown time zone 'Asia'". A source's own ``timezone`` is not checked at all
(``Nowhere/Zone`` passes ``check``; its polls then fail). Held by
``test_a_time_zone_directory_is_an_unknown_zone``; passed over by the random search.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, reject

from monitor.config.load import load_config
from monitor.config.model import Config
from monitor.errors import ConfigError
from tests.fuzz.mutate import TOKENS, mutated, run, seeds

CONFIGS = seeds("config")
YAML_TOKENS = [
    b": ",
    b"- ",
    b"\n  ",
    b"[",
    b"]",
    b"{",
    b"}",
    b"'",
    b'"',
    b"!!python/object",
    b"!!binary",
    b"${UNSET}",
    b"${HOME:-x}",
    b"10m",
    b"0s",
    b"-1",
    b"1e309",
    b"null",
    b"~",
    b"*a",
    b"<<: ",
    b"\t",
    b"---\n",
    b"...\n",
    b"%YAML 1.1\n",
    b"\xef\xbb\xbf",
    b"\x00",
    b"\xff",
]


@run(deadline=5.0)
@given(text=mutated(CONFIGS, YAML_TOKENS + TOKENS))
def test_load_config_returns_a_config_or_config_errors(text: bytes) -> None:
    text = text.replace(b"&", b"")  # no anchors: the known bug above
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "monitor.yaml"
        path.write_bytes(text)
        try:
            config = load_config(path, environ_database=False)
        except IsADirectoryError:
            reject()  # the known time zone bug above
        except ConfigError as exc:
            assert exc.problems
            if any("unacceptable character" in p for p in exc.problems):
                reject()  # the known two-line problem above
            assert all(p and "\n" not in p for p in exc.problems), exc.problems
            return
    assert isinstance(config, Config)


def test_an_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 5):
        previous = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{', '.join([previous] * 9)}]")
    path = tmp_path / "monitor.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(path, environ_database=False)
    assert any("alias" in problem for problem in refused.value.problems)


@pytest.mark.parametrize("bad", [b"\x00", b"\x07", "\ufffe".encode()])
def test_an_unacceptable_character_is_one_line(tmp_path: Path, bad: bytes) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_bytes(CONFIGS[0].replace(b"sources:", b"sources:" + bad, 1))
    with pytest.raises(ConfigError) as refused:
        load_config(path, environ_database=False)
    assert all("\n" not in problem for problem in refused.value.problems)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param(
            b"timezone: Asia/Qatar",
            b"timezone: Asia",
            id="config-tz-directory",
        ),
        pytest.param(
            b"language: ar",
            b"language: ar\n    timezone: Europe",
            id="source-tz-directory",
        ),
        pytest.param(
            b"language: ar",
            b"language: ar\n    timezone: Nowhere/Zone",
            id="source-tz-unknown",
        ),
    ],
)
def test_a_time_zone_directory_is_an_unknown_zone(tmp_path: Path, old: bytes, new: bytes) -> None:
    full = next(c for c in CONFIGS if b"timezone: Asia/Qatar" in c)
    path = tmp_path / "monitor.yaml"
    path.write_bytes(full.replace(old, new, 1))
    with pytest.raises(ConfigError) as refused:
        load_config(path, environ_database=False)
    assert any("time zone" in problem for problem in refused.value.problems)
