"""Hijri dates on a real listing page, through ``prepare``: a Saudi-style page whose items
show only the Hijri date, or both calendars; a disagreement is one warning on the poll."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.parse.prepare import Recipe, prepare

PAGE = """<!doctype html><html lang="ar"><head><meta charset="utf-8"><title>الأخبار</title></head>
<body><ul class="news">
  <li class="item"><a href="/news/1"><h3>وزير الخارجية يستقبل سفير اليابان</h3></a>
      <span class="date">الجمعة ١٥ رجب ١٤٤٠هـ</span></li>
  <li class="item"><a href="/news/2"><h3>المملكة تشارك في اجتماع الناتو</h3></a>
      <span class="date">1440/07/16 هـ</span></li>
  <li class="item"><a href="/news/3"><h3>بيان وزارة الخارجية</h3></a>
      <span class="date">الأحد 17 رجب 1440 هـ الموافق 24 مارس 2019 م</span></li>
  <li class="item"><a href="/news/4"><h3>خبر بتاريخين مختلفين</h3></a>
      <span class="date">18 رجب 1440 هـ الموافق 25 أبريل 2019 م</span></li>
  <li class="item"><a href="/news/5"><h3>خبر بتاريخ مستحيل</h3></a>
      <span class="date">31 رجب 1440 هـ</span></li>
</ul></body></html>
"""

RECIPE = Recipe(
    "html",
    "mofa-sa",
    "auto",
    None,
    "Asia/Riyadh",
    (("item", "li.item"), ("title", "h3"), ("link", "a@href"), ("date", "span.date")),
)
NOW = datetime(2019, 4, 30, tzinfo=UTC)


def test_a_listing_with_hijri_dates() -> None:
    prepared = prepare(
        PAGE.encode(), {"content-type": "text/html"}, "https://mofa.example/", RECIPE, NOW
    )
    published = {r.url.rsplit("/", 1)[1]: r.published for r in prepared.releases}
    assert published == {
        "1": datetime(2019, 3, 21, 21, tzinfo=UTC),  # 15 Rajab 1440 = 22 March 2019, Riyadh
        "2": datetime(2019, 3, 22, 21, tzinfo=UTC),
        "3": datetime(2019, 3, 23, 21, tzinfo=UTC),
        "4": datetime(2019, 4, 24, 21, tzinfo=UTC),  # the Gregorian date wins
        "5": None,  # not understood: the first-seen time stands in, with the listing's warning
    }
    assert {r.language for r in prepared.releases} == {"ar"}
    disagreements = [w for w in prepared.warnings if "disagree" in w]
    assert disagreements == [
        "the Hijri date (2019-03-25 by Umm al-Qura) and the Gregorian date (2019-04-25) "
        "disagree; using 2019-04-25"
    ]
    assert any("1 date not understood" in w and "31 رجب" in w for w in prepared.warnings)
