"""INTERVAL YEAR TO MONTH (182, 5 bytes) and INTERVAL DAY TO SECOND (183, 11 bytes).

Layout (python-oracledb ``decode_interval_ym``/``decode_interval_ds`` with its constants
``TNS_DURATION_MID = 0x80000000`` and ``TNS_DURATION_OFFSET = 60``): four-byte fields are
big-endian with 0x80000000 added, one-byte fields have 60 added; every field carries
the interval's sign.

* YEAR TO MONTH: years (4 bytes), months (1 byte);
* DAY TO SECOND: days (4), hours (1), minutes (1), seconds (1), nanoseconds (4).

Text is an ISO 8601 duration with every field present and the sign in front:
``P1Y2M``, ``-P0Y3M``, ``-P3DT4H5M6.5S``; seconds carry the column's fractional
precision (``scale``) like timestamps do, never fewer digits than the value needs.
"""

from __future__ import annotations

import re
import struct

from drcapture.values.errors import MalformedValue

_U32 = struct.Struct(">I")
_MID = 0x80000000
_OFFSET = 60
DEFAULT_SECONDS_SCALE = 6

_YM = re.compile(r"(-)?P(?:(\d+)Y)?(?:(\d+)M)?")
_DS = re.compile(r"(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d{1,9}))?S)?)?")


def _sign(*fields: int) -> str:
    if any(f < 0 for f in fields):
        if any(f > 0 for f in fields):
            raise MalformedValue("interval fields disagree in sign", fields=fields)
        return "-"
    return ""


def decode_interval_ym(raw: bytes) -> str:
    """ISO 8601 duration of an INTERVAL YEAR TO MONTH."""
    if len(raw) != 5:
        raise MalformedValue("INTERVAL YEAR TO MONTH must be 5 bytes", hex=raw.hex().upper())
    years = _U32.unpack_from(raw)[0] - _MID
    months = raw[4] - _OFFSET
    if abs(months) > 11:
        raise MalformedValue("INTERVAL months out of range", hex=raw.hex().upper())
    return f"{_sign(years, months)}P{abs(years)}Y{abs(months)}M"


def encode_interval_ym(text: str) -> bytes:
    """5 bytes of an INTERVAL YEAR TO MONTH given as an ISO 8601 duration."""
    match = _YM.fullmatch(text)
    if match is None or text.rstrip("-") in ("P", ""):
        raise MalformedValue("not an ISO 8601 year-month duration", value=text)
    sign = -1 if match[1] else 1
    years, months = int(match[2] or 0), int(match[3] or 0)
    if months > 11 or years > 999_999_999:
        raise MalformedValue("INTERVAL YEAR TO MONTH out of range", value=text)
    return _U32.pack(sign * years + _MID) + bytes([sign * months + _OFFSET])


def decode_interval_ds(raw: bytes, scale: int | None) -> str:
    """ISO 8601 duration of an INTERVAL DAY TO SECOND."""
    if len(raw) != 11:
        raise MalformedValue("INTERVAL DAY TO SECOND must be 11 bytes", hex=raw.hex().upper())
    days = _U32.unpack_from(raw)[0] - _MID
    hours, minutes, seconds = (b - _OFFSET for b in raw[4:7])
    nanos = _U32.unpack_from(raw, 7)[0] - _MID
    if abs(hours) > 23 or abs(minutes) > 59 or abs(seconds) > 59 or abs(nanos) > 999_999_999:
        raise MalformedValue("INTERVAL DAY TO SECOND field out of range", hex=raw.hex().upper())
    sign = _sign(days, hours, minutes, seconds, nanos)
    digits = f"{abs(nanos):09d}"
    keep = max(DEFAULT_SECONDS_SCALE if scale is None else scale, len(digits.rstrip("0")))
    frac = "." + digits[:keep] if keep else ""
    return f"{sign}P{abs(days)}DT{abs(hours)}H{abs(minutes)}M{abs(seconds)}{frac}S"


def encode_interval_ds(text: str) -> bytes:
    """11 bytes of an INTERVAL DAY TO SECOND given as an ISO 8601 duration."""
    match = _DS.fullmatch(text)
    if match is None or text.rstrip("-").rstrip("T") in ("P", ""):
        raise MalformedValue("not an ISO 8601 day-time duration", value=text)
    sign = -1 if match[1] else 1
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups()[1:5])
    nanos = int((match[6] or "0").ljust(9, "0"))
    if hours > 23 or minutes > 59 or seconds > 59 or days > 999_999_999:
        raise MalformedValue("INTERVAL DAY TO SECOND out of range", value=text)
    return (
        _U32.pack(sign * days + _MID)
        + bytes([sign * f + _OFFSET for f in (hours, minutes, seconds)])
        + _U32.pack(sign * nanos + _MID)
    )
