"""Main text of a release's own page: the body, not the page furniture around it."""

from __future__ import annotations

import html
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.extract import extract_main_text
from tests.conftest import SEED_RELEASE

TEMPLATE = Path(__file__).parent / "pages" / "article-template.html"
URL = "https://www.mofa.gov.qa/ar/news/2019/03/13/nato"
FURNITURE = [
    "ملفات تعريف الارتباط",
    "الخدمات القنصلية والتصديقات",
    "أخبار ذات صلة",
    "سفير جمهورية ألمانيا الاتحادية",
    "جميع الحقوق محفوظة",
    "خريطة الموقع",
    "trackPageView",
    "dataLayer",
    "واتساب",
]


def seed() -> tuple[str, list[str]]:
    lines = [ln.strip() for ln in SEED_RELEASE.read_text(encoding="utf-8").splitlines()]
    lines = [ln for ln in lines if ln]
    return lines[0], lines[1:]


def article_page(charset: str = "utf-8") -> bytes:
    title, paragraphs = seed()
    body = "\n".join(f"      <p>{html.escape(p)}</p>" for p in paragraphs)
    page = TEMPLATE.read_text(encoding="utf-8").format(
        charset=charset, title=html.escape(title), paragraphs=body
    )
    return page.encode(charset)


@pytest.fixture(params=["auto", "heuristic"])
def extractor(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run each test with trafilatura (if installed) and with the lxml heuristic alone: as
    on an install without trafilatura (its import fails)."""
    if request.param == "heuristic":
        monkeypatch.setitem(sys.modules, "trafilatura", None)
    yield request.param


@pytest.mark.parametrize("charset", ["utf-8", "windows-1256"])
def test_article_body_without_the_furniture(extractor: str, charset: str) -> None:
    headers = {"Content-Type": f"text/html; charset={charset}"}
    text = extract_main_text(article_page(charset), headers, URL)
    _, paragraphs = seed()
    flat = " ".join(text.split())
    for paragraph in paragraphs:
        assert " ".join(paragraph.split()) in flat
    for noise in FURNITURE:
        assert noise not in text
    assert "\n\n" in text  # paragraphs stay apart


def test_with_a_content_selector() -> None:
    text = extract_main_text(article_page(), {}, URL, content_selector="div.article-body p")
    _, paragraphs = seed()
    assert text.split("\n\n") == [" ".join(p.split()) for p in paragraphs]


def test_content_selector_matching_nothing_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match=r"content selector 'div\.story' matched nothing"):
        extract_main_text(article_page(), {}, URL, content_selector="div.story")


def test_invalid_content_selector_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="content selector 'div\\['"):
        extract_main_text(article_page(), {}, URL, content_selector="div[")


def test_a_page_with_only_short_text(extractor: str) -> None:
    page = "<html><body><nav><a href='/'>الرئيسية</a></nav><div>بيان قصير.</div></body></html>"
    text = extract_main_text(page.encode(), {}, URL)
    assert "الرئيسية" not in text


def test_garbage_is_a_parse_error(extractor: str) -> None:
    with pytest.raises(ParseError):
        extract_main_text(b"", {}, URL)
