"""``encode_column``: a published value back to the bytes Oracle stores (the inverse of
:func:`drcapture.values.decode.decode_column`; used by the redo writer and the tests)."""

from __future__ import annotations

from collections.abc import Callable

from drcommon.model import ColumnValue, InvalidText, Unsupported

from drcapture.dictionary.model import Charsets, ColumnDef, OracleType
from drcapture.values.errors import MalformedValue
from drcapture.values.number import encode_number
from drcapture.values.text import charset, encode_text

ValueEncoder = Callable[[str, ColumnDef, Charsets], bytes]


def _number(value: str, column: ColumnDef, charsets: Charsets) -> bytes:
    return encode_number(value)


def _text(value: str, column: ColumnDef, charsets: Charsets) -> bytes:
    name = charsets.national if column.charset_form == 2 else charsets.database
    return encode_text(value, charset(name))


ENCODERS: dict[int, ValueEncoder] = {
    OracleType.NUMBER: _number,
    OracleType.VARCHAR2: _text,
    OracleType.CHAR: _text,
    OracleType.LONG: _text,
}


def encode_column(value: ColumnValue, column: ColumnDef, charsets: Charsets) -> bytes | None:
    """The stored bytes of one column value (``None`` for SQL NULL).

    :class:`InvalidText` and :class:`Unsupported` give back the bytes they carry.
    Raises :class:`~drcapture.values.errors.MalformedValue` for a value the type
    cannot hold exactly.
    """
    if value is None:
        return None
    if isinstance(value, InvalidText | Unsupported):
        if value.hex is None:
            raise MalformedValue("unsupported value carries no bytes", column=column.name)
        return bytes.fromhex(value.hex)
    encoder = ENCODERS.get(column.type_code)
    if encoder is None:
        raise MalformedValue(
            "no encoder for this type", column=column.name, oracle_type=column.type_name
        )
    return encoder(value, column, charsets)
