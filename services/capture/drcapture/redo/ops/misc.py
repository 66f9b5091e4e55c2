"""The smaller families: 11.17 LOB support (LLB), 19.1 direct-path load blocks, 24.1 DDL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from drcommon.errors import ParseError

from drcapture.redo.ops.kdo import Column, RowImage, read_row_column
from drcapture.redo.vectors import ChangeVector
from drcapture.redo.xid import Xid

# --- 11.17 LLB: field 1 byte 0 is the type; field 2 holds the rest ------------------------
LLB_TYPE: Final = 0  # u8 (field 1): 1 LOB write, 3 LOB op, 4 base-table supplemental
LLB1_XID: Final = 4  # type 1: u16 usn, u16 slot, u32 sqn
LLB1_COLUMN: Final = 22  # type 1: u16 LOB column
LLB1_OBJ: Final = 36  # type 1: u32 object
LLB1_MIN: Final = 40
LLB3_XID: Final = 0  # type 3: xid
LLB3_OBJ: Final = 8  # type 3: u32 object
LLB3_COLUMN: Final = 34  # type 3: u16 column (when the field is >= 36 bytes)
LLB3_MIN: Final = 12
LLB4_OBJ: Final = 0  # type 4: u32 object
LLB4_XID: Final = 8  # type 4: xid; field 3 lists the LOB column numbers (u16)
LLB4_MIN: Final = 16

# --- 19.1 direct loader block --------------------------------------------------------------
COLB_BLOCK_TYPE: Final = 0  # u8 (field 0, block image): 1 = table data block, 2 = index
COLB_OBJ: Final = 4  # u32: data object number
COLB_ITC: Final = 16  # u16: interested transaction list entries
COLB_BDBA: Final = 20  # u32: block address
COLB_HEADER: Final = 24  # the ITL follows here, 24 bytes per entry; the data header after it
COLB_ITL_ENTRY: Final = 24
COLB_TABLE_BLOCK: Final = 1
COLB_DATA_NTAB: Final = 1  # u8 (data header): tables in the block
COLB_DATA_NROW: Final = 2  # u16: rows in the block
COLB_DATA_HSIZE: Final = 6  # u16: data header size
COLB_DATA_PTI: Final = 14  # 4 bytes per table; then one u16 per row: offset from data header
COLB_DATA_ROWS: Final = 18
COLB_BLOCK_IMAGE: Final = 0x06  # first byte of field 1 marking a table block image

# --- 24.1 DDL --------------------------------------------------------------------------------
DDL_XID: Final = 4  # field 0: u16 usn, u16 slot, u32 sqn
DDL_KIND: Final = 16  # field 0: u16 statement kind
DDL_MIN: Final = 18
DDL_SQL_FIELD: Final = 7  # the SQL text
DDL_OBJ_FIELD: Final = 11  # u32 object number
DDL_KINDS_WITHOUT_OBJ: Final = frozenset({4, 5, 6, 8, 9, 10})


@dataclass(frozen=True, slots=True)
class LobOp:
    """11.17: LogMiner LOB support; LOB data itself is not decoded (reported unsupported)."""

    kind: int
    xid: Xid | None
    obj: int | None
    columns: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class DirectLoad:
    """19.1: a block written by a direct-path load, with its rows when it is a table block."""

    data_obj: int
    bdba: int
    rows: tuple[RowImage, ...]
    table_block: bool


@dataclass(frozen=True, slots=True)
class Ddl:
    """24.1: a DDL statement as logged for LogMiner."""

    xid: Xid
    kind: int
    obj: int | None
    sql: str


def _xid(cv: ChangeVector, f: memoryview, at: int) -> Xid:
    e = cv.endian
    return Xid(e.u16(f, at), e.u16(f, at + 2), e.u32(f, at + 4))


def _need(cv: ChangeVector, index: int, size: int, what: str) -> memoryview:
    if cv.field_len(index) < size:
        raise ParseError(f"{what} field too short", opcode=f"{cv.header.layer}.{cv.header.code}",
                         field=index, expected=size, found=cv.field_len(index))
    return cv.field(index)


def parse_11_17(cv: ChangeVector) -> LobOp:
    """11.17 LLB header: type, XID, object, LOB columns."""
    kind = _need(cv, 1, 1, "LLB type")[LLB_TYPE]
    e = cv.endian
    if kind == 1:
        f = _need(cv, 2, LLB1_MIN, "LLB type 1")
        return LobOp(kind, _xid(cv, f, LLB1_XID), e.u32(f, LLB1_OBJ), (e.u16(f, LLB1_COLUMN),))
    if kind == 3:
        f = _need(cv, 2, LLB3_MIN, "LLB type 3")
        cols: tuple[int, ...] = (e.u16(f, LLB3_COLUMN),) if len(f) >= LLB3_COLUMN + 2 else ()
        return LobOp(kind, _xid(cv, f, LLB3_XID), e.u32(f, LLB3_OBJ), cols)
    if kind == 4:
        f = _need(cv, 2, LLB4_MIN, "LLB type 4")
        ids = cv.field(3) if len(cv.fields) > 3 else memoryview(b"")
        cols = tuple(e.u16(ids, 2 * k) for k in range(len(ids) // 2))
        return LobOp(kind, _xid(cv, f, LLB4_XID), e.u32(f, LLB4_OBJ), cols)
    return LobOp(kind, None, None, ())


def parse_19_1(cv: ChangeVector) -> DirectLoad:
    """19.1 direct loader block: rows of a table block image (other blocks: no rows)."""
    f = cv.field(0)
    e = cv.endian
    image = len(cv.fields) > 1 and cv.field_len(1) > 0 and cv.field(1)[0] == COLB_BLOCK_IMAGE
    if not image or len(f) < COLB_HEADER or f[COLB_BLOCK_TYPE] != COLB_TABLE_BLOCK:
        obj = e.u32(f, 0) if len(f) >= 4 else 0
        return DirectLoad(data_obj=obj, bdba=0, rows=(), table_block=False)
    _need(cv, 0, COLB_HEADER, "direct loader block")
    itc = e.u16(f, COLB_ITC)
    data = (COLB_HEADER + itc * COLB_ITL_ENTRY + 7) & ~7
    _need(cv, 0, data + COLB_DATA_ROWS, "direct loader data header")
    nrow = e.u16(f, data + COLB_DATA_NROW)
    ntab = f[data + COLB_DATA_NTAB]
    rows_at = data + COLB_DATA_PTI + 4 * ntab
    rows: list[RowImage] = []
    for r in range(nrow):
        at = rows_at + 2 * r
        row_at = data + e.u16(f, at)
        if row_at + 3 > len(f):
            raise ParseError("direct-load row outside the block", row=r, offset=row_at)
        fb, cc = f[row_at], f[row_at + 2]
        pos = row_at + 3
        cols: list[Column] = []
        for c in range(cc):
            value, pos = read_row_column(f, pos, e)
            cols.append(Column(c, value))
        rows.append(RowImage(slot=r, fb=fb, columns=tuple(cols)))
    return DirectLoad(data_obj=e.u32(f, COLB_OBJ), bdba=e.u32(f, COLB_BDBA), rows=tuple(rows),
                      table_block=True)


def parse_24_1(cv: ChangeVector) -> Ddl:
    """24.1 DDL: XID, kind, SQL text and object number."""
    f = _need(cv, 0, DDL_MIN, "DDL header")
    e = cv.endian
    kind = e.u16(f, DDL_KIND)
    obj = None
    if len(cv.fields) > DDL_OBJ_FIELD and kind not in DDL_KINDS_WITHOUT_OBJ:
        obj_field = cv.field(DDL_OBJ_FIELD)
        obj = e.u32(obj_field, 0) if len(obj_field) >= 4 else None
    sql = ""
    if len(cv.fields) > DDL_SQL_FIELD:
        sql = bytes(cv.field(DDL_SQL_FIELD)).rstrip(b"\x00").decode("utf-8", "replace")
    return Ddl(xid=_xid(cv, f, DDL_XID), kind=kind, obj=obj, sql=sql)
