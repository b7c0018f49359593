"""The simulated ministry web of the side-by-side bench (bench.peer_web): its feeds parse
into the items it made, validators are honoured, and churn is the same for every run."""

from __future__ import annotations

from email.utils import formatdate

from bench.peer_web import KEEP, Web, not_modified
from monitor.parse.feed import parse_feed


def test_every_feed_parses_into_its_items_rss_and_atom_english_and_arabic() -> None:
    web = Web(sources=6, interval=60)
    kinds = set()
    for index in range(6):
        status, headers, body = web.answer(f"/s/{index}.xml", {})
        assert status == 200
        content_type = headers[0].split(": ", 1)[1]
        parsed = parse_feed(body, {"Content-Type": content_type}, f"http://x/s/{index}.xml")
        kinds.add(parsed.kind)
        feed = web.feeds[index]
        assert [entry.title for entry in parsed.entries] == [item.title for item in feed.items]
        assert 5 <= len(parsed.entries) <= KEEP
    assert kinds == {"rss20", "atom10"}
    assert web.feeds[1].arabic and not web.feeds[0].arabic


def test_a_conditional_request_is_answered_304_until_the_feed_changes() -> None:
    web = Web(sources=3, interval=60)
    _, headers, _ = web.answer("/s/2.xml", {})
    etag = dict(h.split(": ", 1) for h in headers)["ETag"]
    assert web.answer("/s/2.xml", {"if-none-match": etag})[0] == 304
    assert web.answer("/s/2.xml", {"if-none-match": '"other", ' + etag})[0] == 304
    feed = web.feeds[2]
    modified = formatdate(feed.modified, usegmt=True)
    assert not_modified(feed, {"if-modified-since": modified})
    assert not not_modified(feed, {"if-modified-since": "not a date"})
    # an If-None-Match that does not hold decides, whatever the date says
    assert not not_modified(feed, {"if-none-match": '"old"', "if-modified-since": modified})
    feed.grow(1, feed.modified + 60, web.rng)
    assert web.answer("/s/2.xml", {"if-none-match": etag})[0] == 200
    assert not not_modified(feed, {"if-modified-since": modified})


def test_each_cycle_the_same_few_feeds_gain_items_in_every_run() -> None:
    first, second = Web(sources=200, interval=60), Web(sources=200, interval=60)
    for web in (first, second):
        web.advance(web.started + 3 * 60 + 1)  # three cycles begun
    assert first.cycle == second.cycle == 3
    assert first.changed == second.changed == 30  # 5 % of 200, three times
    assert [f.version for f in first.feeds] == [f.version for f in second.feeds]
    assert [f.items[0].guid for f in first.feeds] == [f.items[0].guid for f in second.feeds]


def test_requests_are_counted_per_feed_and_stats_are_not() -> None:
    web = Web(sources=3, interval=60)
    web.answer("/s/0.xml", {})
    web.answer("/s/0.xml", {})
    web.answer("/s/2.xml", {})
    assert web.answer("/s/3.xml", {})[0] == 404
    assert web.answer("/nope", {})[0] == 404
    status, _, body = web.answer("/_stats", {})
    assert status == 200
    assert b'"requests": [2, 0, 1]' in body


def test_a_web_without_validators_answers_every_request_in_full() -> None:
    web = Web(sources=2, interval=60, validators=False)
    status, headers, body = web.answer("/s/0.xml", {"if-none-match": web.feeds[0].etag})
    assert status == 200 and body == web.feeds[0].body
    assert not any(h.startswith(("ETag", "Last-Modified")) for h in headers)
