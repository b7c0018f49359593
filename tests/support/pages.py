"""Listing pages that build their list with a script, and hostile ones, for ``render: browser``.

Each is served by the loopback server; ``SELECT`` is the source's ``select:`` for them.
"""

from __future__ import annotations

import os

import pytest

from monitor.errors import FetchBrowserError
from monitor.render import find_chromium

HTML = {"Content-Type": "text/html; charset=utf-8"}
SELECT = '{item: "li.news-item", title: "h3", link: "a@href"}'
TITLES = ("الناتو يرحب بالاتفاق", "وزير الخارجية يستقبل سفير اليابان", "Cyber defence talks")


def require_chromium() -> str:
    """The browser's path; skips the test when there is none (fails under CI=true)."""
    try:
        return find_chromium()
    except FetchBrowserError as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(f"{exc} (the browser tests need it)")


def page(script: str, body: str = '<ul id="news"></ul>') -> bytes:
    return (
        '<!doctype html><html lang="ar"><head><meta charset="windows-1256"><title>news</title>'
        f"</head><body>{body}<script>{script}</script></body></html>"
    ).encode()


# the list appears only after a delay, built from data a script holds (as a JSON answer
# would be); the page declares windows-1256, which the rendered copy no longer is
BUILT_LATER = page(
    "const titles = " + repr(list(TITLES)).replace("'", '"') + ";"
    """
    setTimeout(() => {
      const list = document.getElementById("news");
      titles.forEach((title, i) => {
        const li = document.createElement("li");
        li.className = "news-item";
        li.innerHTML = '<h3></h3><a href="/ar/news/' + i + '">more</a>';
        li.querySelector("h3").textContent = title;
        list.appendChild(li);
      });
    }, 700);
    """
)
NEVER_FINISHES = page("setTimeout(() => { for (;;) {} }, 100);")
NAVIGATES_AWAY = page("setTimeout(() => { location.href = '/bounce?' + Math.random(); }, 50);")
POP_UPS = page(
    """
    for (let i = 0; i < 20; i++) { window.open('/popup?' + i, '_blank'); }
    alert('welcome'); confirm('stay?'); prompt('name?');
    setInterval(() => { window.open('/popup', '_blank'); }, 50);
    """
    + "setTimeout(() => { document.getElementById('news').innerHTML = "
    + '\'<li class="news-item"><h3>بعد النوافذ</h3><a href="/n/1">x</a></li>\'; }, 300);'
)
EATS_MEMORY = page(
    "const hoard = []; setTimeout(() => { for (;;) { hoard.push(new Array(1e6).fill(7)); } }, 50);"
)
HUGE = page(
    "const list = document.getElementById('news');"
    "for (let i = 0; i < 5000; i++) { const li = document.createElement('li');"
    "li.className = 'news-item'; li.innerHTML = '<h3>item ' + i + ' ' + 'x'.repeat(100) + "
    "'</h3><a href=\"/n/' + i + '\">x</a>'; list.appendChild(li); }"
)
