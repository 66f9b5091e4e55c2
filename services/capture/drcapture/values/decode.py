"""``decode_column``: one column's redo bytes to its published value.

An explicit ``type code -> decoder`` table; a type without a decoder (LOB locators,
XMLTYPE and other opaque types, objects, nested tables, varrays, JSON, UROWID, BFILE)
travels as :class:`Unsupported` with its bytes in hex, so the row is never dropped.
"""

from __future__ import annotations

from collections.abc import Callable

from drcommon.model import ColumnValue, Unsupported

from drcapture.dictionary.model import Charsets, ColumnDef, OracleType
from drcapture.values.binary import decode_boolean, decode_raw
from drcapture.values.datetimes import decode_date, decode_timestamp, decode_timestamp_tz
from drcapture.values.ieee import decode_binary_double, decode_binary_float
from drcapture.values.intervals import decode_interval_ds, decode_interval_ym
from drcapture.values.number import decode_number
from drcapture.values.rowid import decode_rowid
from drcapture.values.text import charset, decode_text

ValueDecoder = Callable[[bytes, ColumnDef, Charsets], ColumnValue]


def _text(raw: bytes, column: ColumnDef, charsets: Charsets) -> ColumnValue:
    name = charsets.national if column.charset_form == 2 else charsets.database
    return decode_text(raw, charset(name))


def _unsupported(raw: bytes, column: ColumnDef, charsets: Charsets) -> ColumnValue:
    return Unsupported(oracle_type=column.type_name, hex=raw.hex().upper())


def _plain(decoder: Callable[[bytes], str]) -> ValueDecoder:
    def decode(raw: bytes, column: ColumnDef, charsets: Charsets) -> ColumnValue:
        return decoder(raw)

    return decode


def _scaled(decoder: Callable[[bytes, int | None], str]) -> ValueDecoder:
    def decode(raw: bytes, column: ColumnDef, charsets: Charsets) -> ColumnValue:
        return decoder(raw, column.scale)

    return decode


DECODERS: dict[int, ValueDecoder] = {
    OracleType.NUMBER: _plain(decode_number),
    OracleType.BINARY_FLOAT: _plain(decode_binary_float),
    OracleType.BINARY_DOUBLE: _plain(decode_binary_double),
    OracleType.VARCHAR2: _text,
    OracleType.CHAR: _text,
    OracleType.LONG: _text,
    OracleType.DATE: _plain(decode_date),
    OracleType.TIMESTAMP: _scaled(decode_timestamp),
    OracleType.TIMESTAMP_LTZ: _scaled(decode_timestamp),
    OracleType.TIMESTAMP_TZ: _scaled(decode_timestamp_tz),
    OracleType.INTERVAL_YM: _plain(decode_interval_ym),
    OracleType.INTERVAL_DS: _scaled(decode_interval_ds),
    OracleType.RAW: _plain(decode_raw),
    OracleType.LONG_RAW: _plain(decode_raw),
    OracleType.ROWID: _plain(decode_rowid),
    OracleType.BOOLEAN: _plain(decode_boolean),
}


def decode_column(raw: bytes | None, column: ColumnDef, charsets: Charsets) -> ColumnValue:
    """The value of one column from its stored bytes (``None`` is SQL NULL).

    Raises :class:`~drcapture.values.errors.MalformedValue` for bytes that are not a
    valid encoding of the column's type, and
    :class:`~drcapture.values.errors.UnknownCharset` for a character set without codec.
    """
    if raw is None:
        return None
    return DECODERS.get(column.type_code, _unsupported)(raw, column, charsets)
