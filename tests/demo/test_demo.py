"""`monitor demo` end to end, and its samples: shipped rules, invented texts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from monitor.demo.site import load_samples, read_sample
from monitor.rules.normalize import words
from tests.conftest import CORPUS, ROOT, require_corpus

COMMAND = [sys.executable, "-m", "monitor", "demo"]
ALERT_LINE = re.compile(r"^\[(?P<rule>[a-z0-9-]+)\] (?P<name>[^:]+): (?P<title>.+)$")
STATEMENT_AR = "وزير الخارجية يجتمع مع الأمين العام لحلف شمال الأطلسي (الناتو)"
STATEMENT_EN = "Foreign Minister meets NATO Secretary General"
WORKSHOP = "Ministry hosts regional workshop on combating terrorism financing"


def test_demo_end_to_end(tmp_path: Path) -> None:
    # from an empty directory, with a database URL in the environment the demo must ignore
    env = {**os.environ, "MONITOR_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/x"}
    env.pop("MONITOR_CONFIG", None)
    done = subprocess.run(
        COMMAND, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing left behind
    assert "baseline: 6 releases stored, 0 alerts" in done.stderr
    alerts = [m.groupdict() for m in map(ALERT_LINE.match, done.stdout.splitlines()) if m]
    assert sorted((a["rule"], a["title"]) for a in alerts) == sorted(
        [
            ("nato", STATEMENT_AR),
            ("cyber", STATEMENT_AR),
            ("nato", STATEMENT_EN),
            ("cyber", STATEMENT_EN),
            ("counter-terrorism", WORKSHOP),
        ]
    )
    # the agency's copy folded into the ministry's story: a copy line, never an alert
    blocks = done.stdout.split("\n\n")
    arabic = [b for b in blocks if STATEMENT_AR in b]
    assert len(arabic) == 2
    for block in arabic:
        assert "copy:   National News Agency (Arabic)" in block
        assert "terms:" in block and "«" in block
    assert "عاجل" not in done.stdout
    assert "5 alerts on 3 stories would be sent" in done.stderr
    # nothing is sent, and nothing says so; the deleted directory is never named
    assert "alerts: " not in done.stderr and " sent," not in done.stderr
    assert "monitor-demo-" not in done.stderr + done.stdout
    progress = done.stderr.splitlines()
    assert len(progress) == len(set(progress)), progress  # no line twice


def test_bundled_rules_are_the_shipped_ones() -> None:
    shipped = yaml.safe_load((ROOT / "config" / "monitor.yaml").read_text(encoding="utf-8"))
    bundled = yaml.safe_load(read_sample("rules.yaml"))
    assert bundled == {"rules": shipped["rules"], "concepts": shipped["concepts"]}


def test_samples_are_invented_not_copied_from_the_corpus() -> None:
    require_corpus()  # without it the loop below would check nothing

    # a shared formula ("the Secretary General of NATO") is fine; a shared sentence is not
    def shingles(text: str) -> set[tuple[str, ...]]:
        found = words(text)
        return {tuple(found[i : i + 8]) for i in range(len(found) - 7)}

    _, releases = load_samples()
    ours = set().union(*(shingles(r.body) for r in releases))
    for path in CORPUS.rglob("*.txt"):
        shared = ours & shingles(path.read_text(encoding="utf-8", errors="replace"))
        assert not shared, f"{path.name} shares {sorted(shared)[:3]}"


def test_the_agency_copy_is_a_copy_and_the_statement_is_long_enough() -> None:
    from monitor.stories import is_copy, shingles

    _, releases = load_samples()
    by_slug = {(r.source, r.slug): r for r in releases}
    statement = by_slug[("mofa-ar", "fm-nato-sg")]
    copy = by_slug[("agency-ar", "qna-fm-nato")]
    assert len(statement.body.split()) >= 150
    assert copy.title != statement.title and copy.dateline
    assert is_copy(shingles(statement.body), shingles(copy.dateline + copy.body))
