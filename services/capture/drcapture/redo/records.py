"""Redo records: reassembly across blocks, the record header and its change vectors.

A record starts at the offset a block header names (or right after the previous record)
and may run on through any number of following blocks; each block contributes the bytes
after its 16-byte header. :func:`iter_raw_records` yields each record's bytes with its
RBA; :func:`parse_record` turns them into a :class:`RedoRecord` (pure).

Blocks are read and checked a span at a time (:meth:`RedoFile.read_span`); the damaged
or not-yet-written block that ends a span is then read on its own, so errors and online
stops are exactly those of reading block by block. Records, RBAs and headers are
immutable named tuples: one of each is built per record, and a frozen dataclass costs
several times more to build.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Final, NamedTuple

from drcommon.errors import CorruptRedo, ParseError

from drcapture.redo import layout as L
from drcapture.redo.binary import SCN_MAX, Buffer, Endian, redo_time
from drcapture.redo.blocks import SPAN_BLOCKS, BlockStatus, RedoFile
from drcapture.redo.layout import ByteOrder
from drcapture.redo.vectors import ChangeVector, VectorSlot, scan_vectors, vector_at

# length u32, vld u8, (1), SCN wrap u16, SCN base u32, sub-SCN u16, (2), container uid u32
_HEADER: Final = {order: struct.Struct(order.value + "IBxHIH2xI") for order in ByteOrder}
_U32: Final = {order: struct.Struct(order.value + "I") for order in ByteOrder}
_U16: Final = {order: struct.Struct(order.value + "H") for order in ByteOrder}


class Rba(NamedTuple):
    """Redo byte address: log sequence, block, byte offset inside the block."""

    sequence: int
    block: int
    offset: int

    def __str__(self) -> str:
        return f"0x{self.sequence:06x}.{self.block:08x}.{self.offset:04x}"

    @classmethod
    def parse(cls, text: str) -> Rba:
        """Read the ``0x000042.00055ad9.009c`` form back."""
        try:
            seq, blk, off = text.lower().removeprefix("0x").split(".")
            return cls(int(seq, 16), int(blk, 16), int(off, 16))
        except ValueError as exc:
            raise ParseError("not an RBA", found=text) from exc


class RawRecord(NamedTuple):
    """One record's bytes as reassembled from the blocks it spans."""

    rba: Rba
    data: bytes


class RecordHeader(NamedTuple):
    """The fixed part of a redo record."""

    length: int
    vld: int
    scn: int
    sub_scn: int
    con_uid: int | None
    timestamp: datetime | None
    header_size: int


class RedoRecord:
    """A parsed record: header plus its change vectors (operations decoded later).

    The record's layout is checked when it is parsed (:attr:`slots` says where each
    vector is); the :class:`ChangeVector` objects are built on first use of
    :attr:`vectors`, since a capture passes most records over on their opcodes and
    object numbers alone. Treat as immutable: the attributes are plain slots because a
    property would cost a function call per access, on a path taken for every record.
    """

    __slots__ = ("_vectors", "data", "endian", "header", "rba", "slots", "wide")

    def __init__(self, rba: Rba, header: RecordHeader, slots: tuple[VectorSlot, ...],
                 data: bytes, endian: Endian, wide: bool) -> None:
        self.rba = rba  # where the record starts
        self.header = header
        self.slots = slots  # where each change vector is (layout checked, nothing parsed)
        self.data = data  # the record's bytes, header included
        self.endian = endian  # the log's byte order
        self.wide = wide  # 12.1+ vector headers
        self._vectors: tuple[ChangeVector, ...] | None = None

    @property
    def vectors(self) -> tuple[ChangeVector, ...]:
        """The change vectors, built on first use."""
        vectors = self._vectors
        if vectors is None:
            data, endian, wide = self.data, self.endian, self.wide
            vectors = self._vectors = tuple(
                vector_at(data, slot, i + 1, endian, wide=wide)
                for i, slot in enumerate(self.slots)
            )
        return vectors

    def _key(self) -> tuple[Rba, RecordHeader, bytes]:
        return (self.rba, self.header, self.data)  # the vectors follow from the data

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RedoRecord):
            return NotImplemented
        return self._key() == other._key() and self.wide == other.wide

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"RedoRecord(rba={self.rba!r}, header={self.header!r}, "
                f"vectors={self.vectors!r}, data={self.data!r})")


@dataclass(frozen=True, slots=True)
class RecordLayout:
    """How to read records: byte order and which change-vector header size applies."""

    endian: Endian
    wide_vectors: bool  # 12.1+: 32-byte change-vector header with container id


@dataclass(slots=True)
class ReadState:
    """Where reading stands: the block to look at next (records before ``resume_offset``
    in that block were already yielded), and why reading last stopped."""

    next_block: int = 2
    resume_offset: int = 0
    stopped: BlockStatus = BlockStatus.OK


def parse_record_header(
    data: Buffer, layout: RecordLayout, *, rba: Rba | None = None
) -> RecordHeader:
    """The record header (short or long form, chosen by the VLD byte)."""
    e = layout.endian
    length = e.u32(data, L.RECORD_LENGTH)
    vld = e.u8(data, L.RECORD_VLD)
    long_form = bool(vld & L.VLD_LWN)
    size = L.RECORD_HEADER_LONG if long_form else L.RECORD_HEADER_SHORT
    if length < size or length > len(data):
        raise CorruptRedo("record length does not fit", rba=rba, expected=f">= {size}",
                          found=length, available=len(data))
    return RecordHeader(
        length=length,
        vld=vld,
        scn=e.record_scn(data, L.RECORD_SCN_WRAP),
        sub_scn=e.u16(data, L.RECORD_SUB_SCN),
        con_uid=e.u32(data, L.RECORD_CON_UID) if layout.wide_vectors else None,
        timestamp=redo_time(e.u32(data, L.RECORD_TIMESTAMP)) if long_form else None,
        header_size=size,
    )


def _record_scn(wrap: int, base: int) -> int:
    """The 6-byte record SCN as Endian.record_scn reads it."""
    if wrap == 0xFFFF and base == 0xFFFFFFFF:
        return SCN_MAX
    if wrap & 0x8000:  # 12.2+ big SCN: the wrap holds bits 48..62
        return base | ((wrap & 0x7FFF) << 48)
    return base | (wrap << 32)


def read_record_header(data: bytes, layout: RecordLayout, rba: Rba) -> RecordHeader:
    """:func:`parse_record_header` of a whole record: the fixed fields in one unpack
    (damaged or very short records go through the field-by-field reads and their errors)."""
    order = layout.endian.order
    if len(data) < L.RECORD_HEADER_LONG:
        return parse_record_header(data, layout, rba=rba)
    length, vld, wrap, base, sub_scn, con_uid = _HEADER[order].unpack_from(data, 0)
    long_form = vld & L.VLD_LWN
    size = L.RECORD_HEADER_LONG if long_form else L.RECORD_HEADER_SHORT
    if length < size or length > len(data):
        return parse_record_header(data, layout, rba=rba)  # raises, as it always did
    timestamp = (redo_time(_U32[order].unpack_from(data, L.RECORD_TIMESTAMP)[0])
                 if long_form else None)
    return tuple.__new__(RecordHeader, (length, vld, _record_scn(wrap, base), sub_scn,
                                        con_uid if layout.wide_vectors else None, timestamp,
                                        size))


def parse_record(raw: RawRecord, layout: RecordLayout) -> RedoRecord:
    """Header and change-vector layout of one record; errors name the RBA."""
    return read_record(raw.rba, raw.data, layout)


def read_record(rba: Rba, data: bytes, layout: RecordLayout) -> RedoRecord:
    """:func:`parse_record` without the :class:`RawRecord`."""
    try:
        header = read_record_header(data, layout, rba)
        slots: tuple[VectorSlot, ...] = ()
        if header.vld & L.VLD_VALID:
            slots = scan_vectors(data, header.header_size, header.length, layout.endian,
                                 wide=layout.wide_vectors)
    except ParseError as exc:
        raise _at_rba(exc, rba) from exc
    return RedoRecord(rba, header, slots, data, layout.endian, layout.wide_vectors)


def _at_rba(exc: ParseError, rba: Rba) -> ParseError:
    """``exc`` naming the record's RBA (unchanged when it already does)."""
    if "rba" in exc.where:
        return exc
    return type(exc)(exc.message, rba=str(rba), **dict(exc.where))


class RecordParser:
    """:func:`read_record` for one log, its byte-order structs looked up once: this runs
    for every record read, so the usual record is parsed in one call."""

    __slots__ = ("_endian", "_header", "_layout", "_scan", "_time", "_u32", "_wide")

    def __init__(self, layout: RecordLayout) -> None:
        order = layout.endian.order
        self._layout = layout
        self._endian = layout.endian
        self._wide = layout.wide_vectors
        self._header = _HEADER[order].unpack_from
        self._u32 = _U32[order].unpack_from
        self._scan = scan_vectors
        self._time: tuple[int, datetime | None] = (0, None)  # redo_time(0) is None

    def parse(self, rba: Rba, data: bytes) -> RedoRecord:
        """The record at ``rba`` (its bytes: ``data``)."""
        if len(data) >= L.RECORD_HEADER_LONG:
            length, vld, wrap, base, sub_scn, con_uid = self._header(data, 0)
            size = L.RECORD_HEADER_LONG if vld & L.VLD_LWN else L.RECORD_HEADER_SHORT
            if size <= length <= len(data):
                wide = self._wide
                try:
                    timestamp = self._timestamp(data) if vld & L.VLD_LWN else None
                    slots = (self._scan(data, size, length, self._endian, wide=wide)
                             if vld & L.VLD_VALID else ())
                except ParseError as exc:
                    raise _at_rba(exc, rba) from exc
                header = tuple.__new__(RecordHeader, (
                    length, vld, _record_scn(wrap, base), sub_scn, con_uid if wide else None,
                    timestamp, size))
                return RedoRecord(rba, header, slots, data, self._endian, wide)
        return read_record(rba, data, self._layout)  # short or damaged: checked reads

    def _timestamp(self, data: bytes) -> datetime | None:
        """The LWN time; the last one is kept, as log writes come many to a second."""
        encoded = self._u32(data, L.RECORD_TIMESTAMP)[0]
        last = self._time
        if last[0] == encoded:
            return last[1]
        moment = redo_time(encoded)
        self._time = (encoded, moment)
        return moment


def iter_raw_records(redo: RedoFile, state: ReadState | None = None) -> Iterator[RawRecord]:
    """Every record of a log in order, from ``state`` (default: the first record).

    Stops at the end of written redo; for an online log, stops at the first block that is
    not yet written and records that in ``state`` (a caller polls again later with the
    same state). A record cut off by the end of an archived log is corruption.
    """
    sequence = redo.header.sequence
    new = tuple.__new__
    for block, offset, data in walk_records(redo, state):
        yield new(RawRecord, (new(Rba, (sequence, block, offset)), data))


class _Window:
    """Consecutive blocks of a log that checked out OK, held in memory: one read and one
    batched check per :data:`~drcapture.redo.blocks.SPAN_BLOCKS` blocks."""

    __slots__ = ("count", "data", "first", "last", "redo", "size")

    def __init__(self, redo: RedoFile, last: int) -> None:
        self.redo = redo
        self.last = last
        self.size = redo.block_size
        self.data = b""
        self.first = 0
        self.count = 0

    def at(self, block: int) -> int:
        """Offset of ``block`` in :attr:`data`, reading a new span from it when needed;
        -1 when ``block`` itself is not an OK block (read it alone to learn why)."""
        k = block - self.first
        if 0 <= k < self.count:
            return k * self.size
        self.data, self.count = self.redo.read_span(block, min(SPAN_BLOCKS, self.last - block + 1))
        self.first = block
        return 0 if self.count else -1

    def reach(self, block: int, through: int) -> int:
        """Make ``block`` … ``through`` present (reading on from the held span, keeping
        ``block`` onwards); the offset of ``block``, or -1 when a block in between is not OK."""
        if through < self.first + self.count:
            return (block - self.first) * self.size
        keep = self.data[(block - self.first) * self.size :]
        have = self.first + self.count
        more, good = self.redo.read_span(have, max(min(SPAN_BLOCKS, self.last - have + 1), 1))
        self.data, self.first = keep + more, block
        self.count = have - block + good
        return 0 if through < self.first + self.count else -1


def walk_records(redo: RedoFile, state: ReadState | None = None
                 ) -> Iterator[tuple[int, int, bytes]]:
    """:func:`iter_raw_records` as ``(block, offset, bytes)``: the walk itself, over spans
    of checked blocks. Where a span ends early (damage, the written end of an online log)
    the block-by-block walk takes over, so stops and errors are the same as ever."""
    state = state if state is not None else ReadState()
    size = redo.block_size
    last = redo.last_block
    order = redo.endian.order
    u16, u32 = _U16[order].unpack_from, _U32[order].unpack_from
    payload = size - L.BLOCK_HEADER_SIZE
    tail = size - L.RECORD_MIN_TAIL
    window = _Window(redo, last)
    # Records before the resume point were yielded by an earlier walk (compared with the
    # point as it was on entry: the state itself moves on with every record); once one
    # record is past it, every later one is too.
    resume = (state.next_block, state.resume_offset)
    resuming = state.resume_offset > 0
    while state.next_block <= last:
        block_no = state.next_block
        base = window.at(block_no)
        if base < 0:
            yield from _walk_by_block(redo, state)
            return
        buf = window.data
        offset = u16(buf, base + L.BLOCK_RECORD_OFFSET_OFFSET)[0] & L.BLOCK_RECORD_OFFSET_MASK
        if offset and not L.BLOCK_HEADER_SIZE <= offset <= size - 4:
            raise CorruptRedo("first-record offset outside the block", file=redo.name,
                              block=block_no, found=offset)
        while offset:
            length = u32(buf, base + offset)[0]
            if length == 0:
                break
            if offset + length <= size:  # the whole record in this block
                data = buf[base + offset : base + offset + length]
                end_block, end_offset = block_no, offset + length
            else:
                rest = length - (size - offset)
                spans = -(-rest // payload)  # blocks it runs on into
                end_block = block_no + spans
                end_offset = L.BLOCK_HEADER_SIZE + rest - (spans - 1) * payload
                at = window.reach(block_no, end_block) if end_block <= last else -1
                if at < 0:  # runs past the end, or into a block that is not OK
                    yield from _walk_by_block(redo, state)
                    return
                base, buf = at, window.data
                parts = [buf[base + offset : base + size]]
                for k in range(1, spans):
                    start = base + k * size + L.BLOCK_HEADER_SIZE
                    parts.append(buf[start : start + payload])
                start = base + spans * size
                parts.append(buf[start + L.BLOCK_HEADER_SIZE : start + end_offset])
                data = b"".join(parts)
            if not resuming or (block_no, offset) >= resume:
                resuming = False
                yield block_no, offset, data
            if end_block != block_no:
                block_no = end_block
                base = window.at(block_no)  # held: reach() read it
                buf = window.data
            state.next_block, state.resume_offset = block_no, end_offset
            offset = end_offset if end_offset <= tail else 0
        state.next_block, state.resume_offset = block_no + 1, 0
    state.stopped = BlockStatus.OK


def _walk_by_block(redo: RedoFile, state: ReadState) -> Iterator[tuple[int, int, bytes]]:
    """The walk one block read at a time (each block checked on its own): used from the
    first block a span could not vouch for, where it decides what happens."""
    size = redo.block_size
    last = redo.last_block
    resume = (state.next_block, state.resume_offset)  # fixed: the state moves as we go
    while state.next_block <= last:
        block_no = state.next_block
        status, block = redo.read_block(block_no)
        if status is not BlockStatus.OK:
            state.stopped = status
            return
        offset = redo.endian.u16(block, L.BLOCK_RECORD_OFFSET_OFFSET) & L.BLOCK_RECORD_OFFSET_MASK
        if offset and not L.BLOCK_HEADER_SIZE <= offset <= size - 4:
            raise CorruptRedo("first-record offset outside the block", file=redo.name,
                              block=block_no, found=offset)
        while offset:
            length = redo.endian.u32(block, offset)
            if length == 0:
                break
            rba = Rba(redo.header.sequence, block_no, offset)
            assembled = _assemble(redo, block, rba, length, last)
            if isinstance(assembled, BlockStatus):  # tail not readable yet (online log)
                state.next_block, state.resume_offset = block_no, offset
                state.stopped = assembled
                return
            data, end_block, end_offset = assembled
            if (block_no, offset) >= resume:
                yield block_no, offset, data
            if end_block != block_no:
                block_no = end_block
                _, block = redo.read_block(end_block)
            state.next_block, state.resume_offset = block_no, end_offset
            offset = end_offset if end_offset <= size - L.RECORD_MIN_TAIL else 0
        state.next_block, state.resume_offset = block_no + 1, 0
    state.stopped = BlockStatus.OK


def _assemble(redo: RedoFile, block: bytes, rba: Rba, length: int,
              last: int) -> tuple[bytes, int, int] | BlockStatus:
    """A record's bytes plus the block and offset right after it, or the status of the
    block that stopped it (online logs)."""
    size = redo.block_size
    first = bytes(block[rba.offset : min(size, rba.offset + length)])
    if len(first) == length:
        return first, rba.block, rba.offset + length
    chunks = [first]
    have = len(first)
    block_no = rba.block
    take = 0
    while have < length:
        block_no += 1
        if block_no > last:
            raise CorruptRedo("record runs past the end of the log", file=redo.name,
                              block=block_no, rba=str(rba), expected=length, found=have)
        status, nxt = redo.read_block(block_no)
        if status is not BlockStatus.OK:
            return status
        take = min(size - L.BLOCK_HEADER_SIZE, length - have)
        chunks.append(bytes(nxt[L.BLOCK_HEADER_SIZE : L.BLOCK_HEADER_SIZE + take]))
        have += take
    return b"".join(chunks), block_no, L.BLOCK_HEADER_SIZE + take
