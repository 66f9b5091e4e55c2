"""LOB redo the way Oracle 19c writes it for SecureFile LOBs (the writer's side of
:mod:`drcapture.redo.ops.kdli`, :mod:`drcapture.redo.ops.lob` and
:mod:`drcapture.values.lob`).

A LOB value written by a change becomes: an 11.17 type 4 listing the row's LOB columns;
per LOB, 11.17 type 1 (length 0), type 3 (length 0), type 1 (final length), one 26.6
per data block, 11.17 type 3 (final length); then the row change, whose column holds
the locator. That is the order of the real 19c log (``shared/notes/lob-redo-facts.md``
§2). A value of up to :data:`IN_ROW_MAX` bytes stays in the row (its data inside the
locator) with only an 11.17 type 1/type 3 pair; an empty one writes no LOB redo.

What the writer leaves out, because its layout is not known: the 13.53/13.54 space
records and the 23.3 block lists that come with the pages in the real log (no reader
needs them), and the row's other columns that a real type 4 carries in fields 4 on.
Values whose meaning is unknown are written as the real records have them (the 16-byte
field 0 of an LLB, type 1 bytes 40..79, the locator's constant bytes); the rest of an
unknown field is zero. See docs/REDO_FORMAT.md ("LOBs", "Writing redo").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from drcapture.redo.layout import ByteOrder
from drcapture.redo.ops import kdli as D
from drcapture.redo.ops import lob as B
from drcapture.synth.writer_ops import Txn
from drcapture.synth.writer_records import Packer, VectorSpec
from drcapture.values import lob as V

BLOCK_SIZE: Final = 8192  # LOB segment blocks (8 KB, as in the 19c log)
PAGE_SIZE: Final = 8060  # data bytes per block: psiz of the 19c log
PAGE_OFFSET: Final = 128  # poff of the 19c log
# "approximately 4000 bytes" may stay in the row (Oracle SecureFiles and Large Objects
# Developer's Guide, ENABLE STORAGE IN ROW); the exact limit is ours: 4000 less the
# locator's 36 bytes of overhead.
IN_ROW_MAX: Final = 3964
EXTENT_BLOCKS: Final = 54  # blocks per extent (0x36, the 19c log's first extent)
LOB_AFN: Final = 7  # the LOB segment's file (the 19c log's 26.6 AFN)
LID_PREFIX: Final = bytes.fromhex("00000001")  # the first 4 LID bytes in every LID seen
LLB_FIELD0: Final = bytes.fromhex("00000000000000000000310100000000")  # fixture, meaning unknown
LLB1_SIZE: Final = 80
LLB1_TAIL_LE: Final = bytes.fromhex("0300000000000000010000000100000000000000")  # fixture 000
LLB1_TAIL_BE: Final = bytes.fromhex("0001000000000000010000000000000100000000")  # fixture 001
LLB1_LAST: Final = 8  # type 1 field 3: 8 zero bytes in both fixtures
LLB3_SIZE: Final = 36
LLB4_SIZE: Final = 40  # ORACDC: "0x10 or 0x28?"
LLB_TYP: Final = 6  # vector header type of every 11.17 seen
BIMG_TYP: Final = 0x0A  # vector header type of every 26.6 of the 19c log
BIMG_FLAGS: Final = bytes((0x02, 0x00))  # kdli common flg0/flg1 of the 19c log
SUPLOG_OBJV: Final = 1
EXT_FLAGS_VALUE: Final = 0x02  # the 19c log's extent flag byte
LOC_VERSION_VALUE: Final = 1
LOC_FLAGS1_VALUE: Final = 0x0C


@dataclass(frozen=True, slots=True)
class StoredLob:
    """A LOB value as the database stores it: LID, stored bytes, where they are."""

    kind: V.LobKind
    lid: bytes
    data: bytes
    in_row: bool
    extents: tuple[V.Extent, ...]
    varying: bool  # CLOB in a varying-width database (locator byte 6)

    def pages(self) -> list[tuple[int, bytes]]:
        """(DBA, data) of each block an out-of-row value fills, in data order."""
        if self.in_row:
            return []
        dbas = [e.dba + k for e in self.extents for k in range(e.blocks)]
        return [(dba, self.data[i * PAGE_SIZE : (i + 1) * PAGE_SIZE])
                for i, dba in enumerate(dbas)]


class LobSpace:
    """Hands out LIDs and LOB-segment blocks (one segment file for every LOB)."""

    def __init__(self, first_lid: int = 0xBC9BCC, first_block: int = 0x5CA) -> None:
        self._lid = first_lid
        self._block = first_block

    def store(self, kind: V.LobKind, data: bytes, *, varying: bool) -> StoredLob:
        """A new LOB holding ``data`` (in row when small enough)."""
        self._lid += 1
        lid = LID_PREFIX + self._lid.to_bytes(6, "big")
        if len(data) <= IN_ROW_MAX:
            return StoredLob(kind, lid, data, True, (), varying)
        blocks = -(-len(data) // PAGE_SIZE)
        extents = []
        while blocks:
            take = min(blocks, EXTENT_BLOCKS)
            extents.append(V.Extent((LOB_AFN << 22) | self._block, take))
            self._block += take + 1  # leave a block between extents, as the 19c log has
            blocks -= take
        return StoredLob(kind, lid, data, False, tuple(extents), varying)


# --- the locator (big-endian inside, whatever the platform) -------------------------------


def _width(length: int) -> int:
    return max(1, (length.bit_length() + 7) // 8)


def locator(lob: StoredLob) -> bytes:
    """The SecureFile locator a row holds for ``lob``."""
    head = bytearray(V.LOC_HEAD)
    head[V.LOC_SIGNATURE : V.LOC_SIGNATURE + 2] = V.SIGNATURES[0].to_bytes(2, "big")
    head[V.LOC_VERSION : V.LOC_VERSION + 2] = LOC_VERSION_VALUE.to_bytes(2, "big")
    head[V.LOC_TYPE] = lob.kind
    head[V.LOC_FLAGS1] = LOC_FLAGS1_VALUE
    head[V.LOC_FLAGS2] = V.FLAGS2_VARYING if lob.varying else 0
    head[V.LOC_FLAGS3] = V.FLAGS3_SECUREFILE
    # 1 for BLOB, 2 for UTF-16 data (every locator seen); 1 for single-byte CLOBs is a guess
    wide = lob.kind is V.LobKind.NCLOB or lob.varying
    head[V.LOC_WIDTH : V.LOC_WIDTH + 2] = (2 if wide else 1).to_bytes(2, "big")
    head[V.LOC_LID : V.LOC_LID + V.LOC_LID_SIZE] = lob.lid
    length = len(lob.data)
    width = _width(length)
    style = 0 if lob.in_row else V.STYLE_EXTENTS
    tail = bytes((style | (width - 1), 0)) + length.to_bytes(width, "big")
    tail += bytes((1 if length else 0,))
    if lob.in_row:
        tail += lob.data
    elif length:
        tail += bytes((len(lob.extents) - 1,))
        for extent in lob.extents:
            tail += bytes((EXT_FLAGS_VALUE,)) + extent.dba.to_bytes(4, "big")
            tail += extent.blocks.to_bytes(1, "big")
    storage = bytes((V.SF_IN_ROW if lob.in_row else V.SF_OUT_OF_ROW, V.SF_INODE_PLAIN))
    body = storage + len(tail).to_bytes(2, "big") + tail
    return bytes(head) + (len(body) + 2).to_bytes(2, "big") + body


# --- 11.17 LLB --------------------------------------------------------------------------


def _xid(p: Packer, txn: Txn) -> bytes:
    return p.u16(txn.usn) + p.u16(txn.slot) + p.u32(txn.sqn)


def _llb(kind: int, body: bytes, rest: tuple[bytes, ...], con_id: int) -> VectorSpec:
    return VectorSpec(layer=11, code=17, fields=(LLB_FIELD0, bytes((kind,)), body, *rest),
                      cls=0, afn=0, dba=0, scn=0, seq=0, typ=LLB_TYP, data_obj=0,
                      con_id=con_id)


def llb_write_begin(p: Packer, txn: Txn, obj: int, column: int, lob: StoredLob, length: int,
                    con_id: int) -> VectorSpec:
    """11.17 type 1: a write to ``lob`` begins; ``length`` as the real records have it
    (0 in the first of a new LOB, the final length in the second)."""
    body = bytearray(LLB1_SIZE)
    body[B.LLB1_OP] = 0x02
    body[B.LLB1_XID : B.LLB1_XID + 8] = _xid(p, txn)
    body[B.LLB1_LID : B.LLB1_LID + B.LID_SIZE] = lob.lid
    p.put16(body, B.LLB1_COLUMN, column)
    p.put32(body, B.LLB1_FIELD_24, 1)
    p.put32(body, B.LLB1_PAGE_SIZE, PAGE_SIZE)
    p.put32(body, B.LLB1_LENGTH, length)
    p.put32(body, B.LLB1_OBJ, obj)
    tail = LLB1_TAIL_BE if p.order is ByteOrder.BIG else LLB1_TAIL_LE
    body[B.LLB1_MIN : B.LLB1_MIN + len(tail)] = tail
    return _llb(B.LLB_TYPE_WRITE_BEGIN, bytes(body), (bytes(LLB1_LAST),), con_id)


def llb_write_end(p: Packer, txn: Txn, obj: int, column: int, length: int,
                  con_id: int) -> VectorSpec:
    """11.17 type 3: the write ends with the LOB ``length`` bytes long."""
    body = bytearray(LLB3_SIZE)
    body[B.LLB3_XID : B.LLB3_XID + 8] = _xid(p, txn)
    p.put32(body, B.LLB3_OBJ, obj)
    p.put32(body, B.LLB3_LENGTH, length)
    p.put16(body, B.LLB3_COLUMN, column)
    return _llb(B.LLB_TYPE_WRITE_END, bytes(body), (), con_id)


def llb_columns(p: Packer, txn: Txn, obj: int, columns: list[int], con_id: int) -> VectorSpec:
    """11.17 type 4: the LOB columns of the row change that follows."""
    body = bytearray(LLB4_SIZE)
    p.put32(body, B.LLB4_OBJ, obj)
    body[B.LLB4_XID : B.LLB4_XID + 8] = _xid(p, txn)
    ids = b"".join(p.u16(c) for c in columns)
    return _llb(B.LLB_TYPE_COLUMNS, bytes(body), (ids,), con_id)


# --- 26.6 ---------------------------------------------------------------------------------


def page_vector(p: Packer, txn: Txn, lob: StoredLob, dba: int, data: bytes, *, obj: int,
                column: int, segment: int, scn: int, con_id: int) -> VectorSpec:
    """26.6: one LOB data block of ``lob`` (BIMG: kdli common, fpload, load data, the
    data, suplog), as the 19c log's."""
    common = bytearray(D.KDLI_COMMON_MIN)
    common[D.KDLI_OP], common[D.KDLI_TYPE] = D.OP_BIMG, D.KDLI_TYPE_DATA
    common[D.KDLI_FLAGS : D.KDLI_FLAGS + 2] = BIMG_FLAGS
    p.put16(common, D.KDLI_PSIZ, PAGE_SIZE)
    p.put16(common, D.KDLI_POFF, PAGE_OFFSET)
    p.put32(common, D.KDLI_DBA, dba)
    fpload = bytearray(32)
    fpload[D.KDLI_CODE] = D.CODE_FPLOAD
    p.put32(fpload, D.FPLOAD_BLOCK_SIZE, BLOCK_SIZE)
    fpload[D.FPLOAD_SCN : D.FPLOAD_SCN + 8] = p.scn(scn)
    fpload[D.FPLOAD_XID : D.FPLOAD_XID + 8] = _xid(p, txn)
    p.put32(fpload, D.FPLOAD_DATA_OBJ, segment)
    load = bytearray(D.LOAD_MIN)
    load[D.KDLI_CODE] = D.CODE_LOAD_DATA
    load[D.LOAD_SCN : D.LOAD_SCN + 6] = p.record_scn(scn)
    load[D.LOAD_FLG0] = D.KDLI_TYPE_DATA
    load[D.LOAD_LID : D.LOAD_LID + D.LOAD_LID_SIZE] = lob.lid
    p.put16(load, D.LOAD_HWM, len(data))
    suplog = bytearray(24)
    suplog[D.KDLI_CODE] = D.CODE_SUPLOG
    suplog[D.SUPLOG_XID : D.SUPLOG_XID + 8] = _xid(p, txn)
    p.put32(suplog, D.SUPLOG_OBJ, obj)
    p.put16(suplog, D.SUPLOG_OBJV, SUPLOG_OBJV)
    p.put16(suplog, D.SUPLOG_COLUMN, column)
    return VectorSpec(layer=26, code=6,
                      fields=(bytes(common), bytes(fpload), bytes(load), data, bytes(suplog)),
                      cls=1, afn=dba >> 22, dba=dba, scn=scn, typ=BIMG_TYP, data_obj=segment,
                      con_id=con_id)
