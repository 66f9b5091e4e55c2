"""Redo records: reassembly across blocks, the record header and its change vectors.

A record starts at the offset a block header names (or right after the previous record)
and may run on through any number of following blocks; each block contributes the bytes
after its 16-byte header. :func:`iter_raw_records` yields each record's bytes with its
RBA; :func:`parse_record` turns them into a :class:`RedoRecord` (pure).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from drcommon.errors import CorruptRedo, ParseError

from drcapture.redo import layout as L
from drcapture.redo.binary import Buffer, Endian, redo_time
from drcapture.redo.blocks import BlockStatus, RedoFile
from drcapture.redo.vectors import ChangeVector, parse_vectors


@dataclass(frozen=True, slots=True, order=True)
class Rba:
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


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record's bytes as reassembled from the blocks it spans."""

    rba: Rba
    data: bytes


@dataclass(frozen=True, slots=True)
class RecordHeader:
    """The fixed part of a redo record."""

    length: int
    vld: int
    scn: int
    sub_scn: int
    con_uid: int | None
    timestamp: datetime | None
    header_size: int


@dataclass(frozen=True, slots=True)
class RedoRecord:
    """A parsed record: header plus its change vectors (operations decoded later)."""

    rba: Rba
    header: RecordHeader
    vectors: tuple[ChangeVector, ...]
    data: bytes


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


def parse_record(raw: RawRecord, layout: RecordLayout) -> RedoRecord:
    """Header and change-vector layout of one record; errors name the RBA."""
    data = raw.data
    try:
        header = parse_record_header(data, layout, rba=raw.rba)
        vectors: tuple[ChangeVector, ...] = ()
        if header.vld & L.VLD_VALID:
            vectors = parse_vectors(data, header.header_size, header.length, layout.endian,
                                    wide=layout.wide_vectors)
    except ParseError as exc:
        if "rba" in exc.where:
            raise
        raise type(exc)(exc.message, rba=str(raw.rba), **dict(exc.where)) from exc
    return RedoRecord(rba=raw.rba, header=header, vectors=vectors, data=data)


def iter_raw_records(redo: RedoFile, state: ReadState | None = None) -> Iterator[RawRecord]:
    """Every record of a log in order, from ``state`` (default: the first record).

    Stops at the end of written redo; for an online log, stops at the first block that is
    not yet written and records that in ``state`` (a caller polls again later with the
    same state). A record cut off by the end of an archived log is corruption.
    """
    state = state if state is not None else ReadState()
    size = redo.block_size
    last = redo.last_block
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
            if (block_no, offset) >= (state.next_block, state.resume_offset):
                yield RawRecord(rba=rba, data=data)
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
