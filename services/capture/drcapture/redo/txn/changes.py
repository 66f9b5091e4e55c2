"""Logical rows to :class:`drcommon.model.RowChange`: names from the dictionary, values
through the value decoder. Objects the dictionary does not know are named the way
LogMiner names them without a dictionary (``UNKNOWN``.``OBJ# n``, ``COL n``, hex values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from drcommon.model import (
    ColumnInfo,
    ColumnValue,
    Operation,
    RowChange,
    SourcePosition,
    Unsupported,
)

from drcapture.dictionary.model import Charsets, ColumnDef, OracleType, TableDef
from drcapture.redo.records import Rba
from drcapture.redo.txn.rows import LogicalRow

ValueDecoder = Callable[[bytes | None, ColumnDef, Charsets], ColumnValue]

UNKNOWN_OWNER = "UNKNOWN"
_LOB_TYPES = {OracleType.CLOB, OracleType.BLOB, OracleType.BFILE}
_ROWID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def default_decoder() -> ValueDecoder:
    """The project's value decoder (imported late: it lives in another package)."""
    from drcapture.values.decode import decode_column

    return decode_column


def _b64(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        chars.append(_ROWID_ALPHABET[value & 0x3F])
        value >>= 6
    return "".join(reversed(chars))


def rowid(data_obj: int, bdba: int, slot: int) -> str:
    """The extended ROWID: data object, relative file, block, row (base 64)."""
    return (_b64(data_obj, 6) + _b64(bdba >> 22, 3) + _b64(bdba & 0x3FFFFF, 6)
            + _b64(slot, 3))


def unknown_table_name(obj: int) -> str:
    """``OBJ# 72726``."""
    return f"OBJ# {obj}"


def unknown_column_name(col: int) -> str:
    """``COL 3``."""
    return f"COL {col}"


@dataclass(frozen=True, slots=True)
class Context:
    """What every change of one thread's stream shares."""

    db_id: int
    db_name: str
    thread: int
    charsets: Charsets


def _position(row: LogicalRow, ctx: Context) -> SourcePosition:
    return SourcePosition(db_id=ctx.db_id, db_name=ctx.db_name, con_id=row.con_id,
                          thread=ctx.thread, sequence=Rba.parse(row.rba).sequence, rba=row.rba,
                          scn=row.scn, sub_scn=row.sub_scn)


def _info(column: ColumnDef, charsets: Charsets) -> ColumnInfo:
    charset = None
    if column.charset_form == 1:
        charset = charsets.database
    elif column.charset_form == 2:
        charset = charsets.national
    return ColumnInfo(type=column.type_name, length=column.length or None,
                      precision=column.precision, scale=column.scale,
                      nullable=column.nullable, charset=charset)


def _hex(raw: bytes | None) -> str | None:
    return None if raw is None else raw.hex().upper()


def _known_image(values: dict[int, bytes | None] | None, table: TableDef, decode: ValueDecoder,
                 charsets: Charsets, infos: dict[str, ColumnInfo]) -> dict[str, ColumnValue] | None:
    if values is None:
        return None
    image: dict[str, ColumnValue] = {}
    for col in sorted(values):
        raw = values[col]
        column = table.column_by_seg(col)
        if column is None:
            image[unknown_column_name(col)] = _hex(raw)
            infos.setdefault(unknown_column_name(col), ColumnInfo(type="UNKNOWN"))
            continue
        infos.setdefault(column.name, _info(column, charsets))
        if column.type_code in _LOB_TYPES and raw is not None:
            image[column.name] = Unsupported(oracle_type=column.type_name, hex=None)
        else:
            image[column.name] = decode(raw, column, charsets)
    return image


def _add_trailing_nulls(image: dict[str, ColumnValue], table: TableDef, charsets: Charsets,
                        infos: dict[str, ColumnInfo]) -> None:
    for column in table.columns:
        if column.seg_col > 0 and column.name not in image:
            image[column.name] = None
            infos.setdefault(column.name, _info(column, charsets))


def _unknown_image(values: dict[int, bytes | None] | None,
                   infos: dict[str, ColumnInfo]) -> dict[str, ColumnValue] | None:
    if values is None:
        return None
    image: dict[str, ColumnValue] = {}
    for col in sorted(values):
        name = unknown_column_name(col)
        image[name] = _hex(values[col])
        infos.setdefault(name, ColumnInfo(type="UNKNOWN"))
    return image


def to_row_change(row: LogicalRow, table: TableDef | None, ctx: Context,
                  decode: ValueDecoder) -> RowChange:
    """Name and decode one logical row (``table`` None: an object without dictionary)."""
    infos: dict[str, ColumnInfo] = {}
    pk: tuple[str, ...]
    if table is None:
        owner, name, pk = UNKNOWN_OWNER, unknown_table_name(row.obj), ()
        before = _unknown_image(row.before, infos)
        after = _unknown_image(row.after, infos)
    else:
        owner, name, pk = table.owner, table.name, table.pk
        before = _known_image(row.before, table, decode, ctx.charsets, infos)
        after = _known_image(row.after, table, decode, ctx.charsets, infos)
        # Oracle does not store trailing NULL columns: a whole-row image (the new row of
        # an insert, the old row of a delete) names them, so apply writes NULL, not a default.
        if row.op is Operation.INSERT and after is not None:
            _add_trailing_nulls(after, table, ctx.charsets, infos)
        elif row.op is Operation.DELETE and before is not None:
            _add_trailing_nulls(before, table, ctx.charsets, infos)
    row_id = rowid(row.data_obj, row.row[0], row.row[1]) if row.row and row.data_obj else None
    return RowChange(op=row.op, owner=owner, table=name, obj=row.obj or None, pk=pk,
                     before=before, after=after, columns=infos, ddl=row.ddl,
                     position=_position(row, ctx), row_id=row_id)
