"""Hijri dates as Saudi and Gulf ministries write them (Umm al-Qura), alone or beside the
Gregorian date; each with the instant it means, or None when it is not understood."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.parse.dates import parse_date, read_date

RIYADH = ZoneInfo("Asia/Riyadh")  # UTC+3 all year
# 15 Rajab 1440 AH is Friday 22 March 2019 (Umm al-Qura): midnight in Riyadh is 21:00 UTC
RAJAB_15 = "2019-03-21T21:00:00"

CASES: list[tuple[str, str | None]] = [
    # month names, with and without the mark, in every digit set
    ("15 رجب 1440 هـ", RAJAB_15),
    ("15 رجب 1440هـ", RAJAB_15),
    ("15 رجب 1440ه", RAJAB_15),
    ("15 رجب 1440", RAJAB_15),  # a Hijri month name needs no mark
    ("١٥ رجب ١٤٤٠ هـ", RAJAB_15),  # Arabic-Indic digits
    ("۱۵ رجب ۱۴۴۰ هـ", RAJAB_15),  # Persian digits
    ("الجمعة ١٥ رَجَب ١٤٤٠هـ", RAJAB_15),  # weekday, harakat
    ("15 رجب 1440 هجري", RAJAB_15),
    ("15 رجب، 1440 هـ", RAJAB_15),
    ("15 Rajab 1440 AH", RAJAB_15),
    # numeric forms need the mark
    ("1440/07/15 هـ", RAJAB_15),
    ("1440/7/15هـ", RAJAB_15),
    ("1440-07-15 هـ", RAJAB_15),
    ("15/7/1440هـ", RAJAB_15),
    ("15/07/1440 هـ", RAJAB_15),
    ("١٤٤٠/٠٧/١٥ هـ", RAJAB_15),
    ("١٥/٧/١٤٤٠هـ", RAJAB_15),
    ("1440/07/15", None),  # no mark: a year 1440 is refused, not guessed
    ("15/07/1440", None),
    # month names as sites spell them (first of each month, 1440 AH)
    ("1 محرم 1440 هـ", "2018-09-10T21:00:00"),
    ("1 المحرم 1440 هـ", "2018-09-10T21:00:00"),
    ("1 صفر 1440 هـ", "2018-10-09T21:00:00"),
    ("1 ربيع الأول 1440 هـ", "2018-11-08T21:00:00"),
    ("1 ربيع الاول 1440 هـ", "2018-11-08T21:00:00"),
    ("1 ربيع أول 1440 هـ", "2018-11-08T21:00:00"),
    ("1 ربيع الثاني 1440 هـ", "2018-12-07T21:00:00"),
    ("1 ربيع الآخر 1440 هـ", "2018-12-07T21:00:00"),
    ("1 ربيع الاخر 1440 هـ", "2018-12-07T21:00:00"),
    ("1 جمادى الأولى 1440 هـ", "2019-01-06T21:00:00"),
    ("1 جمادى الاولى 1440 هـ", "2019-01-06T21:00:00"),
    ("1 جمادي الاولي 1440 هـ", "2019-01-06T21:00:00"),
    ("1 جمادى الآخرة 1440 هـ", "2019-02-05T21:00:00"),
    ("1 جمادى الاخرة 1440 هـ", "2019-02-05T21:00:00"),
    ("1 جمادى الثانية 1440 هـ", "2019-02-05T21:00:00"),
    ("1 رجب 1440 هـ", "2019-03-07T21:00:00"),
    ("1 شعبان 1440 هـ", "2019-04-05T21:00:00"),
    ("1 رمضان 1440 هـ", "2019-05-05T21:00:00"),
    ("1 شوال 1440 هـ", "2019-06-03T21:00:00"),
    ("1 ذو القعدة 1440 هـ", "2019-07-03T21:00:00"),
    ("1 ذي القعدة 1440 هـ", "2019-07-03T21:00:00"),
    ("1 ذى القعدة 1440هـ", "2019-07-03T21:00:00"),
    ("10 ذو الحجة 1440 هـ", "2019-08-10T21:00:00"),
    ("10 ذي الحجة 1440 هـ", "2019-08-10T21:00:00"),
    # with a time
    ("15 رجب 1440 هـ 10:30 ص", "2019-03-22T07:30:00"),
    ("15 رجب 1440 هـ - 8:15 مساءً", "2019-03-22T17:15:00"),
    # both calendars: the Gregorian date is the one read
    ("الأحد 15 رجب 1440 هـ الموافق 22 مارس 2019 م", RAJAB_15),
    ("الجمعة 15 رجب 1440هـ الموافق 22 مارس 2019م", RAJAB_15),
    ("22 مارس 2019م الموافق 15 رجب 1440هـ", RAJAB_15),
    ("15 رجب 1440 هـ - 22 مارس 2019 م", RAJAB_15),
    ("1440/07/15 هـ الموافق 2019/03/22 م", RAJAB_15),
    ("16 رجب 1440 هـ الموافق 22 مارس 2019 م", RAJAB_15),  # a day off: the Gregorian wins
    ("30 رجب 1440 هـ الموافق 6 أبريل 2019", "2019-04-05T21:00:00"),  # moon sighting's 30th
    # not understood: impossible or outside Umm al-Qura's table, or incomplete
    ("1440/13/01 هـ", None),
    ("15/13/1440هـ", None),
    ("31 رجب 1440 هـ", None),
    ("30 رجب 1440 هـ", None),  # Rajab 1440 has 29 days in the table
    ("0 رجب 1440 هـ", None),
    ("15 رجب 1600 هـ", None),
    ("15 رجب 1300 هـ", None),
    ("15 رجب 99999 هـ", None),
    ("رجب 1440 هـ", None),
    ("15 رجب", None),
    ("15 رجب 1440 هـ 16 رجب 1440 هـ", None),  # two Hijri dates
    ("15 رجب 1440 هـ الموافق 22 مارس 2019 م و 23 مارس 2019", None),  # two Gregorian
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_hijri_dates(text: str, expected: str | None) -> None:
    got = parse_date(text, RIYADH)
    if expected is None:
        assert got is None
    else:
        assert got == datetime.fromisoformat(expected).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "الأحد 15 رجب 1440 هـ الموافق 22 مارس 2019 م",
        "16 رجب 1440 هـ الموافق 22 مارس 2019 م",  # sighting one day ahead of the table
        "13 رجب 1440 هـ الموافق 22 مارس 2019 م",  # two days: still within the slack
        "22 مارس 2019م",
    ],
)
def test_calendars_that_agree_raise_no_warning(text: str) -> None:
    reading = read_date(text, RIYADH)
    assert reading.value == datetime(2019, 3, 21, 21, tzinfo=UTC)
    assert reading.warning is None


def test_calendars_that_disagree_keep_the_gregorian_and_warn() -> None:
    reading = read_date("الأحد 15 رجب 1440 هـ الموافق 22 أبريل 2019 م", RIYADH)
    assert reading.value == datetime(2019, 4, 21, 21, tzinfo=UTC)
    assert reading.warning is not None
    assert "2019-03-22" in reading.warning and "2019-04-22" in reading.warning
    assert "using 2019-04-22" in reading.warning


def test_an_impossible_hijri_date_beside_a_gregorian_one_is_warned_about() -> None:
    reading = read_date("31 رجب 1440 هـ الموافق 6 أبريل 2019", RIYADH)
    assert reading.value == datetime(2019, 4, 5, 21, tzinfo=UTC)
    assert reading.warning is not None and "does not exist" in reading.warning


_PIECES = st.sampled_from(
    [
        "15",
        "1440",
        "07",
        "/",
        "-",
        " ",
        "هـ",
        "ه",
        "رجب",
        "ذو القعدة",
        "ربيع الأول",
        "الموافق",
        "22",
        "مارس",
        "2019",
        "م",
        "AH",
        "30",
        "31",
        "13",
        "00",
        "١٤٤٠",
        "۱۵",
        "10:30",
        "ص",
        "GMT+3",
        "صفر",
        "1600",
        "99999999999999999999",
        "\u200f",
        "ـ",
    ]
)


@given(st.lists(_PIECES, max_size=12).map("".join))
def test_no_date_made_of_calendar_pieces_raises(text: str) -> None:
    reading = read_date(text, RIYADH)
    assert reading.value is None or reading.value.tzinfo is UTC


@given(st.text(max_size=80))
def test_no_string_raises(text: str) -> None:
    got = parse_date(text, RIYADH)
    assert got is None or got.utcoffset() is not None
