"""People-facing times: the config's zone, minutes, and the offset written out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.times import local_time, offset_label

MOMENT = datetime(2019, 3, 13, 15, 0, 27, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Asia/Qatar", "2019-03-13 18:00 +03"),
        ("UTC", "2019-03-13 15:00 +00"),
        ("America/New_York", "2019-03-13 11:00 -04"),  # daylight time already began
        ("Asia/Kolkata", "2019-03-13 20:30 +05:30"),
        ("Asia/Kathmandu", "2019-03-13 20:45 +05:45"),
    ],
)
def test_local_time(zone: str, expected: str) -> None:
    assert local_time(MOMENT, ZoneInfo(zone)) == expected


def test_naive_is_utc_and_none_is_empty() -> None:
    assert local_time(MOMENT.replace(tzinfo=None), ZoneInfo("Asia/Qatar")) == "2019-03-13 18:00 +03"
    assert local_time(None, ZoneInfo("UTC")) == "-"
    assert local_time(None, ZoneInfo("UTC"), empty="") == ""


def test_other_zone_input_is_converted() -> None:
    gulf = datetime(2019, 3, 13, 18, 0, tzinfo=timezone(timedelta(hours=4)))
    assert local_time(gulf, ZoneInfo("Asia/Qatar")) == "2019-03-13 17:00 +03"


@pytest.mark.parametrize(
    ("minutes", "label"), [(0, "+00"), (180, "+03"), (-300, "-05"), (-210, "-03:30")]
)
def test_offset_label(minutes: int, label: str) -> None:
    assert offset_label(timedelta(minutes=minutes)) == label


@settings(max_examples=300)
@given(
    moment=st.datetimes(timezones=st.just(UTC)),
    zone=st.sampled_from(
        [
            "UTC",
            "Asia/Qatar",
            "America/New_York",
            "Asia/Kathmandu",
            "Europe/Amsterdam",
            "Pacific/Chatham",
        ]
    ),
)
def test_local_time_is_strftimes(moment: datetime, zone: str) -> None:
    """Written field by field, it is what ``strftime`` writes, old dates and odd offsets too."""
    try:
        here = moment.astimezone(ZoneInfo(zone))
    except OverflowError:  # year 1 or 9999 pushed past the range by the offset
        return
    expected = f"{here:%Y-%m-%d %H:%M} {offset_label(here.utcoffset())}"
    assert local_time(moment, ZoneInfo(zone)) == expected
