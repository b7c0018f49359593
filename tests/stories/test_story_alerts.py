"""One alert per (rule, channel) for a release and its copies (SPEC section 4), step by step:
the scenario of issue 17.2 with the seed release, re-posts under a new URL, agency copies,
copies filed under two stories, translations, edits and the 7-day window."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from monitor.store.session import writing
from monitor.store.tables import BANDS, STORIES
from monitor.stories import is_copy, shingles
from tests.conftest import Engines
from tests.stories.desk import CHANNELS, ENGLISH, SOURCES, Alert, Desk, Post
from tests.support.feeds import seed
from tests.support.store import store_with_sources

SEED_TITLE, SEED_BODY = seed()
# issue 17.2: the ministry's release, its re-post under a new URL, the agency's copy
SEED = Post("mofa-qa-ar", "news/2019/03/13/nato", SEED_BODY, SEED_TITLE)
REPOST = Post("mofa-qa-ar", "news/2019/03/14/nato-secretary-general", SEED_BODY, SEED_TITLE)
AGENCY = Post(
    "qna-ar",
    "qna/ar/2019-03-13/0042",
    f"الدوحة - قنا\n\nالدوحة في 13 مارس /قنا/ {SEED_BODY.replace('سعادته', 'سعادة الوزير')}",
    f"قنا | {SEED_TITLE}",
)
EVERY = {(rule, channel) for rule, channels in CHANNELS.items() for channel in channels}


@pytest.fixture
async def desk(db_url: str, engines: Engines) -> AsyncIterator[Desk]:
    engine = engines.adopt(await store_with_sources(db_url, SOURCES, datetime.now(UTC)))
    yield Desk(engine)


def carried(alerts: list[Alert]) -> set[tuple[str, str, str]]:
    return {(a.rule, a.channel, a.identity) for a in alerts}


def by(post: Post) -> set[tuple[str, str, str]]:
    """Every (rule, channel) of the desk, carried by ``post``'s alert."""
    return {(rule, channel, post.identity) for rule, channel in EVERY}


def test_the_posts_are_copies_of_each_other() -> None:
    assert SEED.rules() == REPOST.rules() == AGENCY.rules() == {"nato", "cyber"}
    for a, b in itertools.combinations((SEED, REPOST, AGENCY), 2):
        assert is_copy(shingles(a.body), shingles(b.body))


async def test_issue_17_agency_copy_after_a_baseline_seed_and_its_repost(desk: Desk) -> None:
    # 1. the seed release stands at baseline: stored and matched, no alert
    step = await desk.feed([SEED], alertable=False)
    assert (step.releases, step.matches, step.alerts) == (1, 2, 0)
    assert await desk.alerts() == []

    # 2. the ministry re-posts the same text under a new URL: a copy of the seed, in its
    #    story; the seed was never alerted, so the re-post alerts, once per rule and channel
    step = await desk.feed([REPOST])
    assert step.alerts == len(EVERY) == 3
    assert carried(await desk.alerts()) == by(REPOST)
    stories = await desk.stories()
    assert stories[REPOST.identity] == stories[SEED.identity]

    # 3. the agency's copy joins that story, which was alerted: nothing more
    step = await desk.feed([AGENCY])
    assert (step.releases, step.alerts) == (1, 0)
    assert carried(await desk.alerts()) == by(REPOST)
    stories = await desk.stories()
    assert stories[AGENCY.identity] == stories[SEED.identity]


async def test_agency_copy_of_a_baseline_release_alerts_once(desk: Desk) -> None:
    await desk.feed([SEED], alertable=False)
    # the seed was not alerted: suppression is only by copies that were
    assert (await desk.feed([AGENCY])).alerts == len(EVERY)
    assert carried(await desk.alerts()) == by(AGENCY)
    # a re-post, and another agency's copy, after that: nothing more
    wam = Post("wam-ar", "wam/1", f"أبوظبي - وام\n\n{SEED_BODY}", SEED_TITLE)
    assert (await desk.feed([REPOST])).alerts == 0
    assert (await desk.feed([wam])).alerts == 0
    assert carried(await desk.alerts()) == by(AGENCY)
    assert len(set((await desk.stories()).values())) == 1


async def test_copy_of_a_repost_filed_under_its_own_story_is_not_alerted_again(
    desk: Desk,
) -> None:
    # the state issue 17.2 found: a re-post filed under a story of its own and alerted
    # there (as stored before same-source re-posts were copies), beside the baseline seed
    await desk.feed([SEED], alertable=False)
    await desk.feed([REPOST])
    async with writing(desk.engine) as connection:
        story = (
            await connection.execute(
                sa.insert(STORIES).values(created_at=datetime.now(UTC)).returning(STORIES.c.id)
            )
        ).scalar_one()
        for table in ("releases", "story_bands", "matches", "alerts"):
            column = "id" if table == "releases" else "release_id"
            await connection.execute(
                sa.text(
                    f"UPDATE {table} SET story_id = :s WHERE {column} ="
                    " (SELECT id FROM releases WHERE identity = :i)"
                ),
                {"s": story, "i": REPOST.identity},
            )
    # the agency's copy joins the seed's story, which never alerted: the re-post, a copy
    # of it in another story, was alerted, so it is not
    step = await desk.feed([AGENCY])
    assert (step.releases, step.alerts) == (1, 0)
    stories = await desk.stories()
    assert stories[AGENCY.identity] == stories[SEED.identity] != stories[REPOST.identity]
    assert carried(await desk.alerts()) == by(REPOST)


# A chain of copies: B is a copy of A and of C, which are not copies of each other (B's
# first and last 15 % differ). A stands at baseline; B and C alert once, in any order, even
# when B (joining the older story, A's) is filed apart from C (alerted in its own story).
_WORDS = SEED_BODY.split()
_CUT = len(_WORDS) * 15 // 100
CHAIN = {
    "A": Post("mofa-qa-ar", "chain-a", " ".join(_WORDS[:-_CUT])),
    "B": Post("qna-ar", "chain-b", " ".join(_WORDS)),
    "C": Post("wam-ar", "chain-c", " ".join(_WORDS[_CUT:])),
}


def test_the_chain_is_a_chain() -> None:
    a, b, c = (shingles(CHAIN[name].body) for name in "ABC")
    assert is_copy(a, b) and is_copy(b, c) and not is_copy(a, c)


@pytest.mark.parametrize("together", [False, True], ids=["one by one", "one batch"])
@pytest.mark.parametrize("order", ["".join(p) for p in itertools.permutations("ABC")])
async def test_a_chain_of_copies_alerts_once_in_any_order(
    desk: Desk, order: str, together: bool
) -> None:
    posts = [CHAIN[name] for name in order]
    flags = [name != "A" for name in order]  # A at baseline
    if together:
        await desk.feed(posts, flags)
    else:
        for post, flag in zip(posts, flags, strict=True):
            await desk.feed([post], flag)
    alerts = await desk.alerts()
    assert {(a.rule, a.channel) for a in alerts} == EVERY and len(alerts) == len(EVERY)
    first = next(name for name in order if name != "A")
    assert {a.identity for a in alerts} == {CHAIN[first].identity}


async def test_copy_in_the_older_story_is_not_alerted_when_its_other_copy_was(
    desk: Desk,
) -> None:
    await desk.feed([CHAIN["A"]], alertable=False)
    assert (await desk.feed([CHAIN["C"]])).alerts == len(EVERY)  # not a copy of A
    assert (await desk.feed([CHAIN["B"]])).alerts == 0
    stories = await desk.stories()
    assert stories["chain-b"] == stories["chain-a"] != stories["chain-c"]


async def test_a_translation_is_another_story(desk: Desk) -> None:
    english = Post("mofa-qa-en", "en/news/nato", ENGLISH, "Qatar and NATO", "en")
    assert english.rules() == {"nato", "cyber"}
    await desk.feed([SEED, english])
    assert carried(await desk.alerts()) == by(SEED) | by(english)
    stories = await desk.stories()
    assert stories[SEED.identity] != stories[english.identity]


# the first 250 words of the seed name NATO and nothing of the cyber rule
NATO_ONLY = " ".join(_WORDS[:250])
CYBER_SENTENCE = " وأكد أهمية التعاون في مجال الأمن السيبراني."


async def test_an_edited_release_is_not_alerted_again_for_a_rule_it_matched(
    desk: Desk,
) -> None:
    await desk.feed([SEED])
    before = await desk.alerts()
    assert carried(before) == by(SEED)
    step = await desk.feed([SEED.edited(SEED_BODY.replace("بروكسل", "بروكسل (بلجيكا)"))])
    assert (step.releases, step.matches, step.alerts) == (1, 2, 0)
    assert await desk.alerts() == before


async def test_an_edited_release_is_alerted_for_a_rule_it_newly_matches(desk: Desk) -> None:
    release = Post("mofa-qa-ar", "nato-only", NATO_ONLY)
    assert release.rules() == {"nato"}
    await desk.feed([release])
    step = await desk.feed([release.edited(NATO_ONLY + CYBER_SENTENCE)])
    assert (step.releases, step.matches, step.alerts) == (1, 2, 1)
    assert carried(await desk.alerts()) == by(release)


async def test_an_edited_baseline_release_alerts_only_for_rules_it_newly_matches(
    desk: Desk,
) -> None:
    # matched by the NATO rule at baseline (no alert); edited after it, the release may
    # alert, but only for what it newly matches: the edit is not news about NATO
    release = Post("mofa-qa-ar", "nato-only", NATO_ONLY)
    await desk.feed([release], alertable=False)
    step = await desk.feed([release.edited(NATO_ONLY + CYBER_SENTENCE)])
    assert (step.matches, step.alerts) == (2, 1)
    assert carried(await desk.alerts()) == {("cyber", "soc-webhook", "nato-only")}


async def test_a_copy_of_a_release_first_seen_8_days_ago_is_a_new_story(desk: Desk) -> None:
    await desk.feed([SEED])
    async with writing(desk.engine) as connection:  # as if it were seen 8 days ago
        await connection.execute(
            sa.update(BANDS).values(first_seen_at=datetime.now(UTC) - timedelta(days=8))
        )
    assert (await desk.feed([REPOST])).alerts == len(EVERY)
    assert carried(await desk.alerts()) == by(SEED) | by(REPOST)
    stories = await desk.stories()
    assert stories[SEED.identity] != stories[REPOST.identity]


async def test_an_edit_that_newly_matches_a_rule_a_copy_was_alerted_for_alerts_nothing(
    desk: Desk,
) -> None:
    # a chain of copies naming NATO; only C names cyber security at first. B joins A's
    # story (the older); C, not a copy of A, was alerted in its own
    words = NATO_ONLY.split()
    cut = len(words) * 15 // 100
    a = Post("mofa-qa-ar", "a", " ".join(words[:-cut]))
    b = Post("qna-ar", "b", NATO_ONLY)
    c = Post("wam-ar", "c", " ".join(words[cut:]) + CYBER_SENTENCE)
    edited = b.edited(NATO_ONLY + CYBER_SENTENCE)
    sh = {post: shingles(post.body) for post in (a, b, c, edited)}
    assert is_copy(sh[a], sh[b]) and is_copy(sh[b], sh[c]) and not is_copy(sh[a], sh[c])
    assert is_copy(sh[edited], sh[c])
    await desk.feed([a], alertable=False)
    await desk.feed([c])
    assert (await desk.feed([b])).alerts == 0
    # B, edited, newly matches the cyber rule: C, its copy, was alerted for it
    step = await desk.feed([edited])
    assert (step.releases, step.matches, step.alerts) == (1, 2, 0)
    assert carried(await desk.alerts()) == by(c)
    stories = await desk.stories()
    assert stories["b"] == stories["a"] != stories["c"]
