"""``monitor sources export --opml`` and ``sources import FILE --yaml``, driven as an
operator would: export, import into YAML, and ``monitor check`` accepts the result."""

from __future__ import annotations

import textwrap
from pathlib import Path

import listparser

from tests.e2e.test_cli import monitor, write_config

CONFIG = """
    timezone: Asia/Qatar
    sources:
      - id: mofa-qa-ar
        name: وزارة الخارجية
        url: https://www.mofa.gov.qa/ar/rss
        language: ar
      - id: nato
        name: NATO newsroom
        url: https://www.nato.int/rss.xml
      - id: mofa-list
        url: https://www.mofa.gov.qa/en/latest-news
        type: html
        select: {item: div.news, title: h3, link: "a@href"}
    rules:
      - id: nato
        query: NATO
        channels: [console]
    channels:
      - id: console
        type: log
"""

OTHER_READER = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Watch desk</title></head>
  <body>
    <outline text="Ministries">
      <outline type="rss" text="وزارة الخارجية السعودية" xmlUrl="https://www.mofa.gov.sa/ar/rss.xml"/>
      <outline type="rss" text="NATO newsroom" xmlUrl="https://www.nato.int/rss.xml"/>
      <outline type="rss" text="Élysée" xmlUrl="https://www.elysee.fr/rss"/>
      <outline type="rss" text="Élysée" xmlUrl="https://www.elysee.fr/rss/en"/>
    </outline>
  </body>
</opml>
"""


def test_export_import_round_trip_passes_check(tmp_path: Path) -> None:
    config = write_config(tmp_path, CONFIG)
    exported = monitor("sources", "export", "--opml", config=config)
    assert exported.returncode == 0, exported.stderr
    assert "html source(s) left out" in exported.stderr and "mofa-list" in exported.stderr
    feeds = listparser.parse(exported.stdout).feeds
    assert [f.url for f in feeds] == [
        "https://www.mofa.gov.qa/ar/rss",
        "https://www.nato.int/rss.xml",
    ]

    # a second desk with its own config imports the file
    opml = tmp_path / "desk.opml"
    opml.write_text(exported.stdout, encoding="utf-8")
    other = tmp_path / "other"
    other.mkdir()
    other_config = write_config(other, "channels: [{id: console, type: log}]\n")
    imported = monitor("sources", "import", str(opml), "--yaml", config=other_config)
    assert imported.returncode == 0, imported.stderr
    merged = other / "merged.yaml"
    merged.write_text(imported.stdout + "channels: [{id: console, type: log}]\n", encoding="utf-8")
    checked = monitor("check", config=merged)
    assert checked.returncode == 0, (imported.stdout, checked.stderr)
    assert "ok (2 sources" in checked.stdout


def test_import_skips_what_the_config_has_and_makes_ids_that_check_accepts(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, CONFIG)
    opml = tmp_path / "reader.opml"
    opml.write_text(OTHER_READER, encoding="utf-8")
    result = monitor("sources", "import", str(opml), "--yaml", config=config)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"monitor: note: {opml}: line 7: 'NATO newsroom': already a source; skipped"
    ]
    assert result.stdout == textwrap.dedent(
        """\
        # 3 feeds from reader.opml: add to the config's sources
        sources:
        - id: mofa-gov-sa-ar-rss-xml
          name: وزارة الخارجية السعودية
          url: https://www.mofa.gov.sa/ar/rss.xml
          type: feed
        - id: elysee
          name: Élysée
          url: https://www.elysee.fr/rss
          type: feed
        - id: elysee-2
          name: Élysée
          url: https://www.elysee.fr/rss/en
          type: feed
        """
    )
    # pasted under the config's own sources, the whole file passes check
    lines = config.read_text(encoding="utf-8").splitlines()
    at = lines.index("rules:")
    pasted = [
        "  " + line
        for line in result.stdout.splitlines()
        if line and not line.startswith(("#", "sources:"))
    ]
    whole = tmp_path / "whole.yaml"
    whole.write_text("\n".join(lines[:at] + pasted + lines[at:]) + "\n", encoding="utf-8")
    checked = monitor("check", config=whole)
    assert checked.returncode == 0, checked.stderr
    assert "ok (6 sources" in checked.stdout


def test_a_malformed_opml_file_is_one_error_line_and_exit_2(tmp_path: Path) -> None:
    config = write_config(tmp_path, CONFIG)
    opml = tmp_path / "broken.opml"
    opml.write_text(
        '<?xml version="1.0"?>\n<opml version="2.0">\n<body>\n'
        '<outline text="a" xmlUrl="https://a.example/rss">\n</body>\n</opml>\n',
        encoding="utf-8",
    )
    result = monitor("sources", "import", str(opml), "--yaml", config=config)
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"monitor: {opml}: line 5: not well-formed XML: ")
    missing = monitor("sources", "import", str(tmp_path / "nope.opml"), "--yaml", config=config)
    assert missing.returncode == 2
    assert missing.stderr.splitlines() == [
        f"monitor: {tmp_path / 'nope.opml'}: cannot read: No such file or directory"
    ]


def test_plain_import_says_to_use_yaml_and_health_table_still_works(tmp_path: Path) -> None:
    config = write_config(tmp_path, CONFIG)
    opml = tmp_path / "reader.opml"
    opml.write_text(OTHER_READER, encoding="utf-8")
    result = monitor("sources", "import", str(opml), config=config)
    assert result.returncode == 2
    assert "--yaml" in result.stderr and len(result.stderr.splitlines()) == 1
    env = {"MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}"}
    # without --opml: the console's sources as config YAML (none here)
    no_opml = monitor("sources", "export", config=config, env=env)
    assert no_opml.returncode == 0 and no_opml.stdout.endswith("sources: []\n")
    # `monitor sources` (the health table) is unchanged by its new subcommands
    table = monitor("sources", config=config, env=env)
    assert table.returncode == 0, table.stderr
    assert [line.split()[0] for line in table.stdout.splitlines()[1:]] == [
        "mofa-qa-ar",
        "nato",
        "mofa-list",
    ]
    as_json = monitor("sources", "--json", config=config, env=env)
    assert as_json.returncode == 0 and len(as_json.stdout.splitlines()) == 3
