"""Oracle column types, classified once, and the exact value conversions targets share.

Values arrive as exact strings (see :mod:`drcommon.model`). A target keeps them exact:
NUMBER never passes through a float, timestamps keep their digits and offsets, RAW and
BLOB become bytes, CLOB/NCLOB stay text. Values that cannot be stored exactly
(:class:`InvalidText`, :class:`Unsupported`, :class:`NotLogged`) raise
:class:`ValueNotStorable`; nothing is replaced silently. In-place LOB writes
(:class:`LobWrites`) are not values: the planner turns them into edits
(:mod:`drapply.lobs`) where a row's LOB column is updated, and they are refused
anywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from drcommon.model import (
    ColumnInfo,
    ImageValue,
    InvalidText,
    LobWrites,
    NotLogged,
    Unsupported,
    ValueRef,
)

from drapply.errors import ValueNotStorable

Converter = Callable[[ImageValue], object]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_INTEGRAL = re.compile(r"-?(?:0|[1-9][0-9]*)")
_PRECISION = re.compile(r"\((\d+)\)")
DURATION = re.compile(
    r"(?P<sign>-)?P(?:(?P<Y>\d+)Y)?(?:(?P<M>\d+)M)?(?:(?P<D>\d+)D)?"
    r"(?:T(?:(?P<H>\d+)H)?(?:(?P<MI>\d+)M)?(?:(?P<S>\d+(?:\.\d+)?)S)?)?"
)


class Family(StrEnum):
    """Oracle types grouped by how their values are stored."""

    TEXT = "text"
    NUMBER = "number"
    BINARY_FLOAT = "binary_float"
    BINARY_DOUBLE = "binary_double"
    DATE = "date"
    TIMESTAMP = "timestamp"
    TIMESTAMP_TZ = "timestamp_tz"
    TIMESTAMP_LTZ = "timestamp_ltz"
    INTERVAL_YM = "interval_ym"
    INTERVAL_DS = "interval_ds"
    RAW = "raw"
    CLOB = "clob"
    NCLOB = "nclob"
    BLOB = "blob"
    BOOLEAN = "boolean"
    OTHER = "other"


_TEXT_TYPES = {
    "VARCHAR2", "NVARCHAR2", "VARCHAR", "CHAR", "NCHAR", "LONG",
    "ROWID", "UROWID", "JSON", "XMLTYPE",
}  # fmt: skip
_RAW_TYPES = {"RAW", "LONG RAW"}


@dataclass(frozen=True, slots=True)
class ColumnType:
    """An Oracle column type reduced to what storage decisions need."""

    family: Family
    fraction: int  # fractional-second digits (timestamps, day-second intervals)
    precision: int | None = None
    scale: int | None = None


def classify(info: ColumnInfo | None) -> ColumnType:
    """Classify a column's Oracle type name (``TIMESTAMP(3) WITH TIME ZONE`` …).

    For TIMESTAMP and INTERVAL DAY TO SECOND the fractional precision is the number in
    parentheses if the name carries one, else ``scale`` (``COL$.SCALE``), else 6.
    """
    if info is None:
        return ColumnType(Family.OTHER, 6)
    name = info.type.upper().strip()
    found = _PRECISION.search(name)
    fraction = int(found.group(1)) if found else (info.scale if info.scale is not None else 6)
    base = _PRECISION.sub("", name).strip()
    family = _family(base)
    return ColumnType(family, fraction, info.precision, info.scale)


def _family(base: str) -> Family:
    simple = {
        "NUMBER": Family.NUMBER,
        "FLOAT": Family.NUMBER,
        "INTEGER": Family.NUMBER,
        "BINARY_FLOAT": Family.BINARY_FLOAT,
        "BINARY_DOUBLE": Family.BINARY_DOUBLE,
        "DATE": Family.DATE,
        "BOOLEAN": Family.BOOLEAN,
        "CLOB": Family.CLOB,
        "NCLOB": Family.NCLOB,
        "BLOB": Family.BLOB,
    }
    if base in simple:
        return simple[base]
    if base in _TEXT_TYPES:
        return Family.TEXT
    if base in _RAW_TYPES:
        return Family.RAW
    if base.startswith("TIMESTAMP"):
        if "LOCAL TIME ZONE" in base:
            return Family.TIMESTAMP_LTZ
        return Family.TIMESTAMP_TZ if "TIME ZONE" in base else Family.TIMESTAMP
    if base.startswith("INTERVAL YEAR"):
        return Family.INTERVAL_YM
    if base.startswith("INTERVAL DAY"):
        return Family.INTERVAL_DS
    return Family.OTHER


def storable(value: ImageValue) -> str | None:
    """The value as an exact string, or an error for values that cannot be stored."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, InvalidText):
        raise ValueNotStorable(
            f"text that is not valid {value.charset} cannot be stored exactly",
            charset=value.charset,
        )
    if isinstance(value, Unsupported):
        raise ValueNotStorable(
            f"capture could not decode this {value.oracle_type} value",
            oracle_type=value.oracle_type,
        )
    if isinstance(value, NotLogged):
        raise ValueNotStorable(
            f"the redo does not carry this {value.oracle_type} value ({value.reason})",
            oracle_type=value.oracle_type,
        )
    if isinstance(value, LobWrites):  # the planner takes those of an update's LOB columns
        raise ValueNotStorable(
            f"in-place writes to a {value.oracle_type} can only update a row's "
            "CLOB/NCLOB/BLOB column",
            oracle_type=value.oracle_type,
        )
    if isinstance(value, ValueRef):
        raise ValueNotStorable(
            f"a reference to value {value.id} whose value_chunk records did not come with it"
        )
    raise ValueNotStorable(f"unexpected value of type {type(value).__name__}")


def as_text(value: ImageValue) -> object:
    """Text, dates, timestamps: the exact string."""
    return storable(value)


def integer_or_text(value: ImageValue) -> object:
    """NUMBER for stores without an exact decimal type: an int when the value is integral
    and fits 64 bits, else the exact decimal text (never a float)."""
    text = storable(value)
    if text is None:
        return None
    if _INTEGRAL.fullmatch(text) and text != "-0":
        number = int(text)
        if INT64_MIN <= number <= INT64_MAX:
            return number
    return text


def hex_bytes(value: ImageValue) -> object:
    """RAW and BLOB: upper-case hex to bytes."""
    text = storable(value)
    if text is None:
        return None
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ValueNotStorable("RAW/BLOB value is not hex") from None


def float_or_nan_text(value: ImageValue) -> object:
    """BINARY_FLOAT/DOUBLE for SQLite: a float, except NaN (SQLite stores NaN as NULL)."""
    text = storable(value)
    if text is None:
        return None
    number = float(text)
    return text if number != number else number


def interval_for_postgres(value: ImageValue) -> object:
    """ISO 8601 duration with one leading sign (``-P3DT4H``) to PostgreSQL's per-field
    signs (``P-3DT-4H``), which is the only negative form PostgreSQL reads."""
    text = storable(value)
    if text is None:
        return None
    found = DURATION.fullmatch(text)
    if found is None:
        raise ValueNotStorable("interval is not an ISO 8601 duration")
    if not found.group("sign"):
        return text
    date = "".join(f"-{found.group(u)}{u}" for u in ("Y", "M", "D") if found.group(u))
    time = "".join(
        f"-{found.group(g)}{u}" for g, u in (("H", "H"), ("MI", "M"), ("S", "S")) if found.group(g)
    )
    return "P" + date + (f"T{time}" if time else "")
