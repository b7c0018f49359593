"""A prepared body's releases are packed ``CHUNK`` at a time: a feed of 2,005 items gives
three chunks holding what ``derive_all`` and the matcher give, in feed order; the worker's
matches travel with each release in its record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from monitor.model import DumpedMatch, document_of
from monitor.parse.feed import parse_feed
from monitor.parse.identity import derive_all
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
        expected = RULES.match(document_of("src", release))
        assert list(found) == [DumpedMatch.of(m) for m in expected]
    assert sum(1 for found in matches if found) == 669  # every third title says NATO


def test_each_release_is_one_record_with_the_hits_the_worker_found() -> None:
    recipe = Recipe("feed", "src", "auto", "en", "UTC")
    got = prepare(_feed(CHUNK + 2), {}, "https://m.example/rss", recipe, MOMENT, ("k", RULES))
    chunks = list(got.records())
    assert [len(chunk) for chunk in chunks] == [CHUNK, 2]
    records = [record for chunk in chunks for record in chunk]
    assert [r.release for r in records] == list(got.releases)
    assert [r.search_text for r in records] == list(got.search_text)
    assert [r.bands for r in records] == list(got.bands)
    for record in records:
        expected = RULES.match(document_of("src", record.release))
        assert list(record.hits or ()) == [DumpedMatch.of(m) for m in expected]
    assert sum(1 for r in records if r.hits) == 334  # every third title says NATO

    unmatched = prepare(_feed(3), {}, "https://m.example/rss", recipe, MOMENT)
    assert all(r.hits is None for chunk in unmatched.records() for r in chunk)


def test_a_last_chunk_holding_megabytes_of_text_is_packed_too() -> None:
    """Unpacked, one item of 9.5 MB crossed the pipe as a 20 MB pickle while the worker
    and the poll's process were at their fullest, and the poll's process held its texts
    as objects until the end of the poll (issue 22). Small bodies' last chunk stays as it
    is (no compression for them)."""
    recipe = Recipe("feed", "src", "auto", "ar", "UTC")
    text = "اجتمع وزراء خارجية دول حلف شمال الأطلسي (الناتو) في بروكسل. " * 10_000
    body = (
        "<rss version='2.0'><channel><title>t</title><item><title>الناتو</title>"
        f"<link>https://m.example/ar</link><description>{text}</description></item>"
        "</channel></rss>"
    ).encode()
    got = prepare(body, {}, "https://m.example/rss", recipe, MOMENT, ("k", RULES))
    assert len(got.packed) == 1 and isinstance(got.packed[0], bytes)
    assert got.packed_matches is not None and isinstance(got.packed_matches[0], bytes)
    (release,) = got.releases
    assert release.summary == release.summary_raw.strip() == text.strip()
    (found,) = got.matches or ()
    assert list(found) == [DumpedMatch.of(m) for m in RULES.match(document_of("src", release))]
    assert found and found[0].hit_count == 10_001  # the title and every sentence

    small = prepare(_feed(3), {}, "https://m.example/rss", recipe, MOMENT, ("k", RULES))
    assert not isinstance(small.packed[-1], bytes)
