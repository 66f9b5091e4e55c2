"""Layer 26 (KDLI, LOB data blocks): 26.6 block images of SecureFile LOB data, and 26.2
changes to an existing LOB block.

A 26.6 "BIMG" vector carries one whole LOB data block: which LOB (LID), which block
(DBA), how many bytes of it are data (hwm) and the data; its last field names the table
and column the LOB belongs to (supplemental logging). It carries no page number and no
byte offset: a page is known by its DBA alone, and its place in the LOB comes from the
extent list of the locator the row holds (:mod:`drcapture.values.lob`). There is no undo
for it and no XID in the vector header; the XID is in the fields.

26.2 (KDLI redo on an existing block: fill, zero …) is recognised and read only for what
names its LOB, table and transaction: capture refuses such changes to captured tables,
their place in the LOB is not in the redo.

Field numbers are 0-based. Sources: the real 19c log of ``shared/notes/lob-redo-facts.md``
§3 ("19c log"), ORACDC ``OraCdcChange.java`` (kdliCommon, kdli: load data, fill, suplog,
fpload) and ``OraCdcChangeLobs.java``, OLR ``OpCode1A06.h``, ``OpCode1A02.cpp``,
``OpCode.h`` (kdliFill, kdliZero); see docs/REDO_FORMAT.md ("LOBs").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from drcommon.errors import ParseError

from drcapture.redo.binary import Endian
from drcapture.redo.ops.common import need_field, read_xid
from drcapture.redo.ops.kdo import parse_ktb
from drcapture.redo.vectors import ChangeVector, VectorSlot
from drcapture.redo.xid import Xid

# --- kdli common (26.6 field 0, 26.2 field 1), 12 bytes -----------------------------------
KDLI_OP: Final = 0  # u8: 0 REDO, 1 UNDO, 2 CR, 3 FRMT, 4 INVL, 5 LOAD, 6 BIMG, 7 SINV (ORACDC)
KDLI_TYPE: Final = 1  # u8: & 0x70: 0x20 data, 0x10 lhb, 0x30 btree … (ORACDC); 0x20 in 19c log
KDLI_FLAGS: Final = 2  # u8 flg0, u8 flg1: 02 00 in the 19c log; not read
KDLI_PSIZ: Final = 4  # u16: data bytes a page holds (8060 for 8 KB blocks in the 19c log)
KDLI_POFF: Final = 6  # u16: where the data starts in the block (128 in the 19c log)
KDLI_DBA: Final = 8  # u32: the LOB block (the vector header's DBA too)
KDLI_COMMON_MIN: Final = 12
# --- kdli sub-structures: u8 code at 0 ----------------------------------------------------
KDLI_CODE: Final = 0
CODE_LOAD_DATA: Final = 0x04
CODE_FILL: Final = 0x06
CODE_SUPLOG: Final = 0x09
CODE_FPLOAD: Final = 0x0B
# fpload (26.6 field 1), 32 bytes
FPLOAD_BLOCK_SIZE: Final = 4  # u32: the block size (8192)
FPLOAD_SCN: Final = 8  # 8-byte SCN
FPLOAD_XID: Final = 16  # u16 usn, u16 slot, u32 sqn
FPLOAD_DATA_OBJ: Final = 24  # u32: the LOB segment's data object (OLR reads the object here)
FPLOAD_MIN: Final = 28
# load data (26.6 field 2): the LOB block's header, 56 bytes
LOAD_SCN: Final = 2  # SCN of the block (6 bytes: u16 wrap, u32 base)
LOAD_FLG0: Final = 10  # u8: 0x20 = typ data
LOAD_LID: Final = 12  # 10 bytes: the LOB id
LOAD_LID_SIZE: Final = 10
LOAD_RID: Final = 22  # 6 bytes, 0 in the 19c log
LOAD_FLG2: Final = 28  # u8 flg2, flg3, pskip, sskip: 0 in the 19c log (0x10 flg2 = cmap)
LOAD_HASH: Final = 32  # 20 bytes, 0 in the 19c log
LOAD_HWM: Final = 52  # u16: valid data bytes in this block
LOAD_MIN: Final = 56
# fill (26.2): u16 offset in the block at 2, u16 fsiz at 4, u16 data length at 6, data at 8
FILL_OFFSET: Final = 2
FILL_LENGTH: Final = 6
FILL_MIN: Final = 8
# suplog (26.6 field 4): the table the LOB belongs to, 24 bytes
SUPLOG_XID: Final = 4  # u16 usn, u16 slot, u32 sqn
SUPLOG_OBJ: Final = 12  # u32: the table's object number
SUPLOG_OBJV: Final = 16  # u16: object version (1)
SUPLOG_COLUMN: Final = 18  # u16: the LOB column
SUPLOG_MIN: Final = 20
# 26.6 BIMG field order (19c log; OLR OpCode1A06; ORACDC LOB_BIMG_INDEX = 3)
BIMG_COMMON: Final = 0
BIMG_FPLOAD: Final = 1
BIMG_LOAD: Final = 2
BIMG_DATA: Final = 3
BIMG_SUPLOG: Final = 4
OP_BIMG: Final = 0x06
KDLI_TYPE_MASK: Final = 0x70
KDLI_TYPE_DATA: Final = 0x20
FLG2_CMAP: Final = 0x10  # ORACDC: data compressed with a cmap
R26_2_KTB: Final = 0  # 26.2 field 0: KTB redo (ORACDC, OLR)
R26_2_COMMON: Final = 1


@dataclass(frozen=True, slots=True)
class LobPage:
    """26.6: one whole LOB data block (its ``hwm`` data bytes)."""

    dba: int
    lid: bytes
    xid: Xid
    data_obj: int  # the LOB segment's data object
    obj: int | None  # the table (suplog); None when the vector has no suplog field
    column: int | None
    page_size: int
    data: bytes

    @property
    def lid_hex(self) -> str:
        """The LOB id as upper-case hex."""
        return self.lid.hex().upper()


@dataclass(frozen=True, slots=True)
class LobBlockChange:
    """A layer-26 change capture reads only to name it: 26.2, or a 26.6 that is not a
    data block image. Its place in a LOB is not in the redo."""

    code: int  # 26.x
    kdli_op: int
    dba: int
    xid: Xid | None
    lid: bytes | None
    obj: int | None  # the table (suplog), when the vector names it
    column: int | None


def _common(cv: ChangeVector, index: int) -> tuple[int, int, int, int]:
    f = need_field(cv, index, KDLI_COMMON_MIN, "kdli common")
    e = cv.endian
    return f[KDLI_OP], f[KDLI_TYPE], e.u16(f, KDLI_PSIZ), e.u32(f, KDLI_DBA)


def _need_code(cv: ChangeVector, index: int, code: int, size: int, what: str) -> memoryview:
    f = need_field(cv, index, size, what)
    if f[KDLI_CODE] != code:
        raise ParseError(f"26.6 field {index} is not kdli {what}", opcode="26.6",
                         field=index, expected=code, found=f[KDLI_CODE])
    return f


def parse_26_6(cv: ChangeVector) -> LobPage | LobBlockChange:
    """26.6: a LOB data block image, or (other kdli ops) a :class:`LobBlockChange`."""
    op, typ, psiz, dba = _common(cv, BIMG_COMMON)
    if op != OP_BIMG or typ & KDLI_TYPE_MASK != KDLI_TYPE_DATA:
        return _block_change(cv, BIMG_COMMON + 1, op, dba)
    e = cv.endian
    fpload = _need_code(cv, BIMG_FPLOAD, CODE_FPLOAD, FPLOAD_MIN, "fpload")
    load = _need_code(cv, BIMG_LOAD, CODE_LOAD_DATA, LOAD_MIN, "load data")
    if load[LOAD_FLG2] & FLG2_CMAP:
        return _block_change(cv, BIMG_FPLOAD, op, dba)  # compressed page: not decoded
    hwm = e.u16(load, LOAD_HWM)
    data = need_field(cv, BIMG_DATA, hwm, "LOB data")
    obj = column = None
    if cv.field_len(BIMG_SUPLOG) >= SUPLOG_MIN and cv.field(BIMG_SUPLOG)[KDLI_CODE] == CODE_SUPLOG:
        suplog = cv.field(BIMG_SUPLOG)
        obj, column = e.u32(suplog, SUPLOG_OBJ), e.u16(suplog, SUPLOG_COLUMN)
    return LobPage(dba=dba, lid=bytes(load[LOAD_LID : LOAD_LID + LOAD_LID_SIZE]),
                   xid=read_xid(cv, fpload, FPLOAD_XID), data_obj=e.u32(fpload, FPLOAD_DATA_OBJ),
                   obj=obj, column=column, page_size=psiz, data=bytes(data[:hwm]))


def parse_26_2(cv: ChangeVector) -> LobBlockChange:
    """26.2: KTB redo, kdli common, then kdli sub-structures (read for names only)."""
    op, _, _, dba = _common(cv, R26_2_COMMON)
    change = _block_change(cv, R26_2_COMMON + 1, op, dba)
    ktb = parse_ktb(cv, R26_2_KTB)  # its 'F' XID first: the fields' may be absent
    if ktb is not None and ktb.xid is not None:
        return LobBlockChange(change.code, op, dba, ktb.xid, change.lid, change.obj,
                              change.column)
    return change


def _block_change(cv: ChangeVector, first: int, op: int, dba: int) -> LobBlockChange:
    """What the kdli fields from ``first`` on name: LID, table, column, XID."""
    e = cv.endian
    xid: Xid | None = None
    lid = obj = column = None
    for index in range(first, len(cv.fields)):
        f = cv.field(index)
        code = f[KDLI_CODE] if len(f) else -1
        if code == CODE_LOAD_DATA and len(f) >= LOAD_MIN and lid is None:
            lid = bytes(f[LOAD_LID : LOAD_LID + LOAD_LID_SIZE])
        elif code == CODE_SUPLOG and len(f) >= SUPLOG_MIN:
            obj, column = e.u32(f, SUPLOG_OBJ), e.u16(f, SUPLOG_COLUMN)
            xid = xid or read_xid(cv, f, SUPLOG_XID)
        elif code == CODE_FPLOAD and len(f) >= FPLOAD_MIN:
            xid = read_xid(cv, f, FPLOAD_XID)
    return LobBlockChange(code=cv.header.code, kdli_op=op, dba=dba, xid=xid, lid=lid, obj=obj,
                          column=column)


def quick_lob_table(data: bytes, slot: VectorSlot, e: Endian) -> int | None:
    """For a 26.x vector: the table its suplog field names, read in place (what the
    triage needs); None when no field names one."""
    lengths = slot.lengths
    if slot.code == 6:
        if not lengths or lengths[BIMG_COMMON] < KDLI_COMMON_MIN:
            return None
        if data[slot.fields_at + KDLI_OP] == OP_BIMG:  # field 3 is data: only 4 can name it
            indexes: range = range(BIMG_SUPLOG, min(BIMG_SUPLOG + 1, len(lengths)))
        else:
            indexes = range(BIMG_FPLOAD, len(lengths))
    else:
        indexes = range(R26_2_COMMON + 1, len(lengths))
    for index in indexes:
        if lengths[index] >= SUPLOG_MIN:
            at = slot.field_at(index)
            if data[at + KDLI_CODE] == CODE_SUPLOG:
                return e.u32(data, at + SUPLOG_OBJ)
    return None
