"""``monitor poll`` with a feed whose releases' own pages build their text with a script
(``full_text: true`` and ``render: browser``): the text is read from the rendered page, the
rule that only the body satisfies matches, and no browser process outlives the command."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import ROOT
from tests.render.test_render import browser_pids
from tests.support import pages
from tests.support.feeds import Item, rss
from tests.support.http_server import LoopbackServer, Response

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BODY = "عقد وزير الخارجية اجتماعاً مع الأمين العام لحلف شمال الأطلسي لبحث التعاون الأمني."
ARTICLE = pages.page(
    "setTimeout(() => { const p = document.createElement('p');"
    f" p.textContent = {BODY!r}; document.querySelector('article').appendChild(p); }}, 200);",
    body="<article><h1>اجتماع</h1></article>",
)


def test_poll_reads_full_text_from_rendered_pages(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    pages.require_chromium()
    item = Item("a1", "اجتماع وزاري", "", http_server.url("/ar/news/1"), datetime.now(UTC))
    http_server.route("/rss", Response(body=rss([item])))
    http_server.route("/ar/news/1", Response(body=ARTICLE, headers=pages.HTML))
    database = tmp_path / "monitor.db"
    config = tmp_path / "monitor.yaml"
    config.write_text(
        textwrap.dedent(f"""\
        database: sqlite:///{database}
        sources:
          - id: mofa
            url: {http_server.url("/rss")}
            full_text: true
            render: browser
        rules:
          - {{id: nato, query: '"حلف شمال الأطلسي"', channels: [console]}}
        channels:
          - {{id: console, type: log}}
        """),
        encoding="utf-8",
    )
    before = set(browser_pids("--monitor-browser="))
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "poll"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    engine = sa.create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        content = connection.execute(sa.text("SELECT content FROM releases")).scalar_one()
        alerts = connection.execute(sa.text("SELECT count(*) FROM alerts")).scalar_one()
    engine.dispose()
    assert BODY in content
    assert alerts == 1
    assert set(browser_pids("--monitor-browser=")) <= before
