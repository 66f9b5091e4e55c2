"""``decode_column``: one column's redo bytes to its published value.

An explicit ``type code -> decoder`` table; a type without a decoder travels as
:class:`Unsupported` with its bytes in hex, so the row is never dropped.
"""

from __future__ import annotations

from collections.abc import Callable

from drcommon.model import ColumnValue, Unsupported

from drcapture.dictionary.model import Charsets, ColumnDef, OracleType
from drcapture.values.number import decode_number
from drcapture.values.text import charset, decode_text

ValueDecoder = Callable[[bytes, ColumnDef, Charsets], ColumnValue]


def _number(raw: bytes, column: ColumnDef, charsets: Charsets) -> ColumnValue:
    return decode_number(raw)


def _text(raw: bytes, column: ColumnDef, charsets: Charsets) -> ColumnValue:
    name = charsets.national if column.charset_form == 2 else charsets.database
    return decode_text(raw, charset(name))


def _unsupported(raw: bytes, column: ColumnDef, charsets: Charsets) -> ColumnValue:
    return Unsupported(oracle_type=column.type_name, hex=raw.hex().upper())


DECODERS: dict[int, ValueDecoder] = {
    OracleType.NUMBER: _number,
    OracleType.VARCHAR2: _text,
    OracleType.CHAR: _text,
    OracleType.LONG: _text,
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
