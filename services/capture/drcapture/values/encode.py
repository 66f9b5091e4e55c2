"""``encode_column``: a published value back to the bytes Oracle stores (the inverse of
:func:`drcapture.values.decode.decode_column`; used by the redo writer and the tests)."""

from __future__ import annotations

from collections.abc import Callable

from drcommon.model import ColumnValue, InvalidText, LobWrites, NotLogged, Unsupported

from drcapture.dictionary.model import Charsets, ColumnDef, OracleType
from drcapture.values.binary import encode_boolean, encode_raw
from drcapture.values.datetimes import encode_date, encode_timestamp, encode_timestamp_tz
from drcapture.values.errors import MalformedValue
from drcapture.values.ieee import encode_binary_double, encode_binary_float
from drcapture.values.intervals import encode_interval_ds, encode_interval_ym
from drcapture.values.number import encode_number
from drcapture.values.rowid import encode_rowid
from drcapture.values.text import charset, encode_text

ValueEncoder = Callable[[str, ColumnDef, Charsets], bytes]


def _text(value: str, column: ColumnDef, charsets: Charsets) -> bytes:
    name = charsets.national if column.charset_form == 2 else charsets.database
    return encode_text(value, charset(name))


def _plain(encoder: Callable[[str], bytes]) -> ValueEncoder:
    def encode(value: str, column: ColumnDef, charsets: Charsets) -> bytes:
        return encoder(value)

    return encode


ENCODERS: dict[int, ValueEncoder] = {
    OracleType.NUMBER: _plain(encode_number),
    OracleType.BINARY_FLOAT: _plain(encode_binary_float),
    OracleType.BINARY_DOUBLE: _plain(encode_binary_double),
    OracleType.VARCHAR2: _text,
    OracleType.CHAR: _text,
    OracleType.LONG: _text,
    OracleType.DATE: _plain(encode_date),
    OracleType.TIMESTAMP: _plain(encode_timestamp),
    OracleType.TIMESTAMP_LTZ: _plain(encode_timestamp),
    OracleType.TIMESTAMP_TZ: _plain(encode_timestamp_tz),
    OracleType.INTERVAL_YM: _plain(encode_interval_ym),
    OracleType.INTERVAL_DS: _plain(encode_interval_ds),
    OracleType.RAW: _plain(encode_raw),
    OracleType.LONG_RAW: _plain(encode_raw),
    OracleType.ROWID: _plain(encode_rowid),
    OracleType.BOOLEAN: _plain(encode_boolean),
}


def encode_column(value: ColumnValue, column: ColumnDef, charsets: Charsets) -> bytes | None:
    """The stored bytes of one column value (``None`` for SQL NULL).

    :class:`InvalidText` and :class:`Unsupported` give back the bytes they carry; a
    :class:`NotLogged` has none.
    Raises :class:`~drcapture.values.errors.MalformedValue` for a value the type
    cannot hold exactly.
    """
    if value is None:
        return None
    if isinstance(value, InvalidText | Unsupported):
        if value.hex is None:
            raise MalformedValue("unsupported value carries no bytes", column=column.name)
        return bytes.fromhex(value.hex)
    if isinstance(value, NotLogged | LobWrites):
        raise MalformedValue("a value the redo does not carry whole has no bytes",
                             column=column.name)
    encoder = ENCODERS.get(column.type_code)
    if encoder is None:
        raise MalformedValue(
            "no encoder for this type", column=column.name, oracle_type=column.type_name
        )
    return encoder(value, column, charsets)
