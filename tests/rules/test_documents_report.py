"""rules test documents (txt, html, JSON releases, feeds) and its JSON/terminal output."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from monitor.model import Document, RuleMatch
from monitor.parse.documents import documents_from_bytes, load_documents
from monitor.rules.matcher import RuleSpec, compile_rules
from monitor.rules.report import render_text, to_json_lines, use_color
from tests.conftest import FEEDS_DIR, SEED_RELEASE, require_corpus


def test_txt_first_line_is_title(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("\n\n  NATO meets  \nbody line\n\nmore\n", encoding="utf-8")
    ((name, doc),) = load_documents(str(path))
    assert name == str(path)
    assert (doc.title, doc.content) == ("NATO meets", "body line\n\nmore")


HTML = [
    ("<html><head><title>T</title></head><body><h1>H</h1><p>x</p></body></html>", "T"),
    (
        "<html><body><h1>Head <b>one</b></h1><p>x</p><script>NATO()</script></body></html>",
        "Head one",
    ),
]


@pytest.mark.parametrize(("markup", "title"), HTML)
def test_html_title_and_visible_text(tmp_path: Path, markup: str, title: str) -> None:
    path = tmp_path / "a.html"
    path.write_text(markup, encoding="utf-8")
    ((_, doc),) = load_documents(str(path))
    assert doc.title == title
    assert "x" in doc.content
    assert "NATO" not in doc.content


def test_json_release_list(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    releases = [
        {"id": "r1", "title": "الناتو", "content": "c", "source": "mofa", "language": "ar"},
        {"title": "two", "url": "https://x/2"},
    ]
    path.write_text(json.dumps(releases), encoding="utf-8")
    docs = load_documents(str(path))
    assert [name for name, _ in docs] == ["r1", f"{path}#2"]
    assert docs[0][1] == Document(title="الناتو", content="c", source="mofa", lang="ar")


def test_feed_file_gives_one_document_per_item() -> None:
    path = FEEDS_DIR / "rbren__rss-parser" / "test" / "input" / "content-encoded.rss"
    require_corpus()
    docs = load_documents(str(path))
    assert docs
    assert all("<" not in doc.content for _, doc in docs)


def test_feed_titles_are_text_as_the_pipeline_stores_them() -> None:
    # SPEC section 4: a title is text; `rules test` on a feed shows what `poll` stores
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b"<item><title>A&lt;B and C&gt;D NATO</title><link>https://x.example/1</link>"
        b"<description>&lt;p&gt;About &lt;b&gt;NATO&lt;/b&gt;&lt;/p&gt;</description></item>"
        b"</channel></rss>"
    )
    [(name, doc)] = documents_from_bytes(
        body, {"content-type": "application/rss+xml"}, "https://x.example/feed.xml"
    )
    assert doc.title == "A<B and C>D NATO"
    assert f"{doc.summary} {doc.content}".strip() == "About NATO"  # a description is HTML
    assert name == "https://x.example/1"


def test_fetched_html_body_is_one_document() -> None:
    docs = documents_from_bytes(
        b"<html><title>NATO</title><p>x</p></html>", {"Content-Type": "text/html"}, "https://x/"
    )
    assert [(n, d.title) for n, d in docs] == [("https://x/", "NATO")]


def seed_results() -> list[tuple[str, Document, list[RuleMatch]]]:
    matcher = compile_rules([RuleSpec("nato", "NATO", '"حلف شمال الأطلسي"')], {})
    docs = [*load_documents(str(SEED_RELEASE)), ("empty", Document(title="nothing"))]
    return [(name, doc, matcher.match(doc)) for name, doc in docs]


def test_json_lines_shape() -> None:
    (line,) = list(to_json_lines(seed_results()))
    record = json.loads(line)
    assert list(record) == ["rule", "document", "title", "matches"]
    assert record["rule"] == "nato"
    assert record["document"] == str(SEED_RELEASE)
    first = record["matches"][0]
    assert list(first) == ["field", "term", "start", "end", "snippet"]
    assert (first["field"], first["term"]) == ("title", "لحلف شمال الأطلسي")
    assert "لحلف" in line  # not \\u-escaped


def test_terminal_text_highlights_and_counts() -> None:
    plain = list(render_text(seed_results(), ["nato", "quiet"]))
    assert any("»لحلف شمال الأطلسي«" in line for line in plain)
    assert plain[-2:] == ["nato   1 of 2 documents", "quiet  0 of 2 documents"]
    colored = list(render_text(seed_results(), ["nato"], color=True))
    assert any("\x1b[1;31mلحلف شمال الأطلسي\x1b[0m" in line for line in colored)


def test_terminal_text_neutralises_control_characters() -> None:
    doc = Document(title="NATO \x1b[2J")
    matcher = compile_rules([RuleSpec("n", "n", "NATO")], {})
    lines = list(render_text([("d", doc, matcher.match(doc))], ["n"], color=True))
    assert not any("\x1b[2J" in line for line in lines)


def test_no_color_off_a_terminal() -> None:
    assert use_color(io.StringIO()) is False
