"""A generated archive for the console's benchmark: N releases (default 1,000,000), 500
sources, 20 rules, and every table the pages read (sources, releases, stories, matches,
alerts, revisions, alarms), with a config that names them all.

Half the sources are Arabic, half English (``bench.archive_text``: corpus items and word
chains over the corpus's Arabic release, with the rules' topics put in at set rates). About
12 % of releases are copies of a recent release on another source (one story); a release
is matched by the real matcher with the 20 rules and each first match of a story queues
an alert per channel of its rule (most sent, some failed, dead or pending); 1 % were
revised. Times run evenly over three years up to now. The schema is the project's
(``open_store`` migrates); rows go in with executemany (SQLite, full-text triggers on) or
COPY (PostgreSQL, the full-text index built after). Sources are due in 30 days, so a
daemon on this archive only serves the console. Run from the project root:

    .venv/bin/python -m bench.gen_archive --releases 100000 --out /tmp/arch [--database URL]

``--database`` defaults to ``sqlite:///OUT/archive.db``; a ``postgresql://`` URL names a
database that is made if missing. ``OUT/monitor.yaml`` is the config (console on
``--listen``).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.archive_text import TOPICS, ArabicChain, Text, english_items, with_topic
from bench.archive_write import Rows, create_pg_database, writer_for

SOURCES = 500
BATCH = 20_000
SPAN = timedelta(days=3 * 365)
COPY_SHARE = 0.12
CHANNELS_OF = {0: ["desk-mail", "hook"], 1: ["hook"], 2: ["desk-mail"]}


def config_text(database: str, listen: str) -> str:
    lines = [
        f'database: "{database}"',
        "timezone: Asia/Qatar",
        "defaults:",
        "  interval: 30d",
        "sources:",
    ]
    for n in range(SOURCES):
        language = "ar" if n % 2 == 0 else "en"
        lines += [
            f"  - id: src-{n:03d}",
            f"    name: Ministry {n:03d}",
            f'    url: "http://127.0.0.1:9/feeds/{n:03d}.xml"',
            f"    language: {language}",
        ]
    lines.append("rules:")
    for n, (rule, query, *_rest) in enumerate(TOPICS):
        channels = ", ".join(CHANNELS_OF[n % 3])
        lines += [
            f"  - id: {rule}",
            f"    name: {rule.capitalize()}",
            f"    query: '{query.replace(chr(39), chr(39) * 2)}'",
            f"    channels: [{channels}]",
        ]
    lines += [
        "channels:",
        "  - id: desk-mail",
        "    type: email",
        "    to: [desk@example.org]",
        "    from: monitor@example.org",
        "    smtp: {host: 127.0.0.1, port: 9, tls: none}",
        "  - id: hook",
        "    type: webhook",
        '    url: "http://127.0.0.1:9/hook"',
        "console:",
        f'  listen: "{listen}"',
    ]
    return "\n".join(lines) + "\n"


class Generator:
    """Rows in id order, a batch at a time; the same seed gives the same archive."""

    def __init__(self, total: int, config: object, seed: int = 19, span: timedelta = SPAN) -> None:
        from monitor.rules.matcher import RuleSpec, compile_rules

        self.rng = random.Random(seed)
        self.total = total
        self.span = span
        self.english = english_items()
        self.arabic = ArabicChain(self.rng)
        self.matcher = compile_rules(
            [RuleSpec(r.id, r.display_name, r.query) for r in config.rules],  # type: ignore[attr-defined]
            {},
        )
        self.channels = {r.id: list(r.channels) for r in config.rules}  # type: ignore[attr-defined]
        self.end = datetime.now(UTC) - timedelta(minutes=1)
        self.start = self.end - self.span
        self.recent: dict[str, list[tuple[int, int, Text]]] = {"ar": [], "en": []}
        self.story_seq = self.match_seq = self.revision_seq = 0
        self.alerted: set[tuple[str, int]] = set()

    def batches(self) -> Iterator[Rows]:
        for first in range(1, self.total + 1, BATCH):
            rows = Rows()
            for release_id in range(first, min(first + BATCH, self.total + 1)):
                self._one(release_id, rows)
            yield rows

    def _one(self, release_id: int, rows: Rows) -> None:
        from monitor.model import document_of
        from monitor.parse.prepare import index_words
        from monitor.rules.normalize import index_text

        rng = self.rng
        source = rng.randrange(SOURCES)
        language = "ar" if source % 2 == 0 else "en"
        seen = self.start + self.span * (release_id / self.total) + timedelta(seconds=rng.random())
        recent = self.recent[language]
        if recent and rng.random() < COPY_SHARE:
            _original, story_id, text = rng.choice(recent)
            text = Text(text.title, text.summary)
        else:
            base = self.arabic.text() if language == "ar" else rng.choice(self.english)
            text = with_topic(base, language, rng)
            self.story_seq += 1
            story_id = self.story_seq
            rows.stories.append((story_id, seen, release_id))
            recent.append((release_id, story_id, text))
            if len(recent) > 50:
                recent.pop(0)
        content = text.summary * 2 if rng.random() < 0.2 else ""
        digest = hashlib.sha256(f"{release_id}".encode()).hexdigest()
        source_id = f"src-{source:03d}"
        revised = rng.random() < 0.01
        rows.releases.append(
            (
                release_id,
                source_id,
                f"gen-{release_id}",
                story_id,
                f"https://ministry-{source:03d}.example/news/{release_id}",
                text.title,
                text.summary,
                content,
                language,
                seen - timedelta(minutes=rng.randint(1, 600)),
                digest,
                2 if revised else 1,
                seen,
                seen,
                index_words(index_text(f"{text.title}\n{text.summary}\n{content}")),
                digest,
                True,
            )
        )
        if revised:
            self.revision_seq += 1
            rows.revisions.append(
                (self.revision_seq, release_id, 1, text.title + " (draft)", text.summary, "",
                 "0" * 64, seen)
            )  # fmt: skip
        doc = document_of(source_id, _Texts(text.title, text.summary, content, language))
        for found in self.matcher.match(doc):
            self._matched(found, release_id, story_id, seen, rows)

    def _matched(
        self, found: object, release_id: int, story_id: int, seen: datetime, rows: Rows
    ) -> None:
        hits = found.hits  # type: ignore[attr-defined]
        rule = found.rule_id  # type: ignore[attr-defined]
        self.match_seq += 1
        body = [
            {"field": h.field, "term": h.term, "start": h.start, "end": h.end, "snippet": h.snippet}
            for h in hits[:5]
        ]
        rows.matches.append(
            (self.match_seq, rule, release_id, story_id, json.dumps(body, ensure_ascii=False),
             seen, found.hit_count)
        )  # fmt: skip
        if (rule, story_id) in self.alerted:
            return  # one alert per story, rule and channel
        self.alerted.add((rule, story_id))
        for channel in self.channels[rule]:
            rows.alerts.append(self._alert(rule, story_id, channel, release_id, seen))

    def _alert(
        self, rule: str, story: int, channel: str, release: int, seen: datetime
    ) -> tuple[object, ...]:
        roll = self.rng.random()
        created = seen + timedelta(seconds=2)
        recent = self.end - seen < timedelta(hours=1)
        if recent and roll < 0.5:
            status, attempts, error, due, sent = "pending", 0, None, created, None
        elif roll < 0.03:
            status, attempts, error, due, sent = (
                "failed",
                3,
                "HTTP 503 from the receiver",
                created + timedelta(hours=1),
                None,
            )
        elif roll < 0.05:
            status, attempts, error, due, sent = "dead", 12, "connection refused", None, None
        else:
            status, attempts, error, due, sent = (
                "sent",
                1,
                None,
                None,
                created + timedelta(seconds=1),
            )
        return (uuid.UUID(int=self.rng.getrandbits(128)).hex, rule, story, channel, release,
                self.match_seq, status, attempts, error, created, due, sent)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Texts:
    title: str
    summary: str
    content: str
    language: str
    url: str = ""


def source_rows(end: datetime) -> list[dict[str, object]]:
    rng = random.Random(5)
    out = []
    for n in range(SOURCES):
        failing = n % 37 == 0
        out.append(
            {
                "id": f"src-{n:03d}",
                "status": "failing" if failing else "ok",
                "last_poll_at": end - timedelta(minutes=rng.randint(1, 30)),
                "last_success_at": end
                - timedelta(hours=30 if failing else 0, minutes=rng.randint(1, 30)),
                "next_poll_at": end + timedelta(days=30),
                "last_error": "HTTP 502 from the server" if failing else None,
                "consecutive_failures": 9 if failing else 0,
                "items_seen": rng.randint(1000, 5000),
                "baseline_done": True,
            }
        )
    return out


def alarm_rows(end: datetime) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for n in range(0, SOURCES, 37):
        for k in range(3):
            raised = end - timedelta(days=30 * (k + 1))
            out.append(
                (
                    f"src-{n:03d}",
                    "failing",
                    "HTTP 502 from the server",
                    raised,
                    raised,
                    raised + timedelta(hours=5),
                )
            )
    return out


async def prepare(database: str, out: Path, listen: str) -> object:
    from monitor.config.load import load_config
    from monitor.store.session import open_store
    from monitor.store.sources import sync_sources

    path = out / "monitor.yaml"
    path.write_text(config_text(database, listen), encoding="utf-8")
    config = load_config(path, environ_database=False)
    engine = await open_store(config.database)
    await sync_sources(engine, config)
    await engine.dispose()
    return config


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--releases", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--database")
    parser.add_argument("--listen", default="127.0.0.1:8099")
    # fewer releases over fewer days keep a million's density in a recent window (the
    # workbench's 30-day Test reads ~27,000 releases of 1,000,000 over three years)
    parser.add_argument("--days", type=int, default=SPAN.days, help="the archive's span")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    database = args.database or f"sqlite:///{args.out.resolve()}/archive.db"
    if database.startswith("postgresql"):
        create_pg_database(database)
    started = time.perf_counter()
    config = asyncio.run(prepare(database, args.out, args.listen))
    generator = Generator(args.releases, config, span=timedelta(days=args.days))
    print(
        f"templates ready: {len(generator.english)} English items ({time.perf_counter() - started:.1f} s)"
    )

    with writer_for(database) as writer:
        writer.sources(source_rows(generator.end), alarm_rows(generator.end))
        done = 0
        for rows in generator.batches():
            writer.write(rows)
            done += len(rows.releases)
            if done % 100_000 == 0 or done == args.releases:
                rate = done / (time.perf_counter() - started)
                print(f"{done:>9,} releases  {rate:,.0f}/s", flush=True)
    print(
        f"done in {time.perf_counter() - started:.0f} s: {database}  config {args.out / 'monitor.yaml'}"
    )


if __name__ == "__main__":
    main()
