"""19.1 direct loader blocks: rows of table blocks written by a direct-path load."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from drcommon.errors import ParseError

from drcapture.redo.ops.common import need_field
from drcapture.redo.ops.kdo import Column, RowImage, read_row_column
from drcapture.redo.vectors import ChangeVector

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

@dataclass(frozen=True, slots=True)
class DirectLoad:
    """19.1: a block written by a direct-path load, with its rows when it is a table block."""

    data_obj: int
    bdba: int
    rows: tuple[RowImage, ...]
    table_block: bool


def parse_19_1(cv: ChangeVector) -> DirectLoad:
    """19.1 direct loader block: rows of a table block image (other blocks: no rows)."""
    f = cv.field(0)
    e = cv.endian
    image = len(cv.fields) > 1 and cv.field_len(1) > 0 and cv.field(1)[0] == COLB_BLOCK_IMAGE
    if not image or len(f) < COLB_HEADER or f[COLB_BLOCK_TYPE] != COLB_TABLE_BLOCK:
        # A block image of another type (2: an index block) names its object at 4 too
        # (fixture Op19_1_IdxObj16334300_Test: 0xf93ddc = 16334300).
        at = COLB_OBJ if image and len(f) >= COLB_OBJ + 4 else 0
        obj = e.u32(f, at) if len(f) >= at + 4 else 0
        return DirectLoad(data_obj=obj, bdba=0, rows=(), table_block=False)
    need_field(cv, 0, COLB_HEADER, "direct loader block")
    itc = e.u16(f, COLB_ITC)
    data = (COLB_HEADER + itc * COLB_ITL_ENTRY + 7) & ~7
    need_field(cv, 0, data + COLB_DATA_ROWS, "direct loader data header")
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


