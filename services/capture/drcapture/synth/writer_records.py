"""Encoding redo records and change vectors (the writer's side of
:mod:`drcapture.redo.records` and :mod:`drcapture.redo.vectors`).

Offsets come from :mod:`drcapture.redo.layout`; the few long-header fields the reader
does not need are writer-private constants below, each with what it was learned from
(the Oracle 23 Free archived logs in ``shared/fixtures/redo/free23-insert``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from drcapture.redo import layout as L
from drcapture.redo.binary import encode_redo_time
from drcapture.redo.layout import ByteOrder

# Long record header fields not defined by the reader (seen in every LWN-starting record
# of the free23 logs): the LWN length in blocks is stored twice, at 28 and at 32; the
# LWN's SCN at 40 and the SCN of its end at 56.
LWN_LENGTH_COPY: Final = 28
LWN_BYTE_36: Final = 36  # u8 0x0a in 544 of 545 real long headers (meaning not known)
LWN_BYTE_36_VALUE: Final = 0x0A
LWN_SCN: Final = 40
LWN_END_SCN: Final = 56
OBJ_NONE: Final = 0xFFFFFFFF  # data object of vectors on undo and other non-table blocks


@dataclass(frozen=True, slots=True)
class Platform:
    """How a database writes redo: byte order, change-vector header size, compatibility."""

    order: ByteOrder
    wide_vectors: bool  # 12.1+: 32-byte vector headers with a container id
    compat_vsn: int  # block 1 ``compat_vsn``

    @property
    def big_scn_headers(self) -> bool:
        """SCNs in block 1 carry the 0x8000 "big SCN" wrap flag (seen in 23ai logs)."""
        return self.compat_vsn >= 0x0C200000


LINUX_19C = Platform(ByteOrder.LITTLE, True, 0x13000000)
LINUX_11G = Platform(ByteOrder.LITTLE, False, 0x0B200400)
AIX_19C = Platform(ByteOrder.BIG, True, 0x13000000)
LINUX_23 = Platform(ByteOrder.LITTLE, True, 0x17060000)

# The layout names of shared/fixtures/redo/oracdc-records/index.json.
PLATFORMS: dict[str, Platform] = {
    "getLinux19c": LINUX_19C,
    "getLinux11g": LINUX_11G,
    "getAix19c": AIX_19C,
    "linux23": LINUX_23,
}


class Packer:
    """Endian-aware packing into a bytearray (the writer's twin of ``Endian``)."""

    __slots__ = ("_u16", "_u32", "order")

    def __init__(self, order: ByteOrder) -> None:
        self.order = order
        self._u16 = struct.Struct(order.value + "H")
        self._u32 = struct.Struct(order.value + "I")

    def u16(self, value: int) -> bytes:
        """Two bytes."""
        return self._u16.pack(value & 0xFFFF)

    def u32(self, value: int) -> bytes:
        """Four bytes."""
        return self._u32.pack(value & 0xFFFFFFFF)

    def put16(self, buf: bytearray, off: int, value: int) -> None:
        """Store a u16 at ``off``."""
        self._u16.pack_into(buf, off, value & 0xFFFF)

    def put32(self, buf: bytearray, off: int, value: int) -> None:
        """Store a u32 at ``off``."""
        self._u32.pack_into(buf, off, value & 0xFFFFFFFF)

    def scn(self, scn: int, *, big: bool = False) -> bytes:
        """An 8-byte SCN: base u32, wrap u16, extension u16 (``big``: flagged 12.2+ form)."""
        if big or scn >> 47:  # a wrap with its top bit set would read as the flag
            return self.u32(scn) + self.u16(0x8000 | (scn >> 48)) + self.u16(scn >> 32)
        return self.u32(scn) + self.u16(scn >> 32) + self.u16(0)

    def record_scn(self, scn: int) -> bytes:
        """The 6-byte SCN of a record header: wrap u16, base u32."""
        wrap = scn >> 32
        if wrap > 0x7FFF:
            wrap = 0x8000 | (scn >> 48)
        return self.u16(wrap) + self.u32(scn)


@dataclass(frozen=True, slots=True)
class VectorSpec:
    """One change vector to encode: header values and the field contents."""

    layer: int
    code: int
    fields: tuple[bytes, ...]
    cls: int = 1
    afn: int = 0
    dba: int = 0
    scn: int = 0
    seq: int = 1
    typ: int = 0
    data_obj: int = OBJ_NONE
    con_id: int = 0
    flags: int = 0


@dataclass(frozen=True, slots=True)
class RecordSpec:
    """One redo record to encode. ``lwn`` records get the 68-byte header with a timestamp
    and start a new log write (a fresh block)."""

    scn: int
    vectors: tuple[VectorSpec, ...]
    sub_scn: int = 1
    lwn: bool = False
    timestamp: datetime | None = None
    con_uid: int = 0
    vld: int | None = None  # default: VALID, plus LWN for long headers
    extra: dict[int, bytes] = field(default_factory=dict)  # raw header patches (tests)


def encode_vector(spec: VectorSpec, platform: Platform) -> bytes:
    """Header, field-length array and 4-byte aligned fields of one change vector."""
    p = Packer(platform.order)
    head = bytearray(L.CV_HEADER_12C if platform.wide_vectors else L.CV_HEADER_11G)
    head[L.CV_LAYER] = spec.layer
    head[L.CV_CODE] = spec.code
    p.put16(head, L.CV_CLASS, spec.cls)
    p.put16(head, L.CV_AFN, spec.afn)
    p.put16(head, L.CV_OBJ_HIGH, spec.data_obj >> 16)
    p.put32(head, L.CV_DBA, spec.dba)
    head[L.CV_SCN : L.CV_SCN + 8] = p.scn(spec.scn)
    head[L.CV_SEQ] = spec.seq
    head[L.CV_TYPE] = spec.typ
    p.put16(head, L.CV_OBJ_LOW, spec.data_obj)
    if platform.wide_vectors:
        p.put16(head, L.CV_CON_ID, spec.con_id)
        p.put16(head, L.CV_FLAGS, spec.flags)
    count = len(spec.fields)
    array = bytearray(L.field_lengths_size(count))
    p.put16(array, 0, 2 * (count + 1))
    for i, data in enumerate(spec.fields):
        p.put16(array, 2 + 2 * i, len(data))
    body = b"".join(data + bytes(L.align4(len(data)) - len(data)) for data in spec.fields)
    return bytes(head) + bytes(array) + body


def encode_record(spec: RecordSpec, platform: Platform) -> bytes:
    """A whole record: header (short or long) followed by its vectors.

    The LWN length fields of a long header are left 0; the file writer fills them in
    once it knows how many blocks the log write takes.
    """
    p = Packer(platform.order)
    size = L.RECORD_HEADER_LONG if spec.lwn else L.RECORD_HEADER_SHORT
    body = b"".join(encode_vector(v, platform) for v in spec.vectors)
    head = bytearray(size)
    p.put32(head, L.RECORD_LENGTH, size + len(body))
    vld = spec.vld
    if vld is None:
        vld = (L.VLD_VALID if spec.vectors else 0) | (L.VLD_LWN if spec.lwn else 0)
    head[L.RECORD_VLD] = vld
    head[L.RECORD_SCN_WRAP : L.RECORD_SCN_BASE + 4] = p.record_scn(spec.scn)
    p.put16(head, L.RECORD_SUB_SCN, spec.sub_scn)
    if platform.wide_vectors:
        p.put32(head, L.RECORD_CON_UID, spec.con_uid)
    if spec.lwn:
        p.put16(head, L.RECORD_LWN_NST, 1)
        head[LWN_BYTE_36] = LWN_BYTE_36_VALUE
        head[LWN_SCN : LWN_SCN + 8] = p.scn(spec.scn)
        head[LWN_END_SCN : LWN_END_SCN + 8] = p.scn(spec.scn)
        stamp = encode_redo_time(spec.timestamp) if spec.timestamp is not None else 0
        p.put32(head, L.RECORD_TIMESTAMP, stamp)
    for off, data in spec.extra.items():
        head[off : off + len(data)] = data
    return bytes(head) + body


def set_lwn_length(record: bytearray, blocks: int, platform: Platform) -> None:
    """Fill in the LWN length (in blocks) of an LWN-starting record header."""
    p = Packer(platform.order)
    p.put32(record, LWN_LENGTH_COPY, blocks)
    p.put32(record, L.RECORD_LWN_LENGTH, blocks)
