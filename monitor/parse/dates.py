"""Publication dates as ministries write them, read into exact instants — or refused.

``parse_date(text, tz)`` returns an aware UTC datetime, or ``None`` when it cannot be sure.
It is deliberately strict: a date that may be wrong by hours is worse than no date, because
the pipeline then falls back to the first-seen time and says so in a warning.

Understood forms (after Unicode NFKC; Arabic-Indic and Persian digits read as 0-9; the
Arabic comma, harakat, tatweel and invisible marks ignored):

- ISO 8601 ``2019-03-13``, ``2019-03-13T10:00:00+03:00``, ``…Z``, fractions of seconds.
- RFC 822/2822 ``Wed, 13 Mar 2019 10:00:00 +0300`` (also ``GMT``, ``UT`` and the US zones).
- Offsets written ``GMT+3``, ``UTC+03:00``, ``GMT-0430``, ``بتوقيت غرينتش``.
- Numeric dates with a 4-digit year: ``2019-03-20``, ``2019/03/20`` (year first), and
  ``20/03/2019``, ``20-03-2019``, ``20.03.2019`` read **day first** — the convention of the
  Arab world and Europe, where most ministries publish. A month-first date is accepted only
  when it cannot be day-first (``03/20/2019``). Two-digit years are refused.
- Month names: English (``March``, ``Mar``, ``Sept``), the Levantine/Iraqi family
  (كانون الثاني … كانون الأول) and the Egyptian/Gulf family (يناير … ديسمبر) with their
  spelling variants; the doubled form ``آذار/مارس`` or ``آذار (مارس)`` must agree.
- Weekday names (English and Arabic) are ignored; ``2019م`` (Gregorian year mark) is fine.
- Times ``10:30``, ``10:30:15``, with ``am``/``pm``, ``ص``/``م``, ``صباحا``/``مساء``/``ظهرا``.
- Hijri dates (Umm al-Qura, through ``hijridate``), as Saudi and Gulf sites write them:
  ``15 رجب 1440 هـ`` (a Hijri month name makes the ``هـ`` optional; spelling variants such
  as ربيع الأول/الاول/ربيع أول, جمادى الأولى/الاولى, ذو القعدة/ذي القعدة), ``1440/07/15 هـ``
  and ``15/7/1440هـ`` (numeric forms need the ``هـ``, ``هجري`` or ``AH`` mark). A page that
  gives both calendars (``15 رجب 1440 هـ الموافق 22 مارس 2019 م``, in either order) is read
  by its Gregorian date; when the two are more than ``HIJRI_SLACK`` apart, ``read_date``
  says so in a warning. A Hijri date outside the table (1343–1500 AH) or impossible (month
  13, day 30 of a 29-day month) is not understood.

Dates without a zone are read in ``tz``; a date without a time is midnight in ``tz``. A
local time that does not exist or occurs twice (DST changes) is refused, as is any string
with an unknown zone abbreviation (``AST`` is both UTC+3 and UTC-4), a stray number, two
different dates, or a year outside 1970–2100.

``read_date`` is ``parse_date`` with the one warning a date can deserve (the calendars
disagree); ``parse_date`` keeps the plain contract for callers that only want the instant.
"""

from __future__ import annotations

import contextlib
import functools
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import NamedTuple
from zoneinfo import ZoneInfo

_DIGITS = {0x0660 + i: str(i) for i in range(10)} | {0x06F0 + i: str(i) for i in range(10)}
_DROP = dict.fromkeys(
    [*range(0x064B, 0x0653), 0x0670, 0x0640, *range(0x200B, 0x2010), *range(0x202A, 0x202F)]
)
_DROP |= dict.fromkeys([*range(0x2066, 0x206A), 0x061C, 0xFEFF, 0x00AD])
# Folding for name lookup only: hamza forms of alef, alef maqsura, ta marbuta.
_FOLD = str.maketrans(
    {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "،": ",", "؛": ";", "−": "-"}
)

_MONTHS: dict[int, tuple[str, ...]] = {
    # English; Levantine/Iraqi; Egyptian/Gulf; Maghreb spellings (Morocco, Algeria/Tunisia).
    1: ("january", "jan", "كانون الثاني", "يناير", "جانفي"),
    2: ("february", "feb", "شباط", "فبراير", "فيفري"),
    3: ("march", "mar", "اذار", "مارس"),
    4: ("april", "apr", "نيسان", "ابريل", "افريل"),
    5: ("may", "ايار", "مايو", "ماي"),
    6: ("june", "jun", "حزيران", "يونيو", "يونيه", "جوان"),
    7: ("july", "jul", "تموز", "يوليو", "يوليه", "يوليوز", "جويليه"),
    8: ("august", "aug", "اب", "اغسطس", "غشت", "اوت"),
    9: ("september", "sept", "sep", "ايلول", "سبتمبر", "شتنبر"),
    10: ("october", "oct", "تشرين الاول", "اكتوبر"),
    11: ("november", "nov", "تشرين الثاني", "نوفمبر", "نونبر"),
    12: ("december", "dec", "كانون الاول", "ديسمبر", "دجنبر"),
}
# Hijri months as written after folding (أ→ا, ى→ي, ة→ه): with and without the article,
# ربيع الآخر for ربيع الثاني, جمادى الآخرة for جمادى الثانية, ذي for ذو; and transliterated.
_HIJRI_MONTHS: dict[int, tuple[str, ...]] = {
    1: ("محرم", "المحرم", "muharram"),
    2: ("صفر", "safar"),
    3: ("ربيع الاول", "ربيع اول", "rabi al-awwal", "rabi al awwal", "rabi i"),
    4: (
        "ربيع الثاني",
        "ربيع ثاني",
        "ربيع الاخر",
        "ربيع اخر",
        "rabi al-thani",
        "rabi al-akhir",
        "rabi ii",
    ),
    5: (
        "جمادي الاولي",
        "جمادي الاول",
        "جمادي اولي",
        "جمادي الاولى",
        "jumada al-ula",
        "jumada al-awwal",
        "jumada i",
    ),
    6: (
        "جمادي الاخره",
        "جمادي الاخر",
        "جمادي الثانيه",
        "جمادي الثاني",
        "جمادي ثاني",
        "jumada al-akhirah",
        "jumada al-thani",
        "jumada ii",
    ),
    7: ("رجب", "rajab"),
    8: ("شعبان", "shaban", "sha'ban"),
    9: ("رمضان", "ramadan", "ramadhan"),
    10: ("شوال", "shawwal"),
    11: (
        "ذو القعده",
        "ذي القعده",
        "ذوالقعده",
        "dhu al-qadah",
        "dhul-qadah",
        "dhu al-qidah",
        "dhu al-qi'dah",
    ),
    12: ("ذو الحجه", "ذي الحجه", "ذوالحجه", "dhu al-hijjah", "dhul-hijjah"),
}
_HIJRI_NAME = re.compile(
    r"(?<!\w)("
    + "|".join(
        sorted(
            (re.escape(n) for names in _HIJRI_MONTHS.values() for n in names), key=len, reverse=True
        )
    )
    + r")(?!\w)"
)
_HIJRI_OF = {name: month for month, names in _HIJRI_MONTHS.items() for name in names}
_HIJRI_MARK = r"(?:ه|هجريه|هجري|ah|a\.h\.?)(?!\w)"
_H_D_MON_Y = re.compile(
    rf"(?<!\d)(\d{{1,2}})[\s,.\-/]*@H(\d\d)@[\s,.\-/]*(\d{{4}})(?!\d)\s*(?:{_HIJRI_MARK})?"
)
_H_YMD = re.compile(rf"(?<![\d.])(\d{{4}})([-/.])(\d{{1,2}})\2(\d{{1,2}})(?![\d])\s*{_HIJRI_MARK}")
_H_DMY = re.compile(rf"(?<![\d.])(\d{{1,2}})([-/.])(\d{{1,2}})\2(\d{{4}})(?![\d])\s*{_HIJRI_MARK}")
_EQUALS = re.compile(r"(?<!\w)(?:ال)?موافق(?:\s+ل)?(?!\w)|(?<!\w)corresponding\s+to(?!\w)")
# days a Hijri date may differ from the Gregorian beside it: sites that follow the moon
# sighting rather than Umm al-Qura's table are a day or two off
HIJRI_SLACK = timedelta(days=2)
_WEEKDAYS = re.compile(
    r"(?<!\w)(?:يوم\s+)?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun"
    r"|الاحد|الاثنين|الثلاثاء|الاربعاء|الخميس|الجمعه|السبت)(?!\w)"
)
_MONTH_NAME = re.compile(
    r"(?<!\w)("
    + "|".join(
        sorted((re.escape(n) for names in _MONTHS.values() for n in names), key=len, reverse=True)
    )
    + r")\.?(?!\w)"
)
_MONTH_OF = {name: month for month, names in _MONTHS.items() for name in names}
_DOUBLE_MONTH = re.compile(r"@M(\d\d)@\s*[/(\-]\s*@M(\d\d)@\s*\)?")

_US_ZONES = {"est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7}
_MERIDIEM = r"a\.?m\.?|p\.?m\.?|صباحا|مساء|مساءا|ظهرا|ص|م"
_TIME = re.compile(
    r"(?<![\d:+\-])(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?(?![\d:])"
    rf"\s*({_MERIDIEM})?(?!\w)"
    rf"\s*(?:([+-]\d{{2}}):?(\d{{2}})(?!\d)|({'|'.join(_US_ZONES)})(?!\w))?"
)
_NAMED_OFFSET = re.compile(
    r"(?<!\w)(?:gmt|utc|ut)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?(?!\d)"
    r"|(?<!\w)(gmt|utc|ut|z)(?!\w)|(?:ب)?توقيت\s+(?:غرينتش|غرينيتش|جرينتش|جرينيتش)"
)
_ZONE_WORD = re.compile(r"توقيت|(?<!\w)time(?!\w)|(?<!\w)hora(?!\w)|(?<!\w)heure(?!\w)")
_UPPER_ABBREV = re.compile(r"(?<![A-Za-z])[A-Z]{2,5}(?![A-Za-z])")
_KNOWN_UPPER = {"AM", "PM", "GMT", "UTC", "UT", "Z", "AH"} | {z.upper() for z in _US_ZONES}
_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?"
    r"\s*(?:Z|z|[+-]\d{2}(?::?\d{2})?)?)?$"
)
_YMD = re.compile(r"(?<![\d.])(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?![\d])")
_DMY = re.compile(r"(?<![\d.])(\d{1,2})([-/.])(\d{1,2})\2(\d{4})(?![\d])")
_ORD = r"(?:st|nd|rd|th)?"
_D_MON_Y = re.compile(
    rf"(?<!\d)(\d{{1,2}}){_ORD}[\s,.\-/]*(?:of\s+)?@M(\d\d)@[\s,.\-/]*(\d{{4}})(?!\d)"
)
_MON_D_Y = re.compile(rf"@M(\d\d)@[\s.\-/]*(\d{{1,2}}){_ORD}(?!\d)[\s,]*(\d{{4}})(?!\d)")


class DateReading(NamedTuple):
    value: datetime | None  # aware UTC, or None when not sure
    warning: str | None = None  # e.g. the Hijri and Gregorian dates disagree


_NONE = DateReading(None)


def parse_date(text: str, tz: ZoneInfo) -> datetime | None:
    """Read a publication date; an aware UTC datetime, or None when not sure (see module doc)."""
    return read_date(text, tz).value


# a feed's items often share a date string (a site migration dates them all alike): one
# reading each; 50,000 items of one date took 1.2 s, a third of it in NFKC and the regexes
@functools.lru_cache(maxsize=1024)
def read_date(text: str, tz: ZoneInfo) -> DateReading:
    """``parse_date``, with a warning when the date's two calendars disagree."""
    raw = _clean(text)
    if not raw or len(raw) > 200:
        return _NONE
    if _ISO.match(raw):
        return DateReading(_from_iso(raw, tz))
    if any(_unknown_abbreviation(tok) for tok in _UPPER_ABBREV.findall(raw)):
        return _NONE  # an unknown zone abbreviation (AST, CET...): unsure of the hour
    return _from_words(raw.casefold().translate(_FOLD), tz)


def clamp_future(
    dt: datetime, now: datetime, slack: timedelta = timedelta(days=1)
) -> tuple[datetime, str | None]:
    """``dt``, or ``now`` with a warning when ``dt`` is more than ``slack`` in the future."""
    if dt - now > slack:
        return now, f"published date {dt.isoformat()} is in the future; using {now.isoformat()}"
    return dt, None


def _unknown_abbreviation(token: str) -> bool:
    folded = token.casefold()
    return not (
        token in _KNOWN_UPPER or folded in _MONTH_OF or _WEEKDAYS.fullmatch(folded) is not None
    )


def _clean(text: str) -> str:
    s = unicodedata.normalize("NFKC", text).translate(_DIGITS).translate(_DROP)
    return " ".join(s.split())


def _from_iso(s: str, tz: ZoneInfo) -> datetime | None:
    s = re.sub(r"\s+(?=[-+zZ])", "", s.replace(",", "."))
    if s[-1] in "zZ":
        s = s[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        return None
    return _finish(dt, tz)


class _HijriDay(NamedTuple):
    day: date | None  # its Gregorian day by Umm al-Qura; None when the table has no such day
    near: date | None  # for the check against a Gregorian date: day 30 of a 29-day month
    # (a site that follows the moon sighting) is taken as the day after the 29th


def _hijri_dates(s: str) -> tuple[str, list[_HijriDay]]:
    """``s`` without its Hijri dates, and each one's Gregorian day."""
    from hijridate import Hijri

    found: list[_HijriDay] = []

    def convert(year: int, month: int, day: int) -> str:
        try:
            gregorian = Hijri(year, month, day).to_gregorian()
            found.append(_HijriDay(gregorian, gregorian))
        except (ValueError, OverflowError):  # month 13, day 31, year 1600
            near = None
            if day == 30 and 1 <= month <= 12:
                with contextlib.suppress(ValueError, OverflowError):
                    near = Hijri(year, month, 29).to_gregorian() + timedelta(days=1)
            found.append(_HijriDay(None, near))
        return " "

    s = _HIJRI_NAME.sub(lambda m: f" @H{_HIJRI_OF[m.group(1)]:02d}@ ", s)
    s = _H_D_MON_Y.sub(lambda m: convert(int(m[3]), int(m[2]), int(m[1])), s)
    s = _H_YMD.sub(lambda m: convert(int(m[1]), int(m[3]), int(m[4])), s)
    s = _H_DMY.sub(lambda m: convert(int(m[4]), int(m[3]), int(m[1])), s)
    return _EQUALS.sub(" ", s) if found else s, found


def _from_words(s: str, tz: ZoneInfo) -> DateReading:
    s, hijri = _hijri_dates(s)
    if len(hijri) > 1 or "@H" in s:
        return _NONE  # two Hijri dates, or a Hijri month without day and year
    s = _MONTH_NAME.sub(lambda m: f" @M{_MONTH_OF[m.group(1)]:02d}@ ", s)
    for a, b in _DOUBLE_MONTH.findall(s):
        if a != b:
            return _NONE  # آذار/أبريل: the two names disagree
    s = _DOUBLE_MONTH.sub(r" @M\1@ ", s)
    s = _WEEKDAYS.sub(" ", s)

    zone: tzinfo | None = None
    times = list(_TIME.finditer(s))
    if len(times) > 1:
        return _NONE
    hour = minute = second = 0
    if times:
        m = times[0]
        clock = _clock(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0), m.group(4))
        if clock is None:
            return _NONE
        hour, minute, second = clock
        if m.group(5):
            zone = _offset(m.group(5)[0], int(m.group(5)[1:]), int(m.group(6)))
            if zone is None:
                return _NONE
        elif m.group(7):
            zone = timezone(timedelta(hours=_US_ZONES[m.group(7)]))
        s = s[: m.start()] + " " + s[m.end() :]

    named = list(_NAMED_OFFSET.finditer(s))
    if named:
        if zone is not None or len(named) > 1:
            return _NONE
        m = named[0]
        zone = _offset(m.group(1), int(m.group(2)), int(m.group(3) or 0)) if m.group(1) else UTC
        if zone is None:
            return _NONE
        s = s[: m.start()] + " " + s[m.end() :]
    if zone is None and _ZONE_WORD.search(s):
        return _NONE  # "بتوقيت الدوحة", "Doha time": a zone we do not know how to read

    dates: set[tuple[int, int, int]] = set()
    for pattern, order in ((_YMD, (1, 3, 4)), (_D_MON_Y, (3, 2, 1)), (_MON_D_Y, (3, 1, 2))):
        for m in pattern.finditer(s):
            dates.add(tuple(int(m.group(i)) for i in order))  # type: ignore[arg-type]
        s = pattern.sub(" ", s)
    for m in _DMY.finditer(s):
        one, two, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
        # Day first unless that is impossible and month first is not (03/20/2019).
        dates.add((year, one, two) if two > 12 >= one else (year, two, one))
    s = _DMY.sub(" ", s)
    if len(dates) > 1 or re.search(r"\d|@M", s) or not (dates or hijri):
        return _NONE  # no date, two dates, or a stray number we do not understand
    warning = None
    if dates:  # the Gregorian date, when a page gives both
        year, month, day = dates.pop()
        if hijri:
            warning = _disagreement(hijri[0].near, year, month, day)
    elif (only := hijri[0].day) is not None:
        year, month, day = only.year, only.month, only.day
    else:
        return _NONE  # an impossible Hijri date, and nothing else
    if not 1970 <= year <= 2100:
        return _NONE
    try:
        local = datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        return _NONE
    instant = _finish(local, tz)
    return DateReading(instant, warning if instant is not None else None)


def _disagreement(hijri: date | None, year: int, month: int, day: int) -> str | None:
    try:
        gregorian = date(year, month, day)
    except ValueError:
        return None  # the Gregorian date is refused on its own
    if hijri is None:
        return f"the Hijri date beside {gregorian} does not exist (Umm al-Qura); using {gregorian}"
    if abs(gregorian - hijri) > HIJRI_SLACK:
        return (
            f"the Hijri date ({hijri} by Umm al-Qura) and the Gregorian date ({gregorian}) "
            f"disagree; using {gregorian}"
        )
    return None


def _clock(
    hour: int, minute: int, second: int, meridiem: str | None
) -> tuple[int, int, int] | None:
    if minute > 59 or second > 60:
        return None
    second = min(second, 59)  # a leap second is not worth refusing the date
    if meridiem is None:
        return (hour, minute, second) if hour <= 23 else None
    pm = meridiem[0] in "pم"  # p.m., م, مساء
    if meridiem == "ظهرا":  # around noon: 12:30 ظهرا is 12:30, 1:30 ظهرا is 13:30
        return (hour + 12 if 1 <= hour <= 5 else hour, minute, second) if hour <= 12 else None
    if hour > 12:
        return (hour, minute, second) if pm else None  # "14:00 pm" is redundant, "14:00 am" wrong
    if hour == 0:
        return None
    return (hour % 12 + (12 if pm else 0), minute, second)


def _offset(sign: str, hours: int, minutes: int) -> tzinfo | None:
    if hours > 14 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if sign == "-" else delta)


def _finish(dt: datetime, tz: ZoneInfo) -> datetime | None:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
        # A wall time skipped or repeated by a DST change has no single instant.
        if dt.utcoffset() != dt.replace(fold=1).utcoffset():
            return None
    if not 1970 <= dt.year <= 2100:
        return None
    return dt.astimezone(UTC)
