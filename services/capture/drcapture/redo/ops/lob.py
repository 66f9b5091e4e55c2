"""11.17 LogMiner LOB support (LLB): the header only; LOB data is reported unsupported."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from drcapture.redo.ops.common import need_field, read_xid
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

@dataclass(frozen=True, slots=True)
class LobOp:
    """11.17: LogMiner LOB support; LOB data itself is not decoded (reported unsupported)."""

    kind: int
    xid: Xid | None
    obj: int | None
    columns: tuple[int, ...]


def parse_11_17(cv: ChangeVector) -> LobOp:
    """11.17 LLB header: type, XID, object, LOB columns."""
    kind = need_field(cv, 1, 1, "LLB type")[LLB_TYPE]
    e = cv.endian
    if kind == 1:
        f = need_field(cv, 2, LLB1_MIN, "LLB type 1")
        return LobOp(kind, read_xid(cv, f, LLB1_XID), e.u32(f, LLB1_OBJ), (e.u16(f, LLB1_COLUMN),))
    if kind == 3:
        f = need_field(cv, 2, LLB3_MIN, "LLB type 3")
        cols: tuple[int, ...] = (e.u16(f, LLB3_COLUMN),) if len(f) >= LLB3_COLUMN + 2 else ()
        return LobOp(kind, read_xid(cv, f, LLB3_XID), e.u32(f, LLB3_OBJ), cols)
    if kind == 4:
        f = need_field(cv, 2, LLB4_MIN, "LLB type 4")
        ids = cv.field(3) if len(cv.fields) > 3 else memoryview(b"")
        cols = tuple(e.u16(ids, 2 * k) for k in range(len(ids) // 2))
        return LobOp(kind, read_xid(cv, f, LLB4_XID), e.u32(f, LLB4_OBJ), cols)
    return LobOp(kind, None, None, ())


