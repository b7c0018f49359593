"""A digest of everything ``prepare()`` gives for the corpus's feeds and the hostile bodies,
one line per input and source language: to show a speed change left the answers alone.

Run it with two versions of ``monitor/`` and compare the outputs (``diff``): every
release (all its fields), its index text and story bands, the rules it meets with their
hits as the store's JSON, the items dropped and the warnings. The hostile bodies are
generated once into ``--bodies`` (their dates are the time of generation) and read from
there by both runs. Each input is prepared without a source language (the identifier
decides) and with ``en`` declared (the contradiction check), with the hostile bench's two
rules. To run another checkout's ``monitor/`` (``git archive main monitor | tar -x -C
DIR``), start it from that directory with this checkout on ``PYTHONPATH``:

    cd DIR && PYTHONPATH=/path/to/checkout python -m bench.prepare_digest --bodies B > main.txt
    .venv/bin/python -m bench.prepare_digest --bodies B > branch.txt && diff main.txt branch.txt
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
RULES = (
    ("nato", 'NATO OR OTAN OR الناتو OR "حلف شمال الأطلسي"'),
    ("cyber", 'cyber* OR "الأمن السيبراني" OR "الدفاع السيبراني" OR "الدفاع الإلكتروني"'),
)


def _inputs(bodies: Path) -> list[Path]:
    from bench.bench_hostile import SCENARIOS

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.conftest import corpus_index

    bodies.mkdir(parents=True, exist_ok=True)
    for name, make in SCENARIOS.items():
        if not (bodies / f"{name}.xml").exists():
            (bodies / f"{name}.xml").write_bytes(make())
    feeds = [f.path for f in corpus_index() if "expected" not in f.category]
    return sorted(feeds) + sorted(bodies.glob("*.xml"))


def _digest(prepared: Any) -> tuple[int, str]:
    digest = hashlib.sha256()
    count = 0
    for chunk in prepared.records():
        for record in chunk:
            count += 1
            hits = record.hits and [(m.rule_id, m.hits_json, m.hit_count) for m in record.hits]
            digest.update(repr((record.release, record.search_text, record.bands, hits)).encode())
    digest.update(repr((prepared.kind, prepared.entries, prepared.skipped)).encode())
    digest.update(repr((prepared.warnings, prepared.dropped)).encode())
    return count, digest.hexdigest()[:16]


def main() -> None:
    from monitor.errors import ParseError
    from monitor.parse.prepare import Recipe, prepare
    from monitor.rules.matcher import RuleSpec, compile_rules

    parser = argparse.ArgumentParser()
    parser.add_argument("--bodies", type=Path, required=True, help="the hostile bodies' folder")
    args = parser.parse_args()
    matcher = compile_rules([RuleSpec(i, i, query) for i, query in RULES], {})
    for path in _inputs(args.bodies):
        body = path.read_bytes()
        for language in (None, "en"):
            recipe = Recipe("feed", "digest", "auto", language, "UTC")
            try:
                url = "https://ministry.example/feed"
                prepared = prepare(body, {}, url, recipe, NOW, ("k", matcher))
                count, digest = _digest(prepared)
            except ParseError as exc:
                count, digest = 0, f"ParseError {exc}"
            print(f"{path.parent.name}/{path.name}\t{language}\t{count}\t{digest}", flush=True)


if __name__ == "__main__":
    main()
