"""The number of alerts never depends on the order in which copies arrive (SPEC section 4).

One set of releases — originals, same-source re-posts under new URLs, agency copies with
small edits, translations, a chain of copies, unrelated releases, some at baseline — is fed
through the real match step in every order Hypothesis draws, in batches of varied sizes.
Each time the desk gets exactly one alert per (rule, channel) for each group of copies
that holds an alertable release the rule matches, and nothing else.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.stories import is_copy, shingles
from tests.stories.desk import CHANNELS, ENGLISH, SOURCES, Desk, Post
from tests.support.feeds import seed
from tests.support.store import store_with_sources

SEED_TITLE, SEED_BODY = seed()
_TERMS = ("ناتو", "NATO", "سيبر", "الإلكتروني")


def _neutral(n: int, words: int = 200) -> list[str]:
    """``words`` words of the seed, shuffled with seed ``n``, none of any rule's terms: a body
    that shares almost no 4-word shingles with the seed or another shuffle."""
    pool = [w for w in SEED_BODY.split() if not any(t in w for t in _TERMS)]
    random.Random(n).shuffle(pool)
    return pool[:words]


def _with(words: list[str], at: int, sentence: str) -> str:
    return " ".join([*words[:at], *sentence.split(), *words[at:]])


NATO = "وبحث الجانبان التعاون مع حلف الناتو"
CYBER = "وأكد أهمية التعاون في الأمن السيبراني"
_CHAIN = _neutral(3, 300)
_CUT = len(_CHAIN) * 15 // 100

GROUPS: dict[str, list[Post]] = {
    # the seed release, its re-post under a new URL, two agencies' copies with small edits
    "seed": [
        Post("mofa-qa-ar", "2019/03/13/nato", SEED_BODY, SEED_TITLE),
        Post("mofa-qa-ar", "2019/03/14/nato-repost", SEED_BODY, SEED_TITLE),
        Post("qna-ar", "qna-0042", f"الدوحة - قنا\n\n{SEED_BODY.replace('سعادته', 'الوزير')}"),
        Post(
            "wam-ar",
            "wam-17",
            f"أبوظبي - وام\n\n{SEED_BODY.replace('بروكسل', 'العاصمة البلجيكية')}",
        ),
    ],
    # its English version (a translation: another story) and an agency's copy of that
    "english": [
        Post("mofa-qa-en", "en/2019/03/13/nato", ENGLISH, "Qatar and NATO", "en"),
        Post("qna-ar", "qna-en-0042", f"Doha - QNA\n\n{ENGLISH}", "QNA | Qatar and NATO", "en"),
    ],
    # the ministry's release matches no rule; the agency's copy adds a line that does
    "edited": [
        Post("mofa-qa-ar", "2019/03/20/visit", " ".join(_neutral(1))),
        Post("qna-ar", "qna-0077", _with(_neutral(1), 100, NATO)),
    ],
    # a chain: the middle one is a copy of both ends, which are not copies of each other;
    # only the last 15 % names NATO, so the first end matches no rule
    "chain": [
        Post("mofa-qa-ar", "2019/04/01/chain", " ".join(_CHAIN[:-_CUT])),
        Post("qna-ar", "qna-chain", _with(_CHAIN, len(_CHAIN) - 10, NATO)),
        Post("wam-ar", "wam-chain", _with(_CHAIN[_CUT:], len(_CHAIN) - _CUT - 10, NATO)),
    ],
    # unrelated releases: one long, two under 50 words (never part of a story)
    "cyber": [Post("qna-ar", "qna-cyber", _with(_neutral(2), 50, CYBER))],
    "short-nato": [Post("wam-ar", "wam-short", NATO)],
    "short": [Post("mofa-qa-ar", "2019/04/02/short", " ".join(_neutral(4, 30)))],
}
POSTS = [post for group in GROUPS.values() for post in group]
GROUP_OF = {post.identity: name for name, group in GROUPS.items() for post in group}
RULES_OF = {post.identity: post.rules() for post in POSTS}


def test_the_groups_are_groups_of_copies() -> None:
    chain = GROUPS["chain"]
    for a, b in itertools.combinations(POSTS, 2):
        copies = is_copy(shingles(a.body), shingles(b.body))
        if GROUP_OF[a.identity] != GROUP_OF[b.identity]:
            assert not copies, (a.identity, b.identity)
        elif {a, b} != {chain[0], chain[2]}:
            assert copies, (a.identity, b.identity)
        else:
            assert not copies
    assert [RULES_OF[p.identity] for p in GROUPS["edited"]] == [set(), {"nato"}]
    assert [RULES_OF[p.identity] for p in chain] == [set(), {"nato"}, {"nato"}]
    assert all(RULES_OF[p.identity] == {"nato", "cyber"} for p in GROUPS["seed"])
    assert all(RULES_OF[p.identity] == {"nato", "cyber"} for p in GROUPS["english"])


def expected_alerts(alertable: dict[str, bool]) -> int:
    """One per (rule, channel) per group holding an alertable release the rule matches.

    (In the chain, the releases that match form a group of copies of each other: were
    both ends alertable matches, two alerts or one would both be right, by arrival.)
    """
    return sum(
        len(CHANNELS[rule])
        for group in GROUPS.values()
        for rule in CHANNELS
        if any(alertable[p.identity] and rule in RULES_OF[p.identity] for p in group)
    )


async def _feed_in_order(
    desk: Desk, order: list[int], baseline: set[int], cuts: set[int], batch: int
) -> None:
    bounds = [0, *sorted(cuts), len(order)]
    for start, end in itertools.pairwise(bounds):
        chunk = order[start:end]
        await desk.save([POSTS[i] for i in chunk], [i not in baseline for i in chunk])
        await desk.step(batch=batch)


async def _check(
    desk: Desk, order: list[int], baseline: set[int], cuts: set[int], batch: int
) -> None:
    await desk.clear()
    await _feed_in_order(desk, order, baseline, cuts, batch)
    alerts = await desk.alerts()
    alertable = {p.identity: i not in baseline for i, p in enumerate(POSTS)}
    assert len(alerts) == expected_alerts(alertable)
    # never two alerts for one (rule, channel) in a group of copies
    per_group = [(GROUP_OF[a.identity], a.rule, a.channel) for a in alerts]
    assert len(per_group) == len(set(per_group))
    # every alert is carried by an alertable release the rule matches
    assert all(alertable[a.identity] and a.rule in RULES_OF[a.identity] for a in alerts)
    stories = await desk.stories()
    for name in ("seed", "english", "edited"):  # copies of each other: one story each
        assert len({stories[p.identity] for p in GROUPS[name]}) == 1, name
    groups_of_story: dict[int, set[str]] = {}
    for identity, story in stories.items():
        groups_of_story.setdefault(story, set()).add(GROUP_OF[identity])
    assert all(len(groups) == 1 for groups in groups_of_story.values())


def test_every_order_gives_the_same_alerts(db_url: str) -> None:
    with asyncio.Runner() as runner:
        engine = runner.run(store_with_sources(db_url, SOURCES, datetime.now(UTC)))
        desk = Desk(engine)

        @settings(max_examples=60, deadline=None)
        @given(
            order=st.permutations(range(len(POSTS))),
            baseline=st.sets(st.integers(0, len(POSTS) - 1), max_size=6),
            cuts=st.sets(st.integers(1, len(POSTS) - 1), max_size=6),
            batch=st.sampled_from([1, 2, 3, 500]),
        )
        def feed(order: list[int], baseline: set[int], cuts: set[int], batch: int) -> None:
            runner.run(_check(desk, order, baseline, cuts, batch))

        try:
            feed()
        finally:
            runner.run(engine.dispose())
