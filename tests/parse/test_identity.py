"""identity: canonical URLs, identity modes, plain text, content hash, language."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urljoin

import pytest

from monitor.model import Entry, ParsedFeed
from monitor.parse.identity import (
    canonical_url,
    derive,
    derive_all,
    joins_to_itself,
    resolved_link,
)

FEED_URL = "https://www.mofa.gov.qa/ar/rss"


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://WWW.Mofa.Gov.QA/ar/News?id=5", "https://www.mofa.gov.qa/ar/News?id=5"),
        ("https://example.org/a#comments", "https://example.org/a"),
        ("http://example.org:80/a", "http://example.org/a"),
        ("https://example.org:443/a", "https://example.org/a"),
        ("https://example.org:8443/a", "https://example.org:8443/a"),
        ("http://example.org:443/a", "http://example.org:443/a"),
        ("https://example.org", "https://example.org/"),
        ("https://example.org/a?utm_source=rss&id=7&utm_medium=feed", "https://example.org/a?id=7"),
        ("https://example.org/a?UTM_Campaign=x", "https://example.org/a"),
        (
            "https://example.org/a?fbclid=1&gclid=2&mc_cid=3&mc_eid=4&msclkid=5",
            "https://example.org/a",
        ),
        ("https://example.org/a?b=2&a=1", "https://example.org/a?b=2&a=1"),  # order kept
        ("https://example.org/a?q=a%20b&x=+", "https://example.org/a?q=a%20b&x=+"),  # encoding kept
        ("https://example.org/a?flag&utm_x=1", "https://example.org/a?flag"),
        ("https://example.org/a?", "https://example.org/a"),
        ("https://example.org/Path/Case", "https://example.org/Path/Case"),
        ("  https://example.org/a  ", "https://example.org/a"),
        ("https://user@Example.org/a", "https://example.org/a"),  # userinfo is no identity
        ("http://desk:s3cret@mofa.example:8080/a", "http://mofa.example:8080/a"),
        ("http://[2001:DB8::1]:80/a", "http://[2001:db8::1]/a"),
        ("https://موقع.قطر/أخبار?utm_source=x", "https://موقع.قطر/أخبار"),
        ("urn:uuid:1234#x", "urn:uuid:1234"),
        ("http://[invalid/a", "http://[invalid/a"),  # unparseable: left alone
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


_BASES = ("", "https://m.example/feed", "http://M.Example:8080/x/", "http://[invalid/", "ftp://f/")
_LINKS = (
    "https://m.example/n/1", "http://M.EXAMPLE/A/b", "https://m.example", "https://m.example:443/a",
    "http://m.example:8080/a", "https://m.example:99999/a", "https://m.example:65536",
    "https://m.example//a/../b/./c", "https://m.example/a%20b/é/", "https://m.example/a;p",
    "https://m.example/a?utm_source=x", "https://m.example/a#frag", "https://m.example/a b",
    "https://m.example/a\tb", "https://user@m.example/a", "https://[::1]/a", "HTTPS://m.example/a",
    "https:///m.example/a", "https://موقع.قطر/a", "/relative/a", "//m.example/a", "mailto:a@b",
)  # fmt: skip


@pytest.mark.parametrize("base", _BASES)
def test_plain_links_resolve_as_urljoin_and_canonical_url_would(base: str) -> None:
    """``resolved_link`` skips the parses for a plain link: the answer (or the error) is
    the same as joining and canonicalising it, and the fast parser's join agrees."""
    from feedparser.urls import _urljoin

    def slow(link: str) -> str:
        try:
            return canonical_url(urljoin(base, link))
        except ValueError as exc:
            return repr(exc)

    def fast(link: str) -> str:
        try:
            return resolved_link(base, link)
        except ValueError as exc:
            return repr(exc)

    for link in _LINKS:
        assert fast(link) == slow(link), link
        if joins_to_itself(base, link):
            assert _urljoin(base, link) == link


WHEN = datetime(2019, 3, 13, 7, tzinfo=UTC)
HTML_TITLE = frozenset({"title", "summary", "content"})
FULL = Entry(guid="mofa-4471", link="/ar/news/4471?utm_source=rss", title="NATO", published=WHEN)


@pytest.mark.parametrize(
    ("entry", "mode", "kind"),
    [
        (FULL, "auto", "guid:mofa-4471"),
        (FULL, "guid", "guid:mofa-4471"),
        (FULL, "link", "link:https://www.mofa.gov.qa/ar/news/4471"),
        (FULL, "content", "content:"),
        (Entry(guid="  ", link="/a", title="t"), "auto", "link:https://www.mofa.gov.qa/a"),
        (Entry(guid=None, link=None, title="t"), "auto", "content:"),
        (Entry(guid=None, link="/a", title="t"), "guid", "link:"),  # no GUID: fall back
        (Entry(guid="g", link=None, title="t"), "link", "content:"),  # no link: fall back
        (Entry(guid="g" * 600, link=None, title="t"), "auto", "guid-sha256:"),
    ],
)
def test_identity_modes(entry: Entry, mode: str, kind: str) -> None:
    identity = derive(entry, mode=mode, feed_url=FEED_URL).identity
    assert identity.startswith(kind)
    assert len(identity) <= 512


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="identity mode"):
        derive(FULL, mode="title", feed_url=FEED_URL)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        # content identity: normalised title + date
        (Entry(None, None, "NATO  Summit"), Entry(None, None, "nato summit"), True),
        (
            Entry(None, None, "<b>NATO</b> Summit", markup=HTML_TITLE),
            Entry(None, None, "NATO Summit"),
            True,
        ),
        (Entry(None, None, "NATO", published=WHEN), Entry(None, None, "NATO"), False),
        (Entry(None, None, "NATO", published_raw="13/3"), Entry(None, None, "NATO"), False),
        (Entry(None, None, "NATO"), Entry(None, None, "OTAN"), False),
        # stable across text edits when a GUID or link says who it is
        (Entry("g", None, "NATO"), Entry("g", None, "NATO (updated)"), True),
        (Entry(None, "/a#top", "x"), Entry(None, "/a?utm_medium=rss", "y"), True),
    ],
)
def test_identity_equality(a: Entry, b: Entry, same: bool) -> None:
    ida = derive(a, feed_url=FEED_URL).identity
    idb = derive(b, feed_url=FEED_URL).identity
    assert (ida == idb) == same


@pytest.mark.parametrize(
    ("a", "b", "revised"),
    [
        (
            Entry("g", None, "T", summary="<p>same</p>"),
            Entry("g", None, "T", summary="same"),
            False,
        ),
        (Entry("g", None, "T", summary="a  b"), Entry("g", None, "T", summary="a b"), False),
        (Entry("g", None, "T", summary="old"), Entry("g", None, "T", summary="new"), True),
        (Entry("g", None, "T"), Entry("g", None, "T2"), True),
        (Entry("g", None, "T", content="x"), Entry("g", None, "T", content="y"), True),
        # moving text between fields is a change: the separator keeps fields apart
        (Entry("g", None, "T", summary="ab"), Entry("g", None, "T", content="ab"), True),
    ],
)
def test_a_revision_is_a_change_of_plain_text(a: Entry, b: Entry, revised: bool) -> None:
    ha = derive(a, feed_url=FEED_URL).content_hash
    hb = derive(b, feed_url=FEED_URL).content_hash
    assert (ha != hb) == revised


def test_derive_fills_every_field() -> None:
    entry = Entry(
        guid="g1",
        link="news/1#x",
        title="NATO &amp; Qatar",
        summary="<p>One</p><p>Two</p>",
        content="<div>Body <script>x()</script>text</div>",
        published=WHEN,
        published_raw="Wed, 13 Mar 2019 10:00:00 +0300",
        language="en-GB",
        author="MoFA",
        markup=HTML_TITLE,  # an Atom type="html" title, say
    )
    release = derive(entry, feed_url=FEED_URL, feed_language="ar")
    assert release.title == "NATO & Qatar"
    assert (release.summary, release.content) == ("One\nTwo", "Body text")
    assert (release.summary_raw, release.content_raw) == (entry.summary, entry.content)
    assert release.url == "https://www.mofa.gov.qa/ar/news/1"
    assert (release.published, release.published_raw) == (WHEN, entry.published_raw)
    assert (release.language, release.author) == ("en", "MoFA")


@pytest.mark.parametrize(
    ("entry_language", "feed_language", "expected"),
    [("en-US", "ar", "en"), (None, "ar-QA", "ar"), (None, "AR", "ar"), (None, None, None),
     ("", "fr_FR", "fr"), ("x!", None, None)],
)  # fmt: skip
def test_language(entry_language: str | None, feed_language: str | None, expected: str) -> None:
    entry = Entry("g", None, "t", language=entry_language)
    assert derive(entry, feed_url=FEED_URL, feed_language=feed_language).language == expected


def test_derive_all_keeps_one_per_identity_and_warns_on_repeated_guids() -> None:
    entries = (
        Entry("ep-2", None, "Episode two"),
        Entry("ep-2", None, "Episode three"),  # publisher reused the GUID
        Entry("ep-1", None, "Episode one"),
        Entry("ep-1", None, "Episode one"),  # an exact repeat is no clash
    )
    releases, warnings = derive_all(ParsedFeed("rss20", entries), feed_url=FEED_URL)
    assert [r.title for r in releases] == ["Episode two", "Episode one"]
    assert len(warnings) == 1 and "1 entries repeat the guid" in warnings[0]
    by_content, none = derive_all(ParsedFeed("rss20", entries), mode="content", feed_url=FEED_URL)
    assert len(by_content) == 3 and none == ()
