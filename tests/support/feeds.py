"""Build small RSS feeds for tests, and the seed release as an item of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape

from tests.conftest import SEED_RELEASE


@dataclass(frozen=True)
class Item:
    guid: str
    title: str
    description: str
    link: str
    published: datetime | None = None


def rss(
    items: list[Item], *, title: str = "Ministry", language: str = "ar", encoding: str = "utf-8"
) -> bytes:
    parts = [
        f'<?xml version="1.0" encoding="{encoding}"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>https://ministry.example/</link>",
        f"<description>{escape(title)}</description><language>{language}</language>",
    ]
    for item in items:
        parts.append("<item>")
        parts.append(f'<guid isPermaLink="false">{escape(item.guid)}</guid>')
        parts.append(f"<title>{escape(item.title)}</title>")
        parts.append(f"<link>{escape(item.link)}</link>")
        parts.append(f"<description>{escape(item.description)}</description>")
        if item.published is not None:
            parts.append(f"<pubDate>{format_datetime(item.published)}</pubDate>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode(encoding)


def seed() -> tuple[str, str]:
    """(title, body) of the seed release: its first non-empty line, then the rest."""
    lines = [line.strip() for line in SEED_RELEASE.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line]
    return lines[0], "\n\n".join(lines[1:])


UNRELATED = [
    (
        "وزير الخارجية يستقبل سفير اليابان",
        "استقبل سعادة وزير الخارجية اليوم سفير اليابان لدى الدولة وجرى بحث العلاقات الثنائية في مجالات التجارة والطاقة والتعليم.",
    ),
    (
        "قطر تشارك في مؤتمر المناخ",
        "شاركت دولة قطر في أعمال مؤتمر الأمم المتحدة للمناخ وأكدت التزامها بخفض الانبعاثات ودعم الطاقة المتجددة.",
    ),
    (
        "Minister receives credentials of new ambassadors",
        "The Minister received the credentials of the new ambassadors of Brazil, Kenya and Norway and wished them success.",
    ),
]
