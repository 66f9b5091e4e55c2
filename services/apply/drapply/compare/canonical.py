"""The canonical text of a value, and a row's hash: what "equal" means between an
Oracle source and a DR copy in PostgreSQL, SQLite or Oracle.

Both sides are first brought to the wire format (:func:`drapply.snapshot.values.to_wire`);
this module then removes what differs only in form:

* NUMBER: ``1.50`` = ``1.5``, ``-0`` = ``0``, no exponent;
* BINARY_FLOAT / BINARY_DOUBLE: the shortest text of the IEEE value (32 bits for
  BINARY_FLOAT), ``NaN``, ``Infinity``;
* DATE / TIMESTAMP: ISO with ``T``, fractional zeros dropped (``.120000`` = ``.12``), so
  a TIMESTAMP(9) kept as text and one stored with microseconds agree when the digits do;
  WITH LOCAL TIME ZONE as the UTC instant; WITH TIME ZONE as written (offset or region),
  or as the UTC instant when the DR keeps instants only (``tz_timestamps = "native"``);
* INTERVAL: total months / total seconds;
* CHAR / NCHAR: trailing blanks dropped (blank-padded comparison, as Oracle's);
* RAW / BLOB: upper-case hex; CLOB / NCLOB / BLOB longer than 64 KiB are hashed;
* ``''`` = NULL only where the database makes them one (an Oracle DR copy); a
  PostgreSQL or SQLite copy holding ``''`` where the source holds NULL differs, since an
  application there would see it.

A row's hash is 64 bits of BLAKE2b over the canonical texts, each length-prefixed (NULL
has its own mark), in the table's column order.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from drapply.snapshot.model import WireRow
from drapply.snapshot.values import decimal_text, float_text
from drapply.typemap import DURATION, ColumnType, Family

LONG_VALUE = 64 * 1024
_STAMP = re.compile(
    r"(?P<date>-?\d{4,}-\d\d-\d\d)[T ](?P<time>\d\d:\d\d:\d\d)(?:\.(?P<frac>\d+))?"
    r"\s*(?P<zone>Z|[+-]\d\d:?\d\d|\[[^\]]+\]|[A-Za-z][\w/+-]*)?"
)
_CHAR_TYPES = ("CHAR", "NCHAR")


@dataclass(frozen=True, slots=True)
class Canon:
    """How one pair of databases is compared."""

    empty_is_null: bool = False  # the DR copy is Oracle: '' is NULL there
    tz_instants: bool = False  # the DR copy keeps TIMESTAMP WITH TIME ZONE as instants


_PLAIN_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d*)?")


def _number(text: str) -> str:
    if _PLAIN_NUMBER.fullmatch(text):  # the usual form: only zeros to drop
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return "0" if text == "-0" else text
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    if not value.is_finite():
        return decimal_text(value)
    if value == 0:
        return "0"
    normal = value.normalize()
    out = decimal_text(normal)
    return out.rstrip("0").rstrip(".") if "." in out else out


def _float(text: str, single: bool) -> str:
    try:
        return float_text(float(text), single)
    except ValueError:
        return text


def _stamp(text: str, family: Family, canon: Canon) -> str:
    if family in (Family.DATE, Family.TIMESTAMP) and len(text) >= 19 and text[10] == "T" and (
        len(text) == 19 or (text[19] == "." and text[20:].isdigit())
    ):  # the usual form, no zone: only fractional zeros to drop
        if family is Family.DATE:
            return text[:19]
        return text.rstrip("0").rstrip(".") if len(text) > 19 else text
    found = _STAMP.fullmatch(text.strip())
    if found is None:
        return text
    frac = (found.group("frac") or "").rstrip("0")
    zone = found.group("zone")
    base = f"{found.group('date')}T{found.group('time')}"
    if family is Family.DATE:
        return base
    if family is Family.TIMESTAMP_LTZ or (family is Family.TIMESTAMP_TZ and canon.tz_instants):
        return _instant(base, frac, zone) or text
    stamp = base + (f".{frac}" if frac else "")
    if zone is None:
        return stamp
    if zone == "Z":
        zone = "+00:00"
    elif zone[0] in "+-" and ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    return stamp + zone


def _instant(base: str, frac: str, zone: str | None) -> str | None:
    """The UTC instant of a local time with an offset or region (naive: UTC already)."""
    try:
        moment = datetime.fromisoformat(base)
    except ValueError:
        return None
    if zone:
        try:
            if zone[0] == "[":
                tz = ZoneInfo(zone[1:-1])
                moment = moment.replace(tzinfo=tz).astimezone(UTC).replace(tzinfo=None)
            else:
                offset = datetime.fromisoformat(f"{base}{zone if zone != 'Z' else '+00:00'}")
                moment = offset.astimezone(UTC).replace(tzinfo=None)
        except (ValueError, ZoneInfoNotFoundError):
            return None
    return moment.isoformat() + (f".{frac}" if frac else "")


def _interval(text: str, family: Family) -> str:
    found = DURATION.fullmatch(text.strip())
    if found is None:
        return text
    sign = -1 if found.group("sign") else 1
    if family is Family.INTERVAL_YM:
        months = int(found.group("Y") or 0) * 12 + int(found.group("M") or 0)
        return str(sign * months)
    seconds = (Decimal(found.group("D") or 0) * 86400 + Decimal(found.group("H") or 0) * 3600
               + Decimal(found.group("MI") or 0) * 60 + Decimal(found.group("S") or 0))  # fmt: skip
    return _number(str(sign * seconds))


def canonical(value: str | None, column: ColumnType, type_name: str, canon: Canon) -> str | None:
    """The canonical text of one wire value (see the module docstring)."""
    if value is None:
        return None
    family = column.family
    if value == "" and canon.empty_is_null and family not in (Family.RAW, Family.BLOB):
        return None
    match family:
        case Family.NUMBER:
            return _number(value)
        case Family.BINARY_FLOAT | Family.BINARY_DOUBLE:
            return _float(value, family is Family.BINARY_FLOAT)
        case Family.DATE | Family.TIMESTAMP | Family.TIMESTAMP_TZ | Family.TIMESTAMP_LTZ:
            return _stamp(value, family, canon)
        case Family.INTERVAL_YM | Family.INTERVAL_DS:
            return _interval(value, family)
        case Family.RAW | Family.BLOB:
            return _long(value.upper())
        case Family.BOOLEAN:
            return {"1": "true", "0": "false"}.get(value, value.lower())
        case Family.TEXT if type_name.upper().split("(")[0].strip() in _CHAR_TYPES:
            trimmed = value.rstrip(" ")
            return None if trimmed == "" and canon.empty_is_null else trimmed
        case Family.CLOB | Family.NCLOB:
            return _long(value)
        case _:
            return value


def _long(text: str) -> str:
    if len(text) <= LONG_VALUE:
        return text
    data = text.encode("utf-8")
    return f"sha256:{len(data)}:{hashlib.sha256(data).hexdigest()}"


def _identity(value: str | None) -> str | None:
    return value


def canonical_for(column: ColumnType, type_name: str,
                  canon: Canon) -> Callable[[str | None], str | None]:  # fmt: skip
    """:func:`canonical` for one column, with nothing to do where nothing differs in form
    (plain text without the '' = NULL rule)."""
    if column.family in (Family.TEXT, Family.OTHER) and not canon.empty_is_null and (
        type_name.upper().split("(")[0].strip() not in _CHAR_TYPES
    ):
        return _identity

    def one(value: str | None) -> str | None:
        return canonical(value, column, type_name, canon)

    return one


@dataclass(frozen=True, slots=True)
class RowCanon:
    """Canonical rows of one table: its columns' types, in order."""

    kinds: tuple[ColumnType, ...]
    types: tuple[str, ...]
    canon: Canon
    steps: tuple[Callable[[str | None], str | None], ...] = ()

    def __post_init__(self) -> None:
        steps = tuple(canonical_for(k, t, self.canon)
                      for k, t in zip(self.kinds, self.types, strict=True))  # fmt: skip
        object.__setattr__(self, "steps", steps)

    def row(self, row: WireRow) -> tuple[str | None, ...]:
        return tuple(step(v) for step, v in zip(self.steps, row, strict=True))

    def pick(self, row: WireRow, positions: Sequence[int]) -> tuple[str | None, ...]:
        """Canonical values at ``positions`` (a key)."""
        return tuple(self.steps[i](row[i]) for i in positions)


def row_hash(values: Sequence[str | None]) -> int:
    """64 bits of BLAKE2b over the canonical texts, each prefixed with its length (NULL
    has its own mark), so no two rows share an encoding."""
    text = "\x1e".join("\x00" if v is None else f"{len(v)}:{v}" for v in values)
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big")
