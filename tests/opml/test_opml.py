"""OPML in and out (``monitor.opml``): real exporters' shapes, an independent reader
(listparser, from feedparser's family) for what we write, and hostile files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import listparser
import pytest

from monitor.config.model import Source
from monitor.errors import ParseError
from monitor.opml import read_opml, slug, url_slug, write_opml

# the shape feed readers export: folders of feeds, attribute case as each tool writes it
READER_EXPORT = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Subscriptions from a feed reader</title></head>
  <body>
    <outline text="Gulf ministries" title="Gulf ministries">
      <outline type="rss" text="وزارة الخارجية - قطر" title="وزارة الخارجية - قطر"
               xmlUrl="https://www.mofa.gov.qa/ar/rss" htmlUrl="https://www.mofa.gov.qa/ar"/>
      <outline type="rss" text="Saudi Press Agency" xmlUrl="https://www.spa.gov.sa/rss.xml"
               language="ar"/>
      <outline text="Nested deeper">
        <outline type="rss" text="Ministère des Affaires étrangères"
                 xmlUrl="https://www.diplomatie.gouv.fr/spip.php?page=backend-fd"/>
      </outline>
    </outline>
    <outline type="rss" text="NATO newsroom" xmlurl="https://www.nato.int/cps/rss/en/natohq/rssFeed.xsl/rssFeed.xml"/>
    <outline type="rss" text="NATO (again)" xmlUrl="HTTPS://WWW.NATO.INT/cps/rss/en/natohq/rssFeed.xsl/rssFeed.xml"/>
    <outline type="rss" text="Saudi Press Agency" xmlUrl="https://www.spa.gov.sa/en/rss.xml"/>
    <outline type="link" text="A web page" url="https://example.org/"/>
    <outline type="rss" text="Local file" xmlUrl="file:///etc/passwd"/>
    <outline type="rss" text="feed scheme" xmlUrl="feed://example.org/rss"/>
  </body>
</opml>
"""


def test_reader_export_is_flattened_deduplicated_and_given_unique_slugs() -> None:
    imported = read_opml(READER_EXPORT.encode(), "subs.opml")
    assert imported.sources == [
        {
            "id": "mofa-gov-qa-ar-rss",  # an Arabic title: the id comes from the URL
            "name": "وزارة الخارجية - قطر",
            "url": "https://www.mofa.gov.qa/ar/rss",
            "type": "feed",
        },
        {
            "id": "saudi-press-agency",
            "name": "Saudi Press Agency",
            "url": "https://www.spa.gov.sa/rss.xml",
            "type": "feed",
            "language": "ar",
        },
        {
            "id": "ministere-des-affaires-etrangeres",
            "name": "Ministère des Affaires étrangères",
            "url": "https://www.diplomatie.gouv.fr/spip.php?page=backend-fd",
            "type": "feed",
        },
        {
            "id": "nato-newsroom",
            "name": "NATO newsroom",
            "url": "https://www.nato.int/cps/rss/en/natohq/rssFeed.xsl/rssFeed.xml",
            "type": "feed",
        },
        {
            "id": "saudi-press-agency-2",
            "name": "Saudi Press Agency",
            "url": "https://www.spa.gov.sa/en/rss.xml",
            "type": "feed",
        },
    ]
    assert imported.notes == [
        "subs.opml: line 16: 'NATO (again)': listed twice; kept once",
        "subs.opml: line 19: 'Local file': xmlUrl is not an http(s) URL; skipped",
        "subs.opml: line 20: 'feed scheme': xmlUrl is not an http(s) URL; skipped",
    ]
    for source in imported.sources:
        Source.model_validate(source)  # each is a valid config source as it stands


def test_ids_and_urls_already_in_use_are_avoided() -> None:
    imported = read_opml(
        READER_EXPORT.encode(),
        "subs.opml",
        taken={"saudi-press-agency", "nato-newsroom"},
        known_urls=["https://www.nato.int/cps/rss/en/natohq/rssFeed.xsl/rssFeed.xml"],
    )
    ids = [s["id"] for s in imported.sources]
    assert ids == [
        "mofa-gov-qa-ar-rss",
        "saudi-press-agency-2",
        "ministere-des-affaires-etrangeres",
        "saudi-press-agency-3",
    ]
    assert "subs.opml: line 15: 'NATO newsroom': already a source; skipped" in imported.notes


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Qatar Ministry of Foreign Affairs (Arabic)", "qatar-ministry-of-foreign-affairs-arabic"),
        ("  GOV.UK — FCDO  ", "gov-uk-fcdo"),
        ("Ministère de l'Europe", "ministere-de-l-europe"),
        ("وزارة الخارجية", ""),
        ("A" * 60, "a" * 48),
        ("word " * 20, "word-word-word-word-word-word-word-word-word-word"[:48].rsplit("-", 1)[0]),
    ],
)
def test_slug(title: str, expected: str) -> None:
    assert slug(title) == expected


def test_url_slug() -> None:
    assert url_slug("https://www.mofa.gov.qa/ar/rss") == "mofa-gov-qa-ar-rss"
    assert url_slug("https://وزارة.example/") == "example"


@dataclass(frozen=True)
class ConsoleSource:  # a console source's shape: anything with these attributes will do
    id: str
    url: str
    type: str = "feed"
    name: str | None = None
    language: str | None = None


def test_written_opml_reads_back_in_an_independent_reader_and_in_ours() -> None:
    sources = [
        Source(
            id="mofa-qa-ar",
            name='وزارة الخارجية <قطر> & "الخليج"',
            url="https://www.mofa.gov.qa/ar/rss",
            language="ar",
        ),
        Source(id="fcdo", url="https://user:s3cret@www.gov.uk/fcdo.atom?a=1&b=2"),
        Source(
            id="mofa-list",
            url="https://www.mofa.gov.qa/en/latest-news",
            type="html",
            select={"item": "div.news", "title": "h3", "link": "a@href"},
        ),
        ConsoleSource(id="from-console", url="https://example.org/feed", name="Console\x00 feed"),
    ]
    text, notes = write_opml(sources, now=datetime(2019, 3, 13, 7, tzinfo=UTC))
    assert "s3cret" not in text and "user" not in text
    assert notes == [
        "fcdo: the credentials in its URL are left out of the OPML",
        "1 html source(s) left out: a listing page is not a feed that another reader can "
        "follow (mofa-list)",
    ]
    parsed = listparser.parse(text)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.meta.title == "monitor sources"
    assert [(f.url, f.title) for f in parsed.feeds] == [
        ("https://www.mofa.gov.qa/ar/rss", 'وزارة الخارجية <قطر> & "الخليج"'),
        ("https://www.gov.uk/fcdo.atom?a=1&b=2", "fcdo"),
        ("https://example.org/feed", "Console feed"),
    ]
    back = read_opml(text.encode(), "export.opml")
    assert [(s["id"], s["url"], s.get("language")) for s in back.sources] == [
        ("mofa-gov-qa-ar-rss", "https://www.mofa.gov.qa/ar/rss", "ar"),
        ("fcdo", "https://www.gov.uk/fcdo.atom?a=1&b=2", None),
        ("console-feed", "https://example.org/feed", None),
    ]
    assert back.notes == []
    assert 'version="2.0"' in text and "<dateCreated>Wed, 13 Mar 2019 07:00:00 +0000" in text
    assert 'htmlUrl="https://www.mofa.gov.qa/"' in text


def test_listparser_reads_the_reader_export_as_we_do() -> None:
    """Our reading of a reader's export agrees with an independent one (bar the skips)."""
    theirs = {f.url.lower() for f in listparser.parse(READER_EXPORT).feeds}
    ours = {s["url"].lower() for s in read_opml(READER_EXPORT.encode(), "x").sources}
    assert ours <= theirs
    assert theirs - ours <= {"file:///etc/passwd", "feed://example.org/rss"}


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", "x.opml: line 1: not well-formed XML:"),
        (
            b"<opml><body><outline></body></opml>",
            "x.opml: line 1: not well-formed XML: Opening and ending tag mismatch",
        ),
        (
            b'<?xml version="1.0"?>\n<opml>\n<body>\n<outline text="a & b"/>\n</body></opml>',
            "x.opml: line 4: not well-formed XML:",
        ),
        (
            b'<?xml version="1.0"?>\n<rss version="2.0"><channel/></rss>',
            "x.opml: line 2: the document is <rss>, not <opml>: not an OPML file",
        ),
        (b"<opml version='2.0'>\n<head/>\n</opml>", "x.opml: line 1: <opml> has no <body>"),
        (b"\xff\xfe\x00garbage", "x.opml: line 1: not well-formed XML:"),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE opml [\n<!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
            b'<opml><body><outline text="&xxe;" xmlUrl="https://a.example/"/></body></opml>',
            "x.opml: line 3: entity declarations are not allowed in OPML",
        ),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>\n'
            b"<opml><body><outline text='&lol2;' xmlUrl='https://a.example/'/></body></opml>",
            "x.opml: line 2: entity declarations are not allowed in OPML",
        ),
        (
            b'<?xml version="1.0"?>\n<opml><body><outline text="&undefined;" xmlUrl="https://a.example/"/></body></opml>',
            "x.opml: line 2: not well-formed XML:",
        ),
    ],
)
def test_a_malformed_file_is_one_error_naming_where(data: bytes, error: str) -> None:
    with pytest.raises(ParseError) as caught:
        read_opml(data, "x.opml")
    message = str(caught.value)
    assert message.startswith(error), message
    assert "\n" not in message


def test_an_external_dtd_is_never_fetched(tmp_path) -> None:  # type: ignore[no-untyped-def]
    secret = tmp_path / "secret.dtd"
    secret.write_text('<!ENTITY leak "LEAKED">', encoding="utf-8")
    data = (
        f'<?xml version="1.0"?>\n<!DOCTYPE opml SYSTEM "{secret.as_uri()}">\n'
        '<opml><body><outline text="t" xmlUrl="https://a.example/"/></body></opml>'
    ).encode()
    imported = read_opml(data, "x.opml")
    assert [s["name"] for s in imported.sources] == ["t"]
    assert "LEAKED" not in repr(imported)
