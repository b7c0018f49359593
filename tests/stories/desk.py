"""A watch desk on a real store, for the story tests: releases saved as a poll saves them
(their bands computed by the parse step's function), matched by the real match step with
the real rule matcher, and the alerts read back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.model import ReleaseData, document_of
from monitor.parse.identity import content_hash
from monitor.parse.prepare import search_text, story_bands
from monitor.rules.matcher import RuleSpec, compile_rules
from monitor.store.matching import StepResult, match_pending
from monitor.store.releases import save_releases
from monitor.store.session import writing

SOURCES = ("mofa-qa-ar", "mofa-qa-en", "qna-ar", "wam-ar")
RULES = (
    RuleSpec("nato", "NATO", 'NATO OR OTAN OR الناتو OR "حلف شمال الأطلسي"'),
    RuleSpec("cyber", "Cybersecurity", 'cyber* OR "الأمن السيبراني" OR "الدفاع السيبراني"'),
)
CHANNELS = {"nato": ("ops-email", "soc-webhook"), "cyber": ("soc-webhook",)}
MATCHER = compile_rules(RULES, {})

# the English version of the seed release (its translation: another story)
ENGLISH = """\
Brussels - Information Office - 13 March 2019

HE Deputy Prime Minister and Minister of Foreign Affairs Sheikh Mohammed bin Abdulrahman
Al-Thani met today with HE NATO Secretary General Jens Stoltenberg, during a visit to the
headquarters of the North Atlantic Treaty Organization.

The meeting discussed enhancing the prospects of cooperation between the State of Qatar and
NATO, in addition to a number of issues of common interest.

The Deputy Prime Minister and Minister of Foreign Affairs said that the State of Qatar
appreciates the role of NATO and the Istanbul Cooperation Initiative in achieving this goal,
especially with regard to common security issues and strengthening regional and
international efforts to achieve global stability and reconstruction in areas suffering
from conflicts.

He added that the State of Qatar is interested in benefiting from the capabilities of NATO
in the field of cyber defence and its expertise in this area.
"""


def channels_of(rule_id: str) -> Sequence[str]:
    return CHANNELS[rule_id]


@dataclass(frozen=True)
class Post:
    """One release as a source publishes it."""

    source: str
    identity: str
    body: str
    title: str = "بيان"
    language: str = "ar"

    def data(self) -> ReleaseData:
        return ReleaseData(
            identity=self.identity,
            title=self.title,
            summary="",
            content=self.body,
            summary_raw="",
            content_raw=self.body,
            url=f"https://{self.source}.example/news/{self.identity}",
            published=None,
            published_raw=None,
            language=self.language,
            content_hash=content_hash(self.title, "", self.body),
            author=None,
        )

    def edited(self, body: str) -> Post:
        return replace(self, body=body)

    def rules(self) -> set[str]:
        """The rules this release meets, by the matcher the match step uses."""
        data = self.data()
        return {m.rule_id for m in MATCHER.match(document_of(self.source, data))}


@dataclass(frozen=True)
class Alert:
    rule: str
    channel: str
    identity: str  # of the release that carries it
    story: int


class Desk:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def save(self, posts: Sequence[Post], alertable: bool | Sequence[bool] = True) -> None:
        """Save ``posts`` as polls would, in order (ids follow it), one source at a time."""
        flags = [alertable] * len(posts) if isinstance(alertable, bool) else list(alertable)
        moment = datetime.now(UTC)
        async with writing(self.engine) as connection:
            for post, flag in zip(posts, flags, strict=True):
                data = post.data()
                await save_releases(
                    connection,
                    post.source,
                    [data],
                    moment=moment,
                    alertable={data.identity: flag},
                    search_text={data.identity: search_text(data)},
                    bands={data.identity: story_bands(data)},
                )

    async def step(self, batch: int = 500) -> StepResult:
        return await match_pending(self.engine, MATCHER.match, channels_of, batch=batch)

    async def feed(
        self, posts: Sequence[Post], alertable: bool | Sequence[bool] = True
    ) -> StepResult:
        await self.save(posts, alertable)
        return await self.step()

    async def alerts(self) -> list[Alert]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                sa.text(
                    "SELECT a.rule_id, a.channel_id, r.identity, a.story_id FROM alerts a"
                    " JOIN releases r ON r.id = a.release_id ORDER BY a.rule_id, a.channel_id"
                )
            )
            return [Alert(*row) for row in rows]

    async def stories(self) -> dict[str, int]:
        """The story of each release, by identity."""
        async with self.engine.connect() as connection:
            rows = await connection.execute(sa.text("SELECT identity, story_id FROM releases"))
            return {identity: story for identity, story in rows}

    async def clear(self) -> None:
        """Forget every release, story and alert (the sources stay)."""
        async with writing(self.engine) as connection:
            for table in ("alerts", "matches", "story_bands", "release_revisions", "releases"):
                await connection.execute(sa.text(f"DELETE FROM {table}"))
            await connection.execute(sa.text("DELETE FROM stories"))
