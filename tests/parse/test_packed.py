"""A prepared body's releases are packed ``CHUNK`` at a time: a feed of 2,005 items gives
three chunks holding what ``derive_all`` and the matcher give, in feed order; the worker's
matches are found again by the document a stored row gives, and a document that differs
(its full text fetched since) is not taken for it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from monitor.model import document_of
from monitor.parse.feed import parse_feed
from monitor.parse.identity import content_hash, derive_all
from monitor.parse.known import WorkerMatches, document_key, release_key
from monitor.parse.prepare import CHUNK, Recipe, prepare
from monitor.rules.matcher import RuleSpec, compile_rules

MOMENT = datetime(2026, 11, 29, tzinfo=UTC)
RULES = compile_rules([RuleSpec("nato", "NATO", "NATO OR الناتو")], {})


def _feed(count: int) -> bytes:
    date = format_datetime(MOMENT - timedelta(hours=1))
    items = "".join(
        f"<item><title>{'NATO' if i % 3 == 0 else 'Weather'} {i}</title>"
        f"<link>https://m.example/n/{i}</link><pubDate>{date}</pubDate>"
        f"<description>{escape('<p>Report</p>')} {i}</description></item>"
        for i in range(count)
    )
    # one item twice: the first one counts, as ``derive_all`` says
    items += "<item><title>again</title><link>https://m.example/n/0</link></item>"
    return f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()


def test_a_feed_larger_than_a_chunk_is_packed_a_chunk_at_a_time() -> None:
    body = _feed(2 * CHUNK + 5)
    recipe = Recipe("feed", "src", "auto", "en", "UTC")
    got = prepare(body, {}, "https://m.example/rss", recipe, MOMENT, ("k", RULES))

    assert got.entries == 2 * CHUNK + 6 and len(got.packed) == 3
    chunks = list(got.chunks())
    assert [len(c.releases) for c in chunks] == [CHUNK, CHUNK, 5]
    derived, warnings = derive_all(parse_feed(body, {}, "https://m.example/rss"), feed_url="x")
    assert [r.identity for r in got.releases] == [r.identity for r in derived]
    assert any("repeat the link" in w for w in got.warnings) and warnings
    matches = got.matches
    assert matches is not None and len(matches) == len(got.releases)
    for release, found in zip(got.releases, matches, strict=True):
        assert list(found) == RULES.match(document_of("src", release))
    assert sum(1 for found in matches if found) == 669  # every third title says NATO


def test_the_worker_matches_are_found_by_the_stored_document() -> None:
    recipe = Recipe("feed", "src", "auto", "en", "UTC")
    got = prepare(_feed(CHUNK + 2), {}, "https://m.example/rss", recipe, MOMENT, ("k", RULES))
    known = WorkerMatches(got)
    for number, chunk in enumerate(got.chunks()):
        known.add("src", number, chunk.releases)

    releases = got.releases
    last = releases[-1]  # in the second chunk
    for release in (releases[0], last, releases[3]):  # chunk 0, 1, then 0 again
        document = document_of("src", release)
        assert list(known.get(document) or ()) == RULES.match(document)
    assert known.get(document_of("src", last)) == ()  # known: it meets no rule
    # its full text fetched since, another source, another language: not this release
    assert known.get(document_of("src", replace(releases[3], content="the page"))) is None
    assert known.get(document_of("other", releases[3])) is None
    assert known.get(document_of("src", replace(releases[3], language="fr"))) is None


def test_a_long_document_has_the_key_of_its_release() -> None:
    # read a slice at a time: a slice may end between any two characters
    body = ("ن" * 700_000) + "\ud800 \U0001f600 " + ("NATO " * 300_000)
    release = derive_all(parse_feed(_feed(1), {}, "u"), feed_url="u")[0][0]
    release = replace(release, content=body, content_hash=content_hash("t", "s", body))
    release = replace(release, title="t", summary="s")
    assert document_key(document_of("src", release)) == release_key("src", release)
