"""Fixtures for the channel tests: sample alerts (one from the seed release), SMTP servers."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from monitor.model import Hit
from monitor.notify.payload import AlertView
from tests.conftest import SEED_RELEASE
from tests.notify.smtp_server import SmtpServer, TlsFiles, make_self_signed

DOHA = timezone(timedelta(hours=3))


def hit_in(field: str, text: str, term: str, width: int = 100) -> Hit:
    """The Hit a matcher would give for the first ``term`` in ``text``."""
    start = text.index(term)
    end = start + len(term)
    snippet = " ".join(text[max(0, start - width) : end + width].split())
    return Hit(field, term, start, end, snippet)


@pytest.fixture(scope="session")
def seed_alert() -> AlertView:
    """An alert for the real Arabic seed release (NATO rule, matched in title and content)."""
    lines = [line.strip() for line in SEED_RELEASE.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line]
    title, content = lines[0], "\n".join(lines[1:])
    return AlertView(
        alert_id="01J8ZK2Q7M-nato-ops",
        rule_id="nato",
        rule_name="NATO",
        release_id="rel-42",
        source_id="mofa-qa-ar",
        source_name="وزارة الخارجية - قطر",
        title=title,
        url="https://www.mofa.gov.qa/ar/all-mofa-news/details/2019/03/13/nato",
        published_at=datetime(2019, 3, 13, 10, 0, tzinfo=DOHA),
        language="ar",
        summary=lines[1],
        matches=(hit_in("title", title, "الناتو"), hit_in("content", content, "لحلف شمال الأطلسي")),
        copies=(("qna-ar", "https://www.qna.org.qa/ar/News/19031301"),),
    )


@pytest.fixture
def make_alert() -> Callable[..., AlertView]:
    """An English alert; keyword arguments replace fields."""

    def make(**changes: Any) -> AlertView:
        title = changes.pop("title", "Minister meets NATO Secretary General")
        fields: dict[str, Any] = {
            "alert_id": "alert-1",
            "rule_id": "nato",
            "rule_name": "NATO",
            "release_id": "rel-1",
            "source_id": "mofa-qa-en",
            "source_name": "MOFA Qatar",
            "title": title,
            "url": "https://www.mofa.gov.qa/en/news/1",
            "published_at": datetime(2019, 3, 13, 10, 0, tzinfo=DOHA),
            "language": "en",
            "summary": "Talks in Brussels on NATO cooperation.",
            "matches": (Hit("summary", "NATO", 18, 22, "Talks in Brussels on NATO cooperation."),),
            "copies": (),
        }
        fields.update(changes)
        fields["title"] = title
        return AlertView(**fields)

    return make


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    files = make_self_signed(tmp_path_factory.mktemp("tls"))
    if files is None:
        pytest.skip("neither the cryptography package nor the openssl command is available")
    return files


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., SmtpServer]]:
    """Factory: ``smtp_server(**aiosmtpd_kwargs)`` starts a recording SMTP server."""
    started: list[SmtpServer] = []

    def start(**kwargs: Any) -> SmtpServer:
        server = SmtpServer(**kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def templates_dir(tmp_path: Path) -> Path:
    return tmp_path / "templates"


@pytest.fixture(autouse=True)
def _collect_garbage(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each network test, collect: an unclosed socket is blamed on the test that leaked it."""
    yield
    if request.module.__name__.endswith(("_smtp", "_webhook")):
        gc.collect()
