"""Config loading: every broken config gives one precise line per problem."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config.load import load_config, read_config
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
    """The lines ``check`` would print, with the file's directory left out."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [line.replace(str(path), "monitor.yaml") for line in caught.value.problems]


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


# BASE's lines: 2 sources, 3 - id: mofa, 4 url, 5 rules, 6 - id: nato, 7 query, 8 channels,
# 9 channels, 10 - id: console, 11 type.
@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        (
            BASE.replace("    url:", "    intervall: 10m\n    url:"),
            "monitor.yaml:4: sources[0] (mofa).intervall: unknown key; did you mean 'interval'?",
        ),
        (
            BASE.replace("https://www.mofa.gov.qa/ar/rss", "ftp://x"),
            "monitor.yaml:4: sources[0] (mofa).url: invalid URL 'ftp://x': must be an absolute http:// or https:// URL",
        ),
        (
            BASE.replace("    url:", "    interval: 10 minutes\n    url:"),
            "monitor.yaml:4: sources[0] (mofa).interval: invalid duration '10 minutes': use a number and a unit, e.g. 30s, 10m, 2h, 1d",
        ),
        (
            BASE.replace("    url:", "    cron: '*/10 7-20 * *'\n    url:"),
            "monitor.yaml:4: sources[0] (mofa).cron: cron expression '*/10 7-20 * *' needs 5 fields (minute hour day-of-month month day-of-week)",
        ),
        (
            BASE.replace("    url:", "    cron: '0 25 * * *'\n    url:"),
            "monitor.yaml:4: sources[0] (mofa).cron: hour '25' is not in 0-23",
        ),
        (
            BASE.replace("channels: [console]", "channels: [consle]"),
            "monitor.yaml:8: rules[0] (nato).channels[0]: unknown channel 'consle'; did you mean 'console'?",
        ),
        (
            BASE.replace("channels: [console]", "channels: [pager]"),
            "monitor.yaml:8: rules[0] (nato).channels[0]: unknown channel 'pager'",
        ),
        (
            BASE.replace("channels: [console]", "channels: [console]\n    sources: [mofaa]"),
            "monitor.yaml:9: rules[0] (nato).sources[0]: unknown source 'mofaa'; did you mean 'mofa'?",
        ),
        (
            BASE.replace("id: mofa", "id: Mofa_1"),
            "monitor.yaml:3: sources[0] (Mofa_1).id: 'Mofa_1' is not a valid id: use lower-case letters, digits and '-'",
        ),
        (
            BASE.replace("type: log", "type: pager"),
            "monitor.yaml:10: channels[0] (console): unknown channel type 'pager': use email, webhook, apprise or log",
        ),
        (
            BASE.replace("type: log", "type: slack"),
            "monitor.yaml:10: channels[0] (console): unknown channel type 'slack': use type: webhook with format: slack",
        ),
        (
            BASE.replace("    type: log", ""),
            "monitor.yaml:10: channels[0] (console): missing required key 'type' (email, webhook, apprise or log)",
        ),
        (
            BASE + "timezone: Mars/Olympus\n",
            "monitor.yaml:12: timezone: unknown time zone 'Mars/Olympus': use a name such as Asia/Qatar",
        ),
        (
            BASE + "timezone: Asia/Qatr\n",
            "monitor.yaml:12: timezone: unknown time zone 'Asia/Qatr'; did you mean 'Asia/Qatar'?",
        ),
        (
            BASE.replace("    url:", "    timezone: Europe/Lodnon\n    url:"),
            "monitor.yaml:4: sources[0] (mofa).timezone: unknown time zone 'Europe/Lodnon'; did you mean 'Europe/London'?",
        ),
        (
            BASE.replace("    url:", "    language: arabic\n    url:"),
            "monitor.yaml:4: sources[0] (mofa).language: 'arabic' is not a language code: use a BCP 47 code such as ar, en, en-GB or zh-Hant",
        ),
        (
            BASE.replace("channels: [console]", "channels: [console]\n    languages: [en, ar_QA]"),
            "monitor.yaml:9: rules[0] (nato).languages[1]: 'ar_QA' is not a language code: use a BCP 47 code such as ar, en, en-GB or zh-Hant",
        ),
        (
            BASE.replace("channels: [console]", "channels: []"),
            "monitor.yaml:8: rules[0] (nato).channels: needs at least 1 entry",
        ),
        (
            BASE.replace("channels: [console]", "channels: console"),
            "monitor.yaml:8: rules[0] (nato).channels: expected a list of channel ids: write [console]",
        ),
        (
            BASE.replace("    query: 'NATO OR الناتو'\n", ""),
            "monitor.yaml:6: rules[0] (nato).query: missing required key",
        ),
        (
            BASE.replace("'NATO OR الناتو'", "'NATO or الناتو'"),
            "monitor.yaml:7: rules[0] (nato).query: 'or' at column 6 is lower-case: write OR, or quote it (\"or\") to search for the word",
        ),
        (
            BASE.replace("'NATO OR الناتو'", "'(NATO OR الناتو'"),
            "monitor.yaml:7: rules[0] (nato).query: unbalanced parenthesis: expected ')' at column 16",
        ),
        (
            BASE.replace("'NATO OR الناتو'", "'@natto'") + "concepts:\n  nato: [NATO]\n",
            "monitor.yaml:7: rules[0] (nato).query: unknown concept @natto; did you mean @nato? at column 1",
        ),
        (
            BASE.replace("'NATO OR الناتو'", "'" + "(" * 5000 + "a" + ")" * 5000 + "'"),
            "monitor.yaml:7: rules[0] (nato).query: nests too deeply (at most 50 levels) at column 51",
        ),
        (BASE + "unknown_top: 1\n", "monitor.yaml:12: unknown_top: unknown key"),
        (
            BASE + "rules: {}\n",
            "monitor.yaml:12: rules: expected a list of rules (each item starts with '- id: …')",
        ),
        (
            BASE + "defaults: {max_connections_per_host: 0}\n",
            "monitor.yaml:12: defaults.max_connections_per_host: must be at least 1, got 0",
        ),
        (
            BASE + "defaults: {max_connections_per_host: many}\n",
            "monitor.yaml:12: defaults.max_connections_per_host: expected a whole number, got text 'many'",
        ),
        (
            BASE + "defaults: 15m\n",
            "monitor.yaml:12: defaults: expected keys and values (key: value on lines of their own), got text '15m'",
        ),
        (
            BASE.replace("    url:", "    full_text: maybe\n    url:"),
            "monitor.yaml:4: sources[0] (mofa).full_text: expected true or false, got text 'maybe'",
        ),
        (
            BASE.replace("    url:", "    type: rss\n    url:"),
            "monitor.yaml:4: sources[0] (mofa).type: unknown value 'rss': use feed or html",
        ),
        (
            BASE.replace("    url:", "    name: [a, b]\n    url:"),
            "monitor.yaml:4: sources[0] (mofa).name: expected text, got a list",
        ),
        (
            BASE.replace(
                "    type: log",
                "    type: webhook\n    url: https://hooks.example.org/x\n    secret: nope",
            ),
            "monitor.yaml:13: channels[0] (console).secret: webhook secret must start with 'whsec_'",
        ),
        (
            BASE.replace(
                "    type: log",
                "    type: webhook\n    url: https://hooks.example.org/x\n    timout: 5s",
            ),
            "monitor.yaml:13: channels[0] (console).timout: unknown key; did you mean 'timeout'?",
        ),
    ],
)
def test_one_line_per_problem(tmp_path: Path, snippet: str, expected: str) -> None:
    assert expected in problems(tmp_path, snippet)


EMAIL = (
    BASE.replace("channels: [console]", "channels: [ops]")
    + """\
  - id: ops
    type: email
    to: {to}
    from: {sender}
    smtp: {{host: localhost, tls: nonne}}
"""
)


@pytest.mark.parametrize(
    ("to", "sender", "expected"),
    [
        (
            "ops@example.org",
            "monitor@example.org",
            "monitor.yaml:14: channels[1] (ops).to: expected a list of addresses: write [ops@example.org]",
        ),
        (
            "[ops at example.org]",
            "monitor@example.org",
            "monitor.yaml:14: channels[1] (ops).to[0]: 'ops at example.org' is not an email address: write name@domain",
        ),
        (
            "['a@example.org, b@example.org']",
            "monitor@example.org",
            "monitor.yaml:14: channels[1] (ops).to[0]: 'a@example.org, b@example.org': one address per entry, e.g. [a@example.org, b@example.org]",
        ),
        (
            "['ops@example..org']",
            "monitor@example.org",
            "monitor.yaml:14: channels[1] (ops).to[0]: 'ops@example..org' is not an email address: an email address cannot have two periods in a row",
        ),
        (
            "[ops@example.org]",
            "monitor@",
            "monitor.yaml:15: channels[1] (ops).from: 'monitor@' is not an email address: write name@domain",
        ),
        (
            "[ops@example.org]",
            "monitor@example.org",
            "monitor.yaml:16: channels[1] (ops).smtp.tls: unknown value 'nonne': use none, starttls or ssl",
        ),
    ],
)
def test_email_channel_problems(tmp_path: Path, to: str, sender: str, expected: str) -> None:
    assert expected in problems(tmp_path, EMAIL.format(to=to, sender=sender))


def test_display_names_and_language_shapes_are_accepted(tmp_path: Path) -> None:
    text = EMAIL.format(
        to="[ops@example.org, 'Desk <desk@example.org>']", sender="Monitor <m@example.org>"
    )
    text = text.replace("tls: nonne", "tls: none").replace(
        "    url:", "    language: zh-Hant\n    timezone: Asia/Qatar\n    url:"
    )
    config = load_config(write(tmp_path, text))
    assert config.source("mofa").language == "zh-Hant"


@pytest.mark.parametrize("address", ["ops@corp.local", "ops@localhost", "desk@mail.gov.qa"])
def test_intranet_addresses_are_accepted(tmp_path: Path, address: str) -> None:
    # a ministry's own relay often serves a .local or single-label domain
    text = EMAIL.format(to=f"[{address}]", sender=address).replace("tls: nonne", "tls: none")
    config = load_config(write(tmp_path, text))
    assert config.channel("ops").sender == address


def test_a_channel_no_rule_uses_is_a_warning(tmp_path: Path) -> None:
    text = (
        BASE
        + "  - id: spare\n    type: log\n  - id: alarms\n    type: log\nalarm_channels: [alarms]\n"
    )
    loaded = read_config(write(tmp_path, text))
    assert [w.replace(str(tmp_path / "monitor.yaml"), "monitor.yaml") for w in loaded.warnings] == [
        "monitor.yaml:12: warning: channels[1] (spare): no rule sends to this channel and it is "
        "not in alarm_channels: it will never send anything"
    ]
    # beside an error, the warning is listed after it
    found = problems(
        tmp_path, text.replace("type: log\n  - id: alarms", "type: logg\n  - id: alarms")
    )
    assert found[-1].startswith("monitor.yaml:12: warning: channels[1] (spare)")


def test_a_key_written_twice_is_an_error(tmp_path: Path) -> None:
    text = BASE.replace("    url:", "    interval: 5m\n    interval: 10m\n    url:")
    assert (
        "monitor.yaml:5: sources[0] (mofa).interval: written twice in one mapping: keep one"
        in problems(tmp_path, text)
    )


def test_duplicate_ids(tmp_path: Path) -> None:
    text = BASE.replace(
        "channels:\n  - id: console\n    type: log",
        "channels:\n  - id: console\n    type: log\n  - id: console\n    type: log",
    )
    assert "monitor.yaml:12: channels[1] (console).id: duplicate id 'console'" in problems(
        tmp_path, text
    )


def test_every_problem_is_listed(tmp_path: Path) -> None:
    text = BASE.replace("    url:", "    intervall: 10m\n    url:").replace(
        "channels: [console]", "channels: [pager]"
    )
    found = problems(tmp_path, text)
    assert (
        "monitor.yaml:4: sources[0] (mofa).intervall: unknown key; did you mean 'interval'?"
        in found
    )
    assert "monitor.yaml:9: rules[0] (nato).channels[0]: unknown channel 'pager'" in found


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
    assert (
        "monitor.yaml:14: channels[1] (hook).url: environment variable UNSET_SECRET is not set"
        in problems(tmp_path, broken)
    )


def test_database_url_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_DATABASE_URL", "postgresql+psycopg://u@db/monitor")
    assert load_config(write(tmp_path, BASE)).database == "postgresql+psycopg://u@db/monitor"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "absent.yaml")
    assert caught.value.problems == [f"{tmp_path / 'absent.yaml'}: no such file"]


FULL = ROOT / "config" / "examples" / "email-webhook.yaml"


def _places(node: object, loc: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [loc] if loc else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _places(value, (*loc, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _places(value, (*loc, index))
    return found


def _replaced(node: object, loc: tuple[object, ...], value: object) -> object:
    if not loc:
        return value
    head, rest = loc[0], loc[1:]
    if isinstance(node, dict):
        return {k: _replaced(v, rest, value) if k == head else v for k, v in node.items()}
    assert isinstance(node, list)
    return [_replaced(v, rest, value) if i == head else v for i, v in enumerate(node)]


def test_no_validator_text_reaches_the_operator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every place of a full config, given each wrong kind of value: plain words, one line,
    # the place named — whatever field the model has (keys added later included)
    import yaml

    for name in ("SMTP_USER", "SMTP_PASSWORD", "WEBHOOK_SECRET", "SMTP_HOST"):
        monkeypatch.setenv(name, "x")
    raw = yaml.safe_load(FULL.read_text(encoding="utf-8"))
    for loc in _places(raw):
        for wrong in (None, [], {}, "x y", 1.5, True, -1):
            text = yaml.safe_dump(_replaced(raw, loc, wrong), allow_unicode=True)
            path = write(tmp_path, text)
            try:
                load_config(path)
            except ConfigError as exc:
                for line in exc.problems:
                    assert line.startswith(f"{path}:"), line
                    assert "Input should" not in line and "Value error" not in line, line
                    assert "\n" not in line


WHITESPACE = [chr(i) for i in range(0x110000) if chr(i).isspace()]


@pytest.mark.parametrize(
    ("url", "valid"),
    [
        ("http://a", True),
        ("https://127.0.0.1:9/s/1.xml?q=1#x", True),
        ("http://a\u200bb/", True),  # a zero-width space is not whitespace
        ("http://", False),
        ("http:///path", False),
        ("HTTP://a", False),
        ("ftp://a", False),
        (" http://a", False),
        *((f"http://a{c}b/", False) for c in WHITESPACE),
        *((f"http://a/b{c}", False) for c in WHITESPACE),
    ],
)
def test_a_source_url_is_absolute_http_without_whitespace(url: str, valid: bool) -> None:
    """Whitespace is what ``str.isspace`` says, anywhere in the URL, a trailing newline too."""
    from monitor.config.model import _http_url

    if valid:
        assert _http_url(url) == url
    else:
        with pytest.raises(ValueError, match="absolute http"):
            _http_url(url)
