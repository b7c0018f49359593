"""Date forms ministries publish, each with the exact instant it means (or None)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.parse.dates import clamp_future, parse_date

QATAR = "Asia/Qatar"  # UTC+3 all year
BERLIN = "Europe/Berlin"  # CET/CEST
BEIRUT = "Asia/Beirut"  # EET/EEST
NEW_YORK = "America/New_York"

# (text, zone it is read in, expected instant in UTC or None)
CASES: list[tuple[str, str, str | None]] = [
    # RFC 822 / 2822
    ("Wed, 13 Mar 2019 10:00:00 +0300", BERLIN, "2019-03-13T07:00:00"),
    ("Wed, 13 Mar 2019 07:00:00 GMT", QATAR, "2019-03-13T07:00:00"),
    ("WED, 13 MAR 2019 07:00:00 GMT", QATAR, "2019-03-13T07:00:00"),
    ("13 Mar 2019 07:00:00 UT", QATAR, "2019-03-13T07:00:00"),
    ("Wed, 13 Mar 2019 10:00:00 EST", QATAR, "2019-03-13T15:00:00"),
    ("Wed, 13 Mar 2019 10:00:00", QATAR, "2019-03-13T07:00:00"),
    ("Wed, 13 Mar 2019 10:00:00 -0000", QATAR, "2019-03-13T10:00:00"),
    # ISO 8601
    ("2019-03-13T10:00:00+03:00", NEW_YORK, "2019-03-13T07:00:00"),
    ("2019-03-13T07:00:00Z", QATAR, "2019-03-13T07:00:00"),
    ("2019-03-13T07:00:00.123456Z", QATAR, "2019-03-13T07:00:00.123456"),
    ("2019-03-13 10:00 +0300", QATAR, "2019-03-13T07:00:00"),
    ("2019-03-13T10:00:00", QATAR, "2019-03-13T07:00:00"),
    ("2019-03-13", QATAR, "2019-03-12T21:00:00"),
    ("2019-07-01T12:00:00", BERLIN, "2019-07-01T10:00:00"),  # CEST
    ("2019-01-01T12:00:00", BERLIN, "2019-01-01T11:00:00"),  # CET
    # GMT+3 / UTC+03:00 style
    ("13 Mar 2019 10:00 GMT+3", BERLIN, "2019-03-13T07:00:00"),
    ("UTC+03:00 13/03/2019 10:00", NEW_YORK, "2019-03-13T07:00:00"),
    ("13/03/2019 10:00 (GMT-04:30)", QATAR, "2019-03-13T14:30:00"),
    ("13 مارس 2019 10:00 بتوقيت غرينتش", QATAR, "2019-03-13T10:00:00"),
    # day-first numeric dates
    ("20/03/2019", QATAR, "2019-03-19T21:00:00"),
    ("20-03-2019", QATAR, "2019-03-19T21:00:00"),
    ("20.03.2019", QATAR, "2019-03-19T21:00:00"),
    ("05/03/2019", QATAR, "2019-03-04T21:00:00"),  # 5 March, not 3 May
    ("5/3/2019 14:30", BERLIN, "2019-03-05T13:30:00"),
    ("03/20/2019", QATAR, "2019-03-19T21:00:00"),  # cannot be day-first
    ("2019/03/20", QATAR, "2019-03-19T21:00:00"),
    ("٢٠/٠٣/٢٠١٩", QATAR, "2019-03-19T21:00:00"),
    ("۲۰/۰۳/۲۰۱۹ ۱۰:۳۰", QATAR, "2019-03-20T07:30:00"),
    # Arabic month names, Levantine/Iraqi family
    ("13 كانون الثاني 2019", QATAR, "2019-01-12T21:00:00"),
    ("13 شباط 2019", QATAR, "2019-02-12T21:00:00"),
    ("الأربعاء، ١٣ آذار ٢٠١٩", QATAR, "2019-03-12T21:00:00"),
    ("13 اذار 2019", QATAR, "2019-03-12T21:00:00"),
    ("13 نيسان 2019", BEIRUT, "2019-04-12T21:00:00"),  # EEST
    ("13 أيار 2019", QATAR, "2019-05-12T21:00:00"),
    ("13 ايار 2019", QATAR, "2019-05-12T21:00:00"),
    ("13 حزيران 2019", QATAR, "2019-06-12T21:00:00"),
    ("13 تموز 2019", QATAR, "2019-07-12T21:00:00"),
    ("13 آب 2019", QATAR, "2019-08-12T21:00:00"),
    ("13 أيلول 2019", QATAR, "2019-09-12T21:00:00"),
    ("13 تشرين الأول 2019", QATAR, "2019-10-12T21:00:00"),
    ("13 تشرين الثاني 2019", QATAR, "2019-11-12T21:00:00"),
    ("13 كانون الأول 2019", BEIRUT, "2019-12-12T22:00:00"),  # EET
    ("١٣ آذار/مارس ٢٠١٩ - ١٠:٣٠ ص", QATAR, "2019-03-13T07:30:00"),
    ("١٣ آذار (مارس) ٢٠١٩", QATAR, "2019-03-12T21:00:00"),
    # Egyptian/Gulf family, spelling variants
    ("13 يناير 2019", QATAR, "2019-01-12T21:00:00"),
    ("13 فبراير 2019", QATAR, "2019-02-12T21:00:00"),
    ("بروكسل - المكتب الإعلامي - 13 مارس 2019", QATAR, "2019-03-12T21:00:00"),
    ("13 أبريل 2019", QATAR, "2019-04-12T21:00:00"),
    ("13 ابريل 2019", QATAR, "2019-04-12T21:00:00"),
    ("13 إبريل 2019", QATAR, "2019-04-12T21:00:00"),
    ("13 مايو 2019م", QATAR, "2019-05-12T21:00:00"),
    ("13 يونيو 2019", QATAR, "2019-06-12T21:00:00"),
    ("13 يونيه 2019", QATAR, "2019-06-12T21:00:00"),
    ("13 يوليو 2019", QATAR, "2019-07-12T21:00:00"),
    ("13 يوليه 2019", QATAR, "2019-07-12T21:00:00"),
    ("13 أغسطس 2019", QATAR, "2019-08-12T21:00:00"),
    ("13 اغسطس 2019", QATAR, "2019-08-12T21:00:00"),
    ("13 سبتمبر 2019", QATAR, "2019-09-12T21:00:00"),
    ("13 أكتوبر 2019", QATAR, "2019-10-12T21:00:00"),
    ("۱۳ اكتوبر ۲۰۱۹", QATAR, "2019-10-12T21:00:00"),
    ("13 نوفمبر 2019", QATAR, "2019-11-12T21:00:00"),
    ("13 ديسمبر 2019", QATAR, "2019-12-12T21:00:00"),
    ("الخميس 13 ديسمبر، 2019", QATAR, "2019-12-12T21:00:00"),
    ("الأربعاء 6 رجب 1440هـ الموافق 13 مارس 2019م", QATAR, "2019-03-12T21:00:00"),
    # times with ص/م and spelled-out markers
    ("20/03/2019 10:30 م", QATAR, "2019-03-20T19:30:00"),
    ("20/03/2019 12:05 ص", QATAR, "2019-03-19T21:05:00"),  # 00:05 local
    ("20/03/2019 12:05 م", QATAR, "2019-03-20T09:05:00"),
    ("13 كانون الثاني 2019 الساعة 3:15 مساءً", QATAR, "2019-01-13T12:15:00"),
    ("13 يناير 2019 - 9:00 صباحاً", QATAR, "2019-01-13T06:00:00"),
    ("13 يناير 2019 - 1:30 ظهراً", QATAR, "2019-01-13T10:30:00"),
    # English month names
    ("March 13, 2019 10:00 AM", QATAR, "2019-03-13T07:00:00"),
    ("March 13, 2019 10:00 p.m.", QATAR, "2019-03-13T19:00:00"),
    ("Mar 13th, 2019", QATAR, "2019-03-12T21:00:00"),
    ("13 March 2019", BERLIN, "2019-03-12T23:00:00"),
    ("Thursday 4 July 2019 09:15", NEW_YORK, "2019-07-04T13:15:00"),  # EDT
    ("Sept. 3, 2019", QATAR, "2019-09-02T21:00:00"),
    # DST edges: a local time that does not exist or happens twice is refused
    ("2019-03-31 02:30", BERLIN, None),
    ("2019-10-27 02:30", BERLIN, None),
    ("2019-10-27 02:30 +0100", BERLIN, "2019-10-27T01:30:00"),
    ("2019-03-31 03:30", BERLIN, "2019-03-31T01:30:00"),
    ("2019-03-10 02:30", NEW_YORK, None),
    # refused: not sure
    ("", QATAR, None),
    ("garbage", QATAR, None),
    ("20/03/19", QATAR, None),  # two-digit year
    ("10:00 AST 13/03/2019", QATAR, None),  # AST: UTC+3 or UTC-4
    ("13 March 2019 10:00 CET", QATAR, None),
    ("13 March 2019 10:00 Doha time", QATAR, None),
    ("13 مارس 2019 10:00 بتوقيت الدوحة", QATAR, None),
    ("13 آذار/أبريل 2019", QATAR, None),  # the two month names disagree
    ("20/03/2019 - 21/03/2019", QATAR, None),
    ("20/03/2019 10:00 11:00", QATAR, None),
    ("31/02/2019", QATAR, None),
    ("13 March 2019 25:00", QATAR, None),
    ("13 March 2019 14:00 am", QATAR, None),
    ("March 2019", QATAR, None),
    ("13 March", QATAR, None),
    ("13/03/1850", QATAR, None),
    ("13/03/2019 10:00 GMT+15", QATAR, None),
    ("1552460400", QATAR, None),
    ("13 March 2019, 1,234 views", QATAR, None),
]


@pytest.mark.parametrize(("text", "zone", "expected"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_parse_date(text: str, zone: str, expected: str | None) -> None:
    got = parse_date(text, ZoneInfo(zone))
    if expected is None:
        assert got is None
    else:
        assert got == datetime.fromisoformat(expected).replace(tzinfo=UTC)
        assert got is not None and got.utcoffset() == timedelta(0)


def test_invisible_marks_and_tatweel_are_ignored() -> None:
    text = "\u200f١٣ آذار\u200e ٢٠١٩ ١٠:٣٠ مـ"  # tatweel after the PM marker
    assert parse_date(text, ZoneInfo(QATAR)) == datetime(2019, 3, 13, 19, 30, tzinfo=UTC)
    assert parse_date("\u200f١٣ آذار\u200e ٢٠١٩", ZoneInfo(QATAR)) == datetime(
        2019, 3, 12, 21, tzinfo=UTC
    )


NOW = datetime(2019, 3, 13, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("published", "clamped", "warned"),
    [
        (NOW - timedelta(days=3), NOW - timedelta(days=3), False),
        (NOW + timedelta(hours=23), NOW + timedelta(hours=23), False),
        (NOW + timedelta(days=1), NOW + timedelta(days=1), False),
        (NOW + timedelta(days=1, seconds=1), NOW, True),
        (NOW + timedelta(days=400), NOW, True),
    ],
)
def test_clamp_future(published: datetime, clamped: datetime, warned: bool) -> None:
    got, warning = clamp_future(published, NOW)
    assert got == clamped
    assert (warning is not None) == warned
    if warning:
        assert "future" in warning
