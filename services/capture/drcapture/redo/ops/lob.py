"""11.17 LLB (LogMiner LOB support): the LOB writes a transaction makes, by LOB id.

Oracle logs an LLB around LOB data for LogMiner: type 4 before a row change with LOB
columns (lists them), type 1 when a write to one LOB begins (its LID, table, column, the
operation and a length), type 3 when it ends (the length). A LOB insert in the real 19c
log reads: type 4, type 1 (length 0), type 3 (0), type 1 (final length), the 26.6 pages,
type 3 (final length), then the row (``shared/notes/lob-redo-facts.md`` §2, §5).

Field numbers are 0-based: field 1 byte 0 is the type, field 2 holds the rest. Offsets
from ORACDC ``OraCdcChangeLlb.java`` (both versions: type, XID, LID, column, fsiz, object,
operation codes), checked on the real records ``Op11_17_Test/*`` (little- and big-endian)
and on the 19c log; see docs/REDO_FORMAT.md ("LOBs").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from drcapture.redo.binary import Endian
from drcapture.redo.ops.common import need_field, read_xid
from drcapture.redo.vectors import ChangeVector, VectorSlot
from drcapture.redo.xid import Xid

# --- 11.17 LLB: field 1 byte 0 is the type; field 2 holds the rest ------------------------
LLB_TYPE_FIELD: Final = 1
LLB_TYPE: Final = 0  # u8 (field 1): 1 LOB write begins, 3 LOB write ends, 4 row's LOB columns
LLB_BODY_FIELD: Final = 2
LLB1_OP: Final = 0  # u8: 0x01/0x02 write, 0x66/0x67 trim, 0x68 erase (ORACDC); byte 1 is 0
LLB1_XID: Final = 4  # type 1: u16 usn, u16 slot, u32 sqn
LLB1_LID: Final = 12  # type 1: 10 bytes, the LOB id (the locator's and 26.6's)
LLB1_COLUMN: Final = 22  # type 1: u16 LOB column
LLB1_FIELD_24: Final = 24  # type 1: u32, 1 in every record seen (ORACDC: erase offset)
LLB1_PAGE_SIZE: Final = 28  # type 1: u32, data bytes per page (8060 19c log; 8132 fixtures)
LLB1_LENGTH: Final = 32  # type 1: u32, write: LOB length; trim: new length; erase: amount
LLB1_OBJ: Final = 36  # type 1: u32 table object
LLB1_MIN: Final = 40  # 80 bytes in every record seen; 40..79 not read
LLB3_XID: Final = 0  # type 3: xid
LLB3_OBJ: Final = 8  # type 3: u32 table object
LLB3_LENGTH: Final = 12  # type 3: u32 LOB length after the write (when >= 16 bytes)
LLB3_COLUMN: Final = 34  # type 3: u16 column (when the field is >= 36 bytes)
LLB3_MIN: Final = 12
LLB4_OBJ: Final = 0  # type 4: u32 table object
LLB4_XID: Final = 8  # type 4: xid; field 3 lists the LOB column numbers (u16)
LLB4_MIN: Final = 16
LLB4_COLUMNS_FIELD: Final = 3
LLB_TYPE_WRITE_BEGIN: Final = 1
LLB_TYPE_WRITE_END: Final = 3
LLB_TYPE_COLUMNS: Final = 4
LLB_OPS_WRITE: Final = frozenset({0x01, 0x02})
LLB_OP_NAMES: Final = {0x01: "write", 0x02: "write", 0x66: "trim", 0x67: "trim", 0x68: "erase"}
LID_SIZE: Final = 10


@dataclass(frozen=True, slots=True)
class LobOp:
    """11.17: one LLB. ``op``, ``lid``, ``length`` and ``page_size`` are type 1's (type 3
    has a ``length`` too); ``columns`` lists type 4's LOB columns, or the one column
    type 1/3 names."""

    kind: int
    xid: Xid | None
    obj: int | None
    columns: tuple[int, ...]
    op: int | None = None
    lid: bytes | None = None
    length: int | None = None
    page_size: int | None = None

    @property
    def op_name(self) -> str:
        """``write``, ``trim``, ``erase`` or ``op 0x..`` for a type 1."""
        if self.op is None:
            return "none"
        return LLB_OP_NAMES.get(self.op, f"op 0x{self.op:02X}")


def parse_11_17(cv: ChangeVector) -> LobOp:
    """11.17 LLB: type, XID, object, LOB columns; type 1: operation, LID and lengths."""
    kind = need_field(cv, LLB_TYPE_FIELD, 1, "LLB type")[LLB_TYPE]
    e = cv.endian
    if kind == LLB_TYPE_WRITE_BEGIN:
        f = need_field(cv, LLB_BODY_FIELD, LLB1_MIN, "LLB type 1")
        op = f[LLB1_OP] if f[LLB1_OP + 1] == 0 else 0xFF00 | f[LLB1_OP + 1]
        return LobOp(kind, read_xid(cv, f, LLB1_XID), e.u32(f, LLB1_OBJ),
                     (e.u16(f, LLB1_COLUMN),), op=op, lid=bytes(f[LLB1_LID : LLB1_LID + LID_SIZE]),
                     length=e.u32(f, LLB1_LENGTH), page_size=e.u32(f, LLB1_PAGE_SIZE))
    if kind == LLB_TYPE_WRITE_END:
        f = need_field(cv, LLB_BODY_FIELD, LLB3_MIN, "LLB type 3")
        cols: tuple[int, ...] = (e.u16(f, LLB3_COLUMN),) if len(f) >= LLB3_COLUMN + 2 else ()
        length = e.u32(f, LLB3_LENGTH) if len(f) >= LLB3_LENGTH + 4 else None
        return LobOp(kind, read_xid(cv, f, LLB3_XID), e.u32(f, LLB3_OBJ), cols, length=length)
    if kind == LLB_TYPE_COLUMNS:
        f = need_field(cv, LLB_BODY_FIELD, LLB4_MIN, "LLB type 4")
        ids = (cv.field(LLB4_COLUMNS_FIELD) if len(cv.fields) > LLB4_COLUMNS_FIELD
               else memoryview(b""))
        cols = tuple(e.u16(ids, 2 * k) for k in range(len(ids) // 2))
        return LobOp(kind, read_xid(cv, f, LLB4_XID), e.u32(f, LLB4_OBJ), cols)
    return LobOp(kind, None, None, ())


def quick_llb(data: bytes, slot: VectorSlot, e: Endian) -> tuple[int, int | None]:
    """For an 11.17, read in place for the triage: its type (-1 when unreadable) and, for a
    type 1 (a LOB write), its table (None when the field is too short to read)."""
    lengths = slot.lengths
    if len(lengths) <= LLB_TYPE_FIELD or lengths[LLB_TYPE_FIELD] < 1:
        return -1, None
    kind = data[slot.field_at(LLB_TYPE_FIELD) + LLB_TYPE]
    if kind != LLB_TYPE_WRITE_BEGIN or len(lengths) <= LLB_BODY_FIELD:
        return kind, None
    if lengths[LLB_BODY_FIELD] < LLB1_MIN:
        return kind, None
    return kind, e.u32(data, slot.field_at(LLB_BODY_FIELD) + LLB1_OBJ)
