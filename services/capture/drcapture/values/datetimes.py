"""DATE (12), TIMESTAMP (180), TIMESTAMP WITH TIME ZONE (181) and WITH LOCAL TIME ZONE (231).

Layout (python-oracledb ``decode_date``; T. Kyte, "Expert Oracle Database Architecture",
DATE/TIMESTAMP chapter; orafaq.com wiki "Timestamp"):

* bytes 0-1: century and year of century, each plus 100 (BC years below 100);
* bytes 2-3: month and day; bytes 4-6: hour, minute, second, each plus 1;
* bytes 7-10 (TIMESTAMP types): nanoseconds, big-endian; a TIMESTAMP or WITH LOCAL TIME
  ZONE value whose fraction is zero is stored in 7 bytes;
* bytes 11-12 (WITH TIME ZONE, always 13 bytes): the stamp above is in UTC; then either
  the offset hour plus 20 and minute plus 60 (both carrying the offset's sign), or, with
  bit 7 of byte 11 set, a time-zone region id (see :mod:`drcapture.values.timezones`).

Text is ISO 8601 with the column's fractional-second precision (never fewer digits than
needed to keep the stored nanoseconds exact): ``2024-02-29T13:05:00.123456``; WITH TIME
ZONE adds the offset, and the region in brackets when known:
``2014-02-27T16:02:32.890565-08:00[US/Pacific]``. WITH LOCAL TIME ZONE is stored in the
database time zone and published as that wall time, without offset.
"""

from __future__ import annotations

import re
import struct
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from drcapture.values.calendar import (
    astronomical_to_oracle,
    day_number,
    from_day_number,
    is_valid_date,
    iso_year,
)
from drcapture.values.errors import MalformedValue
from drcapture.values.timezones import REGION_FLAG, REGION_IDS, REGIONS

_NANOS = struct.Struct(">I")
_TZ_HOUR_BIAS = 20
_TZ_MINUTE_BIAS = 60
DEFAULT_TIMESTAMP_SCALE = 6  # Oracle's default fractional-second precision

Stamp = tuple[int, int, int, int, int, int, int]  # year, month, day, h, m, s, nanos

_ISO = re.compile(
    r"(?P<year>-?\d{4,5})-(?P<month>\d\d)-(?P<day>\d\d)"
    r"T(?P<hour>\d\d):(?P<minute>\d\d):(?P<second>\d\d)(?:\.(?P<frac>\d{1,9}))?"
    r"(?P<offset>Z|[+-]\d\d:\d\d(?::\d\d)?)?(?:\[(?P<region>[^\]]+)\])?"
)


# --- bytes <-> fields ------------------------------------------------------------------


def _unpack(raw: bytes, type_name: str) -> Stamp:
    century, year, month, day, hour, minute, second = raw[:7]
    fields = (
        (century - 100) * 100 + year - 100,
        month,
        day,
        hour - 1,
        minute - 1,
        second - 1,
        _NANOS.unpack_from(raw, 7)[0] if len(raw) >= 11 else 0,
    )
    if (
        not is_valid_date(fields[0], month, day)
        or not (0 <= fields[3] <= 23 and 0 <= fields[4] <= 59 and 0 <= fields[5] <= 59)
        or fields[6] > 999_999_999
    ):
        raise MalformedValue(f"invalid {type_name}", hex=raw.hex().upper())
    return fields


def _pack(stamp: Stamp, with_nanos: bool) -> bytes:
    year, month, day, hour, minute, second, nanos = stamp
    if year > 0:
        head = bytes([year // 100 + 100, year % 100 + 100])
    else:
        head = bytes([100 - (-year) // 100, 100 - (-year) % 100])
    body = head + bytes([month, day, hour + 1, minute + 1, second + 1])
    return body + _NANOS.pack(nanos) if with_nanos else body


# --- fields <-> text -------------------------------------------------------------------


def _fraction(nanos: int, scale: int) -> str:
    digits = f"{nanos:09d}"
    keep = max(scale, len(digits.rstrip("0")))
    return "." + digits[:keep] if keep else ""


def _render(stamp: Stamp, scale: int) -> str:
    year, month, day, hour, minute, second, nanos = stamp
    return (
        f"{iso_year(year)}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
        + _fraction(nanos, scale)
    )


def _render_offset(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def _parse(text: str, type_name: str) -> tuple[Stamp, int | None, str | None]:
    """Fields, offset in seconds (None if absent) and region of an ISO 8601 stamp."""
    match = _ISO.fullmatch(text)
    if match is None:
        raise MalformedValue(f"not an ISO 8601 {type_name}", value=text)
    frac = match["frac"] or ""
    stamp = (
        astronomical_to_oracle(int(match["year"])),
        int(match["month"]),
        int(match["day"]),
        int(match["hour"]),
        int(match["minute"]),
        int(match["second"]),
        int(frac.ljust(9, "0")) if frac else 0,
    )
    if not is_valid_date(*stamp[:3]) or stamp[3] > 23 or stamp[4] > 59 or stamp[5] > 59:
        raise MalformedValue(f"{type_name} out of range", value=text)
    offset = match["offset"]
    seconds: int | None = None
    if offset == "Z":
        seconds = 0
    elif offset:
        parts = [int(p) for p in offset[1:].split(":")]
        seconds = parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) > 2 else 0)
        seconds = -seconds if offset[0] == "-" else seconds
    return stamp, seconds, match["region"]


def _shift(stamp: Stamp, seconds: int) -> Stamp:
    """``stamp`` moved by ``seconds`` in Oracle's calendar."""
    year, month, day, hour, minute, second, nanos = stamp
    total = hour * 3600 + minute * 60 + second + seconds
    days, rest = divmod(total, 86400)
    year, month, day = from_day_number(day_number(year, month, day) + days)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    return (year, month, day, hour, minute, second, nanos)


# --- public codecs ---------------------------------------------------------------------


def decode_date(raw: bytes) -> str:
    """ISO 8601 text of a 7-byte DATE."""
    if len(raw) != 7:
        raise MalformedValue("DATE must be 7 bytes", hex=raw.hex().upper())
    return _render(_unpack(raw, "DATE"), 0)


def encode_date(text: str) -> bytes:
    """DATE bytes of ISO 8601 text (no fraction, no offset)."""
    stamp, offset, region = _parse(text, "DATE")
    if stamp[6] or offset is not None or region:
        raise MalformedValue("a DATE has no fraction or time zone", value=text)
    return _pack(stamp, with_nanos=False)


def decode_timestamp(raw: bytes, scale: int | None) -> str:
    """ISO 8601 text of a TIMESTAMP (or WITH LOCAL TIME ZONE) of 7 or 11 bytes."""
    if len(raw) not in (7, 11):
        raise MalformedValue("TIMESTAMP must be 7 or 11 bytes", hex=raw.hex().upper())
    precision = DEFAULT_TIMESTAMP_SCALE if scale is None else scale
    return _render(_unpack(raw, "TIMESTAMP"), precision)


def encode_timestamp(text: str) -> bytes:
    """TIMESTAMP bytes of ISO 8601 text without offset (7 bytes when the fraction is 0)."""
    stamp, offset, region = _parse(text, "TIMESTAMP")
    if offset is not None or region:
        raise MalformedValue("a TIMESTAMP has no time zone", value=text)
    return _pack(stamp, with_nanos=stamp[6] != 0)


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _region_offset(utc: Stamp, region: str) -> int:
    """Seconds east of UTC of ``region`` at the instant ``utc`` (0 where unknown)."""
    zone = _zone(region)
    year = utc[0]
    if zone is None or not 1583 <= year <= 9998:  # Gregorian and inside datetime's range
        return 0
    instant = datetime(year, utc[1], utc[2], utc[3], utc[4], utc[5], tzinfo=UTC)
    delta = instant.astimezone(zone).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def decode_timestamp_tz(raw: bytes, scale: int | None) -> str:
    """ISO 8601 text, with offset and known region, of a 13-byte TIMESTAMP WITH TIME ZONE."""
    if len(raw) != 13:
        raise MalformedValue("TIMESTAMP WITH TIME ZONE must be 13 bytes", hex=raw.hex().upper())
    utc = _unpack(raw, "TIMESTAMP WITH TIME ZONE")
    precision = DEFAULT_TIMESTAMP_SCALE if scale is None else scale
    tz_hi, tz_lo = raw[11], raw[12]
    if tz_hi & REGION_FLAG:
        region = REGIONS.get(tz_hi << 8 | tz_lo)
        if region is None:  # unknown id: the exact instant, in UTC
            return _render(utc, precision) + "+00:00"
        offset = _region_offset(utc, region)
        return _render(_shift(utc, offset), precision) + _render_offset(offset) + f"[{region}]"
    offset = ((tz_hi - _TZ_HOUR_BIAS) * 60 + tz_lo - _TZ_MINUTE_BIAS) * 60
    return _render(_shift(utc, offset), precision) + _render_offset(offset)


def encode_timestamp_tz(text: str) -> bytes:
    """13 bytes of a TIMESTAMP WITH TIME ZONE given as ISO 8601 text with an offset."""
    stamp, offset, region = _parse(text, "TIMESTAMP WITH TIME ZONE")
    if offset is None:
        raise MalformedValue("TIMESTAMP WITH TIME ZONE needs an offset", value=text)
    utc = _shift(stamp, -offset)
    if region:
        code = REGION_IDS.get(region)
        if code is None:
            raise MalformedValue("time-zone region has no known Oracle id", region=region)
        return _pack(utc, with_nanos=True) + bytes([code >> 8, code & 0xFF])
    if offset % 60:
        raise MalformedValue("an offset without region has whole minutes", value=text)
    hours, minutes = divmod(abs(offset) // 60, 60)
    sign = -1 if offset < 0 else 1
    tail = bytes([sign * hours + _TZ_HOUR_BIAS, sign * minutes + _TZ_MINUTE_BIAS])
    return _pack(utc, with_nanos=True) + tail
