"""Documentation that runs: the README's "Reaching more ministries" examples load and pass
the config's checks (the listing source with Hijri dates, the Apprise channel, the egress
proxy)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from monitor.config.load import read_config
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def section_blocks() -> list[str]:
    section = README.split("### Reaching more ministries", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```yaml\n(.*?)```", section, re.S)


def test_the_examples_pass_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TG_TOKEN", "123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ")
    monkeypatch.setenv("TG_CHAT", "-100123")
    monkeypatch.setenv("NTFY_TOPIC", "desk-alerts")
    source, imported, channel, *_ = section_blocks()
    config = tmp_path / "monitor.yaml"
    # the source and channel blocks are written to sit under sources: and channels:
    listed = imported.split("sources:\n", 1)[1]
    config.write_text(
        f"sources:\n{source}{textwrap.indent(listed, '  ')}"
        "rules:\n  - {id: nato, query: الناتو, channels: [desk-chat]}\n"
        f"channels:\n{channel}",
        encoding="utf-8",
    )
    loaded = read_config(config)
    assert [s.id for s in loaded.config.sources] == [
        "mofa-sa-news",
        "mofa-gov-sa-ar-rss-xml",
        "elysee",
    ]
    (desk,) = loaded.config.channels
    assert desk.type == "apprise" and len(desk.urls) == 2


def test_the_proxy_example_routes_as_it_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in (
        ("PROXY_USER", "desk"),
        ("PROXY_PASSWORD", "pw"),
        ("SOCKS_USER", "desk"),
        ("SOCKS_PASSWORD", "pw2"),
    ):
        monkeypatch.setenv(name, value)
    example = next(b for b in section_blocks() if b.startswith("defaults:\n  proxy:"))
    config_path = tmp_path / "monitor.yaml"
    config_path.write_text(
        example + "rules:\n  - {id: nato, query: NATO, channels: [desk-mattermost]}\n",
        encoding="utf-8",
    )
    loaded = read_config(config_path)
    assert loaded.warnings == []
    config = loaded.config
    routes = {
        item.id: config.egress_of(item).proxy_for(item.url)
        for item in (*config.sources, *config.channels)
        if item.type in ("feed", "webhook")
    }
    assert routes == {
        "mofa-qa": "http://desk:pw@proxy.internal:3128",
        "moi-bulletin": None,
        "agency-mirror": "socks5://desk:pw2@socks.internal:1080",
        "desk-mattermost": None,
    }
