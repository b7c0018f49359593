"""``releases --query`` (``archive.every_release``, the console's listing without its stories)
on real SQLite and PostgreSQL: the index pre-filters, the matcher decides."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.load import load_config
from monitor.config.model import Config
from monitor.errors import QuerySyntaxError
from monitor.rules.matcher import RuleSpec, compile_rules
from monitor.rules.normalize import index_text
from monitor.store import archive, search
from monitor.store.archive import ReleaseFilter, every_release
from monitor.store.matching import document_of
from monitor.store.queries import list_releases
from monitor.store.releases import save_releases
from monitor.store.search import index_condition
from monitor.store.session import open_store
from monitor.store.tables import ReleaseRow, SourceRow
from tests.conftest import ROOT, Engines

T0 = datetime(2019, 3, 13, 7, 0, tzinfo=UTC)
CONFIG = Config(concepts={"nato": ("NATO", "الناتو", "حلف شمال الأطلسي")})


@dataclass(frozen=True)
class Values:
    identity: str
    title: str
    content: str
    summary: str = ""
    language: str | None = "ar"
    summary_raw: str = ""
    content_raw: str = ""
    url: str | None = None
    published: datetime | None = None
    published_raw: str | None = None
    content_hash: str = ""
    author: str | None = None


@dataclass(frozen=True)
class Release:
    source: str
    title: str
    content: str = ""
    summary: str = ""
    language: str = "ar"


async def _store(url: str, releases: Sequence[Release]) -> AsyncEngine:
    """A store holding ``releases``, the first one oldest (one minute apart)."""
    engine = await open_store(url)
    async with engine.begin() as conn:
        for source in ("a", "b"):
            await conn.execute(
                sa.insert(SourceRow).values(
                    id=source, url=f"https://{source}/rss", kind="feed", created_at=T0
                )
            )
        for index, r in enumerate(releases):
            values = Values(
                f"g{index}", r.title, r.content, r.summary, r.language, content_hash=f"h{index}"
            )
            text = index_text(f"{r.title}\n{r.summary}\n{r.content}")
            await save_releases(
                conn,
                r.source,
                [values],
                moment=T0 + timedelta(minutes=index),
                alertable={values.identity: True},
                search_text={values.identity: text},
            )
    return engine


@pytest.fixture
async def store(db_url: str, engines: Engines) -> AsyncIterator[AsyncEngine]:
    engine = engines.adopt(await _store(db_url, SMALL))
    yield engine


SMALL = [
    Release("a", "اجتماع والناتو في بروكسل"),  # 0
    Release("a", "ناتو"),  # 1
    Release("a", "الناتوي"),  # 2: no suffix stripping
    Release("b", "Cybersecurity week", language="en"),  # 3
    Release("b", "a cyber-attack", language="en"),  # 4
    Release("b", "hypercyber", language="en"),  # 5
    Release("a", "الأمين العام لحلف شمال الأطلسي"),  # 6
    Release("a", "حلف شمال والأطلسي"),  # 7: only the first word takes proclitics
    Release("a", "المحيط الأطلسي"),  # 8
    Release("b", "NATO and cyber", content="near OR and", language="en"),  # 9
    Release("b", 'quote "NEAR" star* caret^ colon:', language="en"),  # 10
    Release("a", "بالأمن السيبراني", summary="والدفاع"),  # 11
]


async def _found(
    engine: AsyncEngine,
    query: str,
    config: Config = CONFIG,
    *,
    since: datetime | None = None,
    source: str | None = None,
    limit: int | None = None,
) -> list[archive.ReleaseCard]:
    filters = ReleaseFilter(q=query, source=source, since=since, stories=False)
    return await every_release(engine, config, filters, limit=limit)


async def _titles(engine: AsyncEngine, query: str, **kwargs: object) -> list[str]:
    return [r.title for r in await _found(engine, query, **kwargs)]  # type: ignore[arg-type]


def _expect(*indices: int) -> list[str]:
    return [SMALL[i].title for i in sorted(indices, reverse=True)]  # newest first


QUERIES = [
    ("الناتو", (0, 1)),
    ("والناتو", (0,)),  # a query word with its own clitic is that word
    ("ناتو*", (0, 1, 2)),
    ("cyber*", (3, 4, 9)),
    ('"cyber attack"', (4,)),
    ('"حلف شمال الأطلسي"', (6,)),
    ("@nato", (0, 1, 6, 9)),
    ('"الأمن السيبراني"', (11,)),
    ("الدفاع", (11,)),
    ("NATO -cyber", ()),
    ("الناتو OR source:b", (0, 1, 3, 4, 5, 9, 10)),  # a branch without words: full scan
    ("lang:en -cyber*", (5, 10)),
    ('"near" "OR"', (9,)),  # index operators as words are data
    ("NEAR AND", ()),  # a NEAR without a distance does not parse: see the error test
    ('"NEAR"', (9, 10)),
    ('star "caret" colon', (10,)),
    ('"star*"', (10,)),
    ('"quote NEAR"', (10,)),
]


@pytest.mark.parametrize(("query", "indices"), [q for q in QUERIES if q[0] != "NEAR AND"])
async def test_queries(store: AsyncEngine, query: str, indices: tuple[int, ...]) -> None:
    assert await _titles(store, query) == _expect(*indices)


async def test_since_source_and_limit(store: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    everything = "الناتو OR source:b OR lang:ar"
    assert await _titles(store, everything) == _expect(*range(len(SMALL)))
    assert await _titles(store, everything, limit=3) == _expect(11, 10, 9)
    assert await _titles(store, everything, limit=0) == []
    assert await _titles(store, everything, since=T0 + timedelta(minutes=9)) == _expect(9, 10, 11)
    assert await _titles(store, "cyber* OR الناتو", source="a") == _expect(0, 1)
    monkeypatch.setattr(archive, "SCAN", 2)  # paging, and stopping early, page by page
    assert await _titles(store, "الناتو OR cyber*", limit=3) == _expect(9, 4, 3)
    assert await _titles(store, "الناتو OR cyber*") == _expect(0, 1, 3, 4, 9)
    assert await _titles(store, "source:a", since=T0 + timedelta(minutes=1)) == _expect(
        1, 2, 6, 7, 8, 11
    )


async def test_syntax_errors_name_their_column(store: AsyncEngine) -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        await _titles(store, "NEAR AND")
    assert raised.value.column == 1


# --- agreement with a full scan -------------------------------------------------------

AR = ["الناتو", "ناتو", "الأمن", "أمن", "السيبراني", "حلف", "شمال", "الأطلسي", "قطر", "طالبان"]
EN = ["NATO", "nato", "cyber", "cybersecurity", "Qatar", "security", "near", "and", "talks"]
CLITICS = ["", "", "", "و", "ب", "ال", "وال", "بال", "لل", "فال", "ك", "ف"]
SUFFIXES = ["", "", "", "ي", "ية", "ات"]
GLUE = [" ", " ", " ", ", ", "-", ". ", "\n", " «", "» "]


def _text(rng: random.Random, n: int) -> str:
    parts = []
    for _ in range(n):
        if rng.random() < 0.5:
            word = rng.choice(CLITICS) + rng.choice(AR).removeprefix("ال") + rng.choice(SUFFIXES)
        else:
            word = rng.choice(EN) + rng.choice(["", "", "s", "ism"])
        parts.append(word + rng.choice(GLUE))
    return "".join(parts).strip()


def _query(rng: random.Random) -> str:
    def term() -> str:
        word = rng.choice(AR + EN)
        roll = rng.random()
        if roll < 0.2 and len(word) >= 4:
            return word[: rng.randint(3, len(word) - 1)] + "*"
        if roll < 0.4:
            return f'"{word} {rng.choice(AR + EN)}"'
        return word

    a, b, c = term(), term(), term()
    return rng.choice(
        [
            a,
            f"{a} {b}",
            f"{a} OR {b}",
            f"{a} -{b}",
            f"{a} NEAR/2 {b}",
            f"title:{a} OR {b}",
            f"({a} OR {b}) {c}",
            f"{a} OR source:b",
            f"lang:en {a}",
            f"({a} -{b}) OR {c}",
            f"{a} ONEAR/3 ({b} OR {c})",
        ]
    )


async def test_prefilter_agrees_with_a_full_scan(
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    engines: Engines,
) -> None:
    # small windows and batches: PostgreSQL's two steps (the newest releases one by one,
    # then the index past them) and the paging between them all come into play
    monkeypatch.setattr(search, "WINDOW", 7)
    monkeypatch.setattr(archive, "SCAN", 5)
    rng = random.Random(20190313)
    releases = [
        Release(
            rng.choice("ab"),
            _text(rng, rng.randint(1, 6)),
            content=_text(rng, rng.randint(0, 25)),
            summary=_text(rng, rng.randint(0, 3)),
            language=rng.choice(["ar", "en"]),
        )
        for _ in range(300)
    ]
    engine = engines.adopt(await _store(db_url, releases))
    stored = await list_releases(engine)
    matched_any = 0
    for _ in range(60):
        query = _query(rng)
        matcher = compile_rules([RuleSpec("q", "q", query)], {})
        scanned = [r.id for r in stored if matcher.match(document_of(r))]
        found = await _found(engine, query)
        assert [r.id for r in found] == scanned, query
        matched_any += bool(scanned)
    assert matched_any > 30  # the queries are not vacuous


async def test_the_index_narrows_the_candidates(store: AsyncEngine) -> None:
    from monitor.rules.prefilter import requirement
    from monitor.rules.query import parse

    need = requirement(parse("الناتو"))
    assert need is not None
    releases = ReleaseRow.__table__  # type: ignore[attr-defined]
    statement = (
        sa.select(releases.c.title)
        .where(index_condition(store.dialect.name, need))
        .order_by(releases.c.id.desc())
    )
    async with store.connect() as connection:
        titles = (await connection.execute(statement)).scalars().all()
    assert titles == _expect(0, 1)  # الناتوي is not a form of الناتو


SHIPPED = load_config(ROOT / "config" / "monitor.yaml")


async def test_the_shipped_concepts_make_valid_index_queries(store: AsyncEngine) -> None:
    config = SHIPPED
    query = " OR ".join(f"@{name}" for name in config.concepts)
    found = await _found(store, query, config)
    assert {r.title for r in found} >= {SMALL[0].title, SMALL[6].title, SMALL[11].title}
