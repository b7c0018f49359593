"""``monitor demo``: the whole pipeline on bundled samples, offline, in seconds.

1. The sample ministries (``monitor.demo.site``) are served on loopback.
2. A config is written to a temporary directory: a new SQLite database, the rules and
   concepts monitor ships (``samples/rules.yaml``, kept equal to ``config/monitor.yaml``)
   and their ``console`` channel, of type log.
3. A baseline poll stores what is online; nothing alerts (it is older than the backfill).
4. New releases appear; a second poll stores, matches and queues alerts, through the same
   code path as ``monitor poll`` — and sends nothing: the alerts stay queued.
5. The alerts that would be sent are printed on stdout — rule, title, source, the story's
   copies and the matched terms highlighted — one per rule and story: the agency's copy of
   the Arabic statement joins the ministry's story instead of alerting again. Progress
   goes to stderr; the temporary directory is never named (it is gone when the demo ends).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from monitor.config.model import Config
from monitor.demo.site import LISTING_SELECT, SampleSite, read_sample
from monitor.model import Hit
from monitor.store.tables import now


@dataclass(frozen=True, slots=True)
class ShownAlert:
    rule: str
    rule_name: str
    story: int
    title: str
    source: str
    url: str
    copies: tuple[tuple[str, str], ...]  # (source name, url)
    hits: tuple[Hit, ...]


def demo_config(site: SampleSite, directory: Path) -> Config:
    """The demo's config, written to ``directory`` and loaded the way every command does."""
    from monitor.config.load import load_config

    shipped: dict[str, Any] = yaml.safe_load(read_sample("rules.yaml"))
    raw = {
        "database": f"sqlite:///{directory / 'demo.db'}",
        "timezone": "UTC",
        "defaults": {"interval": "15m", "backfill": "1d", "timeout": "10s"},
        "sources": [
            {
                "id": s.id,
                "name": s.name,
                "url": site.url(s),
                "type": s.type,
                "language": s.language,
                **({"select": LISTING_SELECT} if s.type == "html" else {}),
            }
            for s in site.sources
        ],
        "rules": shipped["rules"],
        "concepts": shipped["concepts"],
        "channels": [{"id": "console", "type": "log"}],
    }
    path = directory / "monitor.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_config(path, environ_database=False)


async def read_alerts(config: Config) -> list[ShownAlert]:
    """Every alert queued, with what it would say (as the delivery worker loads it)."""
    from monitor.store.outbox import load_claimed
    from monitor.store.queries import list_alerts
    from monitor.store.session import open_store

    names = {s.id: s.display_name for s in config.sources}
    engine = await open_store(config.database)
    try:
        return [
            ShownAlert(
                rule=item.alert.rule_id,
                rule_name=config.rule(item.alert.rule_id).display_name,
                story=item.alert.story_id,
                title=item.release.title,
                source=names.get(item.release.source_id, item.release.source_id),
                url=item.release.url or "",
                copies=tuple((names.get(s, s), u) for s, u in item.copies),
                hits=item.hits,
            )
            for item in await load_claimed(engine, await list_alerts(engine))
        ]
    finally:
        await engine.dispose()


def highlight(snippet: str, term: str, colour: bool) -> str:
    """The snippet with ``term`` marked: bold on a terminal, «term» otherwise."""
    start = snippet.find(term)
    if start < 0:
        return snippet
    end = start + len(term)
    mark = ("\033[1;33m", "\033[0m") if colour else ("«", "»")
    return f"{snippet[:start]}{mark[0]}{term}{mark[1]}{snippet[end:]}"


def render(alerts: Sequence[ShownAlert], colour: bool) -> str:
    """The alerts as an operator would read them, grouped by story."""
    from monitor.notify.render import flatten

    lines: list[str] = []
    for alert in sorted(alerts, key=lambda a: (a.story, a.rule)):
        lines.append(f"[{alert.rule}] {alert.rule_name}: {flatten(alert.title)}")
        lines.append(f"    source: {alert.source} <{alert.url}>")
        for name, url in alert.copies:
            lines.append(f"    copy:   {name} <{url}>")
        terms = ", ".join(dict.fromkeys(f"{h.term} ({h.field})" for h in alert.hits))
        lines.append(f"    terms:  {terms}")
        if alert.hits:
            first = alert.hits[0]
            lines.append(f"    {highlight(flatten(first.snippet), first.term, colour)}")
        lines.append("")
    return "\n".join(lines)


async def run_demo(out: TextIO, err: TextIO) -> int:
    """The demo; returns the exit code (1 if a sample source could not be polled)."""
    from monitor.poll_driver import poll_once

    def progress(message: str) -> None:
        err.write(f"demo: {message}\n")
        err.flush()

    with tempfile.TemporaryDirectory(prefix="monitor-demo-") as tmp, SampleSite(now()) as site:
        progress(f"serving {len(site.sources)} sample sources on {site.base}")
        config = demo_config(site, Path(tmp))
        ids = [s.id for s in config.sources]
        progress(f"rules: {', '.join(r.id for r in config.rules)}")
        progress(f"baseline poll of {len(site.online())} releases already online...")
        outcomes = (await poll_once(config, ids, False, None, deliver=False)).outcomes
        baseline = len(await read_alerts(config))
        progress(
            f"baseline: {sum(o.new for o in outcomes)} releases stored, {baseline} alerts "
            f"(releases older than the {config.defaults.backfill.days}d backfill never alert)"
        )
        fresh = site.publish_new()
        progress(f"the ministries publish {len(fresh)} new releases; polling again...")
        # the ministries first, then the news agency that republishes them: as in life, the
        # original is seen first and the agency's copy joins its story
        first = [i for i in ids if not i.startswith("agency")]
        outcomes += (await poll_once(config, first, False, None, deliver=False)).outcomes
        agency = [i for i in ids if i.startswith("agency")]
        outcomes += (await poll_once(config, agency, False, None, deliver=False)).outcomes
        for outcome in outcomes[len(ids) :]:
            state = f"{outcome.new} new" if outcome.ok else f"failed: {outcome.error}"
            progress(f"  {outcome.source_id}: {state}")
        alerts = await read_alerts(config)
        stories = len({a.story for a in alerts})
        progress(f"{len(alerts)} alerts on {stories} stories would be sent:")
        out.write(render(alerts, colour=out.isatty()))
        out.flush()
        return 0 if all(o.ok for o in outcomes) else 1


def demo_command() -> None:
    """Entry point of ``monitor demo``."""
    import logging

    # the pipeline's own warnings (a failing sample) still reach stderr; routine info does not
    logging.getLogger("monitor").setLevel(logging.WARNING)
    code = asyncio.run(run_demo(sys.stdout, sys.stderr))
    if code:
        raise SystemExit(code)
