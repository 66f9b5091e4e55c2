"""DATE/TIMESTAMP family: published DUMP() outputs, Oracle's calendar, exact round trips."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from drcapture.values.calendar import day_number, from_day_number, is_valid_date
from drcapture.values.datetimes import (
    decode_date,
    decode_timestamp,
    decode_timestamp_tz,
    encode_date,
    encode_timestamp,
    encode_timestamp_tz,
)
from drcapture.values.errors import MalformedValue
from hypothesis import given, settings
from hypothesis import strategies as st


def _zone_available(name: str) -> bool:
    try:
        ZoneInfo(name)
    except ZoneInfoNotFoundError:
        return False
    return True


needs_tzdata = pytest.mark.skipif(
    not _zone_available("US/Pacific"), reason="no IANA time-zone data on this host"
)


# T. Kyte, "Expert Oracle Database Architecture" (12c edition), DATE and TIMESTAMP
# chapters, as quoted on what-when-how.com (Expert-Oracle-Database-Architecture-562/564).
def test_kyte_date() -> None:
    raw = bytes([120, 114, 2, 27, 17, 3, 33])
    assert decode_date(raw) == "2014-02-27T16:02:32"
    assert encode_date("2014-02-27T16:02:32") == raw


def test_kyte_timestamp_and_local_time_zone() -> None:
    raw = bytes([120, 114, 1, 2, 16, 3, 52, 53, 20, 241, 136])
    assert decode_timestamp(raw, 6) == "2014-01-02T15:02:51.890565"
    assert encode_timestamp("2014-01-02T15:02:51.890565") == raw
    ltz = bytes([120, 114, 2, 27, 18, 3, 33, 12, 162, 221, 0])  # Typ=231
    assert decode_timestamp(ltz, 6) == "2014-02-27T17:02:32.212000"


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        # Kyte (as above): SYSTIMESTAMP at -07:00.
        (
            [120, 114, 1, 2, 23, 3, 52, 53, 20, 241, 136, 13, 60],
            "2014-01-02T15:02:51.890565-07:00",
        ),
        # exchangetuts.com, "How Oracle stores timestamp with time zone internally":
        # TIMESTAMP '1999-10-29 21:00:00 -7:00'.
        ([119, 199, 10, 30, 5, 1, 1, 0, 0, 0, 0, 13, 60], "1999-10-29T21:00:00.000000-07:00"),
        # comp.databases.oracle.misc 2003-10-31 "TIMESTAMPTZ byte array":
        # 16-JUN-03 04.19.19 PM -08:00.
        ([120, 103, 6, 17, 1, 20, 20, 0, 0, 0, 0, 12, 60], "2003-06-16T16:19:19.000000-08:00"),
        # cnblogs.com/wait4friend 2012-02-10: 2008/03/29 10:14:10.774754 +08:00.
        (
            [120, 108, 3, 29, 3, 15, 11, 46, 45, 206, 208, 28, 60],
            "2008-03-29T10:14:10.774754+08:00",
        ),
    ],
)
def test_timestamp_tz_offset_known_answers(raw: list[int], text: str) -> None:
    assert decode_timestamp_tz(bytes(raw), 6) == text
    assert encode_timestamp_tz(text) == bytes(raw)


@needs_tzdata
def test_timestamp_tz_region_known_answers() -> None:
    # Kyte (as above): US/Pacific is stored as 137,156; stamp kept in UTC.
    raw = bytes([120, 114, 2, 28, 1, 3, 33, 12, 162, 221, 0, 137, 156])
    text = "2014-02-27T16:02:32.212000-08:00[US/Pacific]"
    assert decode_timestamp_tz(raw, 6) == text
    assert encode_timestamp_tz(text) == raw
    # exchangetuts.com (as above): TIMESTAMP '1999-10-29 21:00:00 US/Pacific' (PDT).
    raw = bytes([119, 199, 10, 30, 5, 1, 1, 0, 0, 0, 0, 137, 156])
    assert decode_timestamp_tz(raw, 0) == "1999-10-29T21:00:00-07:00[US/Pacific]"


def test_unknown_region_falls_back_to_utc_offset_form() -> None:
    raw = bytes([120, 114, 2, 28, 1, 3, 33, 0, 0, 0, 0, 0x81, 0x10])
    assert decode_timestamp_tz(raw, 0) == "2014-02-28T00:02:32+00:00"


def test_precision_follows_scale_but_never_loses_digits() -> None:
    raw = encode_timestamp("2024-02-29T13:05:00.123456789")
    assert decode_timestamp(raw, 3) == "2024-02-29T13:05:00.123456789"
    raw = encode_timestamp("2024-02-29T13:05:00.5")
    assert decode_timestamp(raw, 3) == "2024-02-29T13:05:00.500"
    assert decode_timestamp(raw, 0) == "2024-02-29T13:05:00.5"
    assert len(encode_timestamp("2024-02-29T13:05:00")) == 7  # zero fraction: 7 bytes
    assert decode_timestamp(encode_timestamp("2024-02-29T13:05:00"), 0) == "2024-02-29T13:05:00"
    assert decode_timestamp(encode_timestamp("2024-02-29T13:05:00"), None) == (
        "2024-02-29T13:05:00.000000"
    )


def test_bc_dates_and_calendar_switch() -> None:
    # Derived from the layout: year -4712 has century byte 100-47 and year byte 100-12;
    # ISO 8601 writes it -4711 (astronomical numbering, 1 BC = 0000).
    raw = bytes([53, 88, 1, 1, 1, 1, 1])
    assert decode_date(raw) == "-4711-01-01T00:00:00"
    assert encode_date("-4711-01-01T00:00:00") == raw
    assert decode_date(encode_date("0000-12-31T23:59:59")) == "0000-12-31T23:59:59"
    assert encode_date("0000-12-31T23:59:59")[:2] == bytes([100, 99])  # Oracle year -1
    # Julian before 1582-10-15: 1582-10-04 is followed by 1582-10-15; 1500 is leap.
    assert from_day_number(day_number(1582, 10, 4) + 1) == (1582, 10, 15)
    assert not is_valid_date(1582, 10, 10)
    assert is_valid_date(1500, 2, 29) and not is_valid_date(1900, 2, 29)
    with pytest.raises(MalformedValue):
        encode_date("1582-10-10T00:00:00")


def test_offset_crossing_day_in_julian_calendar() -> None:
    # 1500-03-01 00:30 at +01:00 is 1500-02-29 23:30 UTC (1500 is a Julian leap year).
    raw = encode_timestamp_tz("1500-03-01T00:30:00+01:00")
    assert raw[:7] == bytes([115, 100, 2, 29, 24, 31, 1])
    assert decode_timestamp_tz(raw, 0) == "1500-03-01T00:30:00+01:00"


def test_leap_day_and_year_9999() -> None:
    for text in ["2024-02-29T00:00:00", "9999-12-31T23:59:59", "0001-01-01T00:00:00"]:
        assert decode_date(encode_date(text)) == text
    with pytest.raises(MalformedValue):
        encode_date("2023-02-29T00:00:00")


@pytest.mark.parametrize(
    "raw",
    [b"", bytes([120, 114, 13, 1, 1, 1, 1]), bytes([120, 114, 2, 30, 1, 1, 1])],
)
def test_malformed_dates(raw: bytes) -> None:
    with pytest.raises(MalformedValue):
        decode_date(raw)


@st.composite
def stamps(draw: st.DrawFn, nanos: bool = True) -> tuple[int, int, int, int, int, int, int]:
    jdn = draw(st.integers(day_number(-4711, 1, 1), day_number(9998, 12, 31)))
    year, month, day = from_day_number(jdn)
    return (
        year,
        month,
        day,
        draw(st.integers(0, 23)),
        draw(st.integers(0, 59)),
        draw(st.integers(0, 59)),
        draw(st.integers(0, 999_999_999)) if nanos else 0,
    )


def _bytes(stamp: tuple[int, ...], with_nanos: bool) -> bytes:
    year = stamp[0]
    head = (
        [year // 100 + 100, year % 100 + 100]
        if year > 0
        else [
            100 - (-year) // 100,
            100 - (-year) % 100,
        ]
    )
    body = bytes([*head, stamp[1], stamp[2], stamp[3] + 1, stamp[4] + 1, stamp[5] + 1])
    return body + stamp[6].to_bytes(4, "big") if with_nanos else body


@settings(max_examples=200)
@given(stamps(nanos=False))
def test_date_round_trip(stamp: tuple[int, int, int, int, int, int, int]) -> None:
    raw = _bytes(stamp, with_nanos=False)
    assert encode_date(decode_date(raw)) == raw


@settings(max_examples=200)
@given(stamps(), st.integers(0, 9))
def test_timestamp_round_trip(stamp: tuple[int, int, int, int, int, int, int], scale: int) -> None:
    raw = _bytes(stamp, with_nanos=stamp[6] != 0)
    assert encode_timestamp(decode_timestamp(raw, scale)) == raw


@settings(max_examples=200)
@given(stamps(), st.integers(-12 * 60, 14 * 60), st.integers(0, 9))
def test_timestamp_tz_round_trip(
    stamp: tuple[int, int, int, int, int, int, int], offset: int, scale: int
) -> None:
    sign = -1 if offset < 0 else 1
    hours, minutes = divmod(abs(offset), 60)
    raw = _bytes(stamp, with_nanos=True) + bytes([sign * hours + 20, sign * minutes + 60])
    text = decode_timestamp_tz(raw, scale)
    assert encode_timestamp_tz(text) == raw
    assert decode_timestamp_tz(encode_timestamp_tz(text), scale) == text
