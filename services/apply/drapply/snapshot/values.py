"""Database values back to the wire format (:mod:`drcommon.model`): exact strings.

Readers of the source and of the DR copy hand what their driver returns (``Decimal``,
``datetime``, ``bytes``, ``float`` …) to :func:`to_wire` with the column's Oracle type,
so both sides speak the one format apply already binds from. Intervals are read as
numbers (total months, total seconds) because drivers turn them into lossy
``timedelta`` objects (PostgreSQL's ``1 year 2 months`` becomes 425 days); see
:func:`months_to_iso` and :func:`seconds_to_iso`.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from drapply.typemap import ColumnType, Family


def float_text(value: float, single: bool) -> str:
    """The shortest text that reads back to the same IEEE value (``NaN``, ``Infinity``);
    ``single``: as a 32-bit float (BINARY_FLOAT)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if single:
        return str(np.float32(value))
    return repr(float(value))


def decimal_text(value: Decimal) -> str:
    """A decimal without exponent (``1E+3`` -> ``1000``)."""
    if not value.is_finite():
        return "NaN" if value.is_nan() else ("Infinity" if value > 0 else "-Infinity")
    return format(value, "f")


def months_to_iso(months: int) -> str:
    """Total months of a YEAR TO MONTH interval as ISO 8601 (``-P1Y2M``)."""
    sign = "-" if months < 0 else ""
    years, rest = divmod(abs(months), 12)
    return f"{sign}P{years}Y{rest}M"


def seconds_to_iso(seconds: Decimal) -> str:
    """Total seconds of a DAY TO SECOND interval as ISO 8601 (``-P3DT4H5M6.5S``)."""
    sign = "-" if seconds < 0 else ""
    left = abs(seconds)
    days, left = divmod(left, 86400)
    hours, left = divmod(left, 3600)
    minutes, left = divmod(left, 60)
    secs = decimal_text(left.normalize()) if left else "0"
    return f"{sign}P{int(days)}DT{int(hours)}H{int(minutes)}M{secs}S"


def _timestamp(value: datetime, family: Family) -> str:
    if value.tzinfo is not None and family is not Family.TIMESTAMP_TZ:
        value = value.astimezone(UTC).replace(tzinfo=None)
    if family is Family.DATE:
        return value.replace(microsecond=0).isoformat(timespec="seconds")
    return value.isoformat(timespec="microseconds" if value.microsecond else "seconds")


def _number(value: int | Decimal, family: Family) -> str:
    if family is Family.INTERVAL_YM:
        return months_to_iso(int(value))
    if family is Family.INTERVAL_DS:
        return seconds_to_iso(Decimal(value))
    return str(value) if isinstance(value, int) else decimal_text(value)


def _interval(value: timedelta) -> str:
    micros = (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds
    return seconds_to_iso(Decimal(micros) / Decimal(1_000_000))


def _bytes(value: Any, _family: Family) -> str:
    return bytes(value).hex().upper()


def _bool(value: Any, _family: Family) -> str:
    return "true" if value else "false"


def _float(value: Any, family: Family) -> str:
    return float_text(value, family is Family.BINARY_FLOAT)


def _date(value: Any, family: Family) -> str:
    return _timestamp(datetime.combine(value, time()), family)


def _delta(value: Any, _family: Family) -> str:
    return _interval(value)


# Exact driver types first (one dict lookup per value): what drivers return nearly always.
_BY_TYPE: dict[type, Any] = {
    Decimal: _number, int: _number, datetime: _timestamp, float: _float, bytes: _bytes,
    bool: _bool, bytearray: _bytes, memoryview: _bytes, date: _date, timedelta: _delta,
}


def to_wire(value: Any, column: ColumnType) -> str | None:
    """One value as the wire format writes it for a column of this Oracle type."""
    if value is None or isinstance(value, str):
        return value
    convert = _BY_TYPE.get(type(value))
    if convert is not None:
        out: str = convert(value, column.family)
        return out
    if isinstance(value, bool):
        return _bool(value, column.family)
    for kind, handler in _BY_TYPE.items():  # subclasses (an aware datetime's type is exact)
        if isinstance(value, kind):
            out = handler(value, column.family)
            return out
    read = getattr(value, "read", None)  # an oracledb LOB
    if callable(read):
        return to_wire(read(), column)
    return str(value)
