"""The file and block layer: file header, redo header, block headers and checksums.

Reading sits behind :class:`BlockSource` (anything that returns the bytes of block *n*):
a local file now; an online log being written, ASM or SSH later. :class:`RedoFile`
validates every block it hands out and raises :class:`CorruptRedo` naming the file, the
block, what was expected and what was found. For an online log a block whose sequence is
older than the file's is "not yet written" (:attr:`BlockStatus.NOT_YET_WRITTEN`), which
is where a reader stops and waits, not corruption.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Final, Protocol

from drcommon.errors import CorruptRedo, UnsupportedFormat

from drcapture.redo import layout as L
from drcapture.redo.binary import SCN_MAX, Buffer, Endian, endian_for, redo_time
from drcapture.redo.checksum import fold, span_folds_to_zero, stored_checksum

SPAN_BLOCKS: Final = 2048  # blocks read at once by read_span (1 MiB of 512-byte blocks)


class BlockSource(Protocol):
    """Something that yields redo blocks by number (block 0 is the file header)."""

    @property
    def name(self) -> str:
        """A human name for errors (a path, ``asm:+DATA/…``, ``ssh:host:/path``)."""
        ...

    def read(self, offset: int, size: int) -> bytes:
        """Up to ``size`` bytes from byte ``offset``; fewer only at the current end."""
        ...


@dataclass(frozen=True, slots=True)
class FileSource:
    """A redo log on a local file system, read with positional reads."""

    path: Path

    @property
    def name(self) -> str:
        """The file's path."""
        return str(self.path)

    def read(self, offset: int, size: int) -> bytes:
        """Bytes at ``offset`` (the file is opened per call: online logs grow and rotate)."""
        with self.path.open("rb") as handle:
            handle.seek(offset)
            return handle.read(size)


@dataclass(frozen=True, slots=True)
class BytesSource:
    """A redo log held in memory (tests, the writer's output, a downloaded copy)."""

    data: bytes
    label: str = "<memory>"

    @property
    def name(self) -> str:
        """The label given at construction."""
        return self.label

    def read(self, offset: int, size: int) -> bytes:
        """A slice of the held bytes."""
        return self.data[offset : offset + size]


@dataclass(frozen=True, slots=True)
class FileHeader:
    """Block 0: block size, block count and byte order."""

    block_size: int
    block_count: int
    endian: Endian


@dataclass(frozen=True, slots=True)
class RedoHeader:
    """Block 1 (kcrfh): which database, thread and sequence this log holds."""

    compat_vsn: int
    db_id: int
    db_name: str
    control_seq: int
    file_size_blocks: int
    file_number: int
    activation_id: int
    description: str
    nab: int
    resetlogs_id: int
    resetlogs_scn: int
    thread: int
    sequence: int
    first_scn: int
    first_time: datetime | None
    next_scn: int
    next_time: datetime | None
    prev_resetlogs_id: int
    prev_resetlogs_scn: int

    @property
    def version(self) -> str:
        """The compatibility version as ``19.0.0.0`` / ``23.6.0.0``."""
        v = self.compat_vsn
        if v >= 0x12000000:  # 18c+ encodes major.release-update.0.0 in whole bytes
            return f"{v >> 24}.{(v >> 16) & 0xFF}.{(v >> 8) & 0xFF}.{v & 0xFF}"
        return f"{v >> 24}.{(v >> 20) & 0xF}.{(v >> 16) & 0xF}.{(v >> 8) & 0xFF}"

    @property
    def wide_vectors(self) -> bool:
        """True from 12.1 on: change-vector headers are 32 bytes with a container id."""
        return self.compat_vsn >= L.COMPAT_12C

    @property
    def open_ended(self) -> bool:
        """True while the log is being written (next SCN not yet known)."""
        return self.next_scn == SCN_MAX


class BlockStatus(StrEnum):
    """What a block's header says about its contents."""

    OK = "ok"
    NOT_YET_WRITTEN = "not_yet_written"  # older sequence, or never written: wait, not corrupt
    OVERWRITTEN = "overwritten"  # newer sequence: the online log was reused


@dataclass(frozen=True, slots=True)
class BlockHeader:
    """The 16-byte header every redo block starts with."""

    number: int
    sequence: int
    first_record_offset: int
    checksum: int


def parse_file_header(block0: Buffer, *, file: str) -> FileHeader:
    """Read block 0; the magic decides the byte order of everything else."""
    if len(block0) < L.FILE_HEADER_MAGIC_OFFSET + 4:
        raise CorruptRedo(
            "file too short for a redo file header", file=file, block=0, found=len(block0)
        )
    magic = bytes(block0[L.FILE_HEADER_MAGIC_OFFSET : L.FILE_HEADER_MAGIC_OFFSET + 4])
    if magic == L.MAGIC_LITTLE:
        endian = endian_for(L.ByteOrder.LITTLE)
    elif magic == L.MAGIC_BIG:
        endian = endian_for(L.ByteOrder.BIG)
    else:
        raise CorruptRedo(
            "not an Oracle redo file: bad magic", file=file, block=0,
            expected=L.MAGIC_LITTLE.hex(), found=magic.hex(),
        )
    if block0[L.FILE_HEADER_TYPE_OFFSET] != 0:
        raise CorruptRedo("file header block type is not 0", file=file, block=0,
                          found=block0[L.FILE_HEADER_TYPE_OFFSET])
    block_size = endian.u32(block0, L.FILE_HEADER_BLOCK_SIZE_OFFSET)
    if block_size not in L.BLOCK_SIZES:
        raise UnsupportedFormat("redo block size not supported", file=file, block=0,
                                found=block_size, expected=L.BLOCK_SIZES)
    kind = block0[L.FILE_HEADER_KIND_OFFSET]
    if kind not in L.BLOCK_KINDS_ACCEPTED[block_size]:
        raise CorruptRedo("file header kind does not match the block size", file=file,
                          block=0, expected=L.BLOCK_KIND_BY_SIZE[block_size], found=kind)
    count = endian.u32(block0, L.FILE_HEADER_BLOCK_COUNT_OFFSET)
    return FileHeader(block_size=block_size, block_count=count, endian=endian)


def parse_block_header(block: Buffer, endian: Endian) -> BlockHeader:
    """The 16-byte header of a redo block (no validation)."""
    return BlockHeader(
        number=endian.u32(block, L.BLOCK_NUMBER_OFFSET),
        sequence=endian.u32(block, L.BLOCK_SEQUENCE_OFFSET),
        first_record_offset=endian.u16(block, L.BLOCK_RECORD_OFFSET_OFFSET)
        & L.BLOCK_RECORD_OFFSET_MASK,
        checksum=endian.u16(block, L.BLOCK_CHECKSUM_OFFSET),
    )


def parse_redo_header(block1: Buffer, endian: Endian) -> RedoHeader:
    """Read block 1 (kcrfh); the block header itself is checked by :func:`check_block`."""
    e = endian
    raw_name = bytes(block1[L.REDO_HEADER_DB_NAME : L.REDO_HEADER_DB_NAME + 8])
    desc_end = L.REDO_HEADER_DESCRIPTION + L.REDO_HEADER_DESCRIPTION_LEN
    raw_desc = bytes(block1[L.REDO_HEADER_DESCRIPTION : desc_end])
    return RedoHeader(
        compat_vsn=e.u32(block1, L.REDO_HEADER_COMPAT_VSN),
        db_id=e.u32(block1, L.REDO_HEADER_DB_ID),
        db_name=raw_name.split(b"\x00", 1)[0].decode("ascii", "replace").strip(),
        control_seq=e.u32(block1, L.REDO_HEADER_CONTROL_SEQ),
        file_size_blocks=e.u32(block1, L.REDO_HEADER_FILE_SIZE),
        file_number=e.u16(block1, L.REDO_HEADER_FILE_NUMBER),
        activation_id=e.u32(block1, L.REDO_HEADER_ACTIVATION),
        description=raw_desc.split(b"\x00", 1)[0].decode("ascii", "replace"),
        nab=e.u32(block1, L.REDO_HEADER_NAB),
        resetlogs_id=e.u32(block1, L.REDO_HEADER_RESETLOGS_ID),
        resetlogs_scn=e.scn(block1, L.REDO_HEADER_RESETLOGS_SCN),
        thread=e.u16(block1, L.REDO_HEADER_THREAD),
        sequence=e.u32(block1, L.BLOCK_SEQUENCE_OFFSET),
        first_scn=e.scn(block1, L.REDO_HEADER_FIRST_SCN),
        first_time=redo_time(e.u32(block1, L.REDO_HEADER_FIRST_TIME)),
        next_scn=e.scn(block1, L.REDO_HEADER_NEXT_SCN),
        next_time=redo_time(e.u32(block1, L.REDO_HEADER_NEXT_TIME)),
        prev_resetlogs_id=e.u32(block1, L.REDO_HEADER_PREV_RESETLOGS_ID),
        prev_resetlogs_scn=e.scn(block1, L.REDO_HEADER_PREV_RESETLOGS_SCN),
    )


@dataclass(frozen=True, slots=True)
class BlockCheck:
    """Expectations a block is checked against."""

    file: str
    block_size: int
    sequence: int | None  # None: take it from the block (block 1)
    online: bool = False  # an online log may hold not-yet-written or reused blocks
    verify_checksum: bool = True


def check_block(block: Buffer, number: int, endian: Endian, check: BlockCheck) -> BlockStatus:
    """Validate one redo block; raise :class:`CorruptRedo` for damage, return its status."""
    if len(block) != check.block_size:
        raise CorruptRedo("truncated block", file=check.file, block=number,
                          expected=check.block_size, found=len(block))
    if block[0] == 0 and block[1] == 0 and check.online:
        return BlockStatus.NOT_YET_WRITTEN
    kinds = L.BLOCK_KINDS_ACCEPTED[check.block_size]
    if block[L.BLOCK_TYPE_OFFSET] != L.REDO_BLOCK_TYPE or block[L.BLOCK_KIND_OFFSET] not in kinds:
        raise CorruptRedo("not a redo block", file=check.file, block=number,
                          expected=f"01{kinds[0]:02x}", found=bytes(block[:2]).hex())
    header = parse_block_header(block, endian)
    if check.sequence is not None and header.sequence != check.sequence:
        if check.online and header.sequence < check.sequence:
            return BlockStatus.NOT_YET_WRITTEN
        if check.online:
            return BlockStatus.OVERWRITTEN
        raise CorruptRedo("block belongs to another log sequence", file=check.file,
                          block=number, expected=check.sequence, found=header.sequence)
    if header.number != number:
        raise CorruptRedo("block number mismatch (torn or misplaced block)", file=check.file,
                          block=number, expected=number, found=header.number)
    if check.verify_checksum and stored_checksum(block) != 0:
        residue = fold(block)
        if residue != 0:
            raise CorruptRedo("block checksum mismatch", file=check.file, block=number,
                              expected=f"0x{header.checksum:04x}",
                              found=f"0x{header.checksum ^ residue:04x}")
    return BlockStatus.OK


class RedoFile:
    """An opened redo log: validated headers plus checked access to its blocks."""

    def __init__(self, source: BlockSource, *, online: bool = False,
                 verify_checksum: bool = True) -> None:
        self.source = source
        self.online = online
        self.verify_checksum = verify_checksum
        head = source.read(0, 512)
        self.file_header = parse_file_header(head, file=source.name)
        size = self.file_header.block_size
        block0_1 = source.read(0, 2 * size)
        if len(block0_1) < 2 * size:
            raise CorruptRedo("truncated file: no redo header block", file=source.name,
                              block=1, expected=2 * size, found=len(block0_1))
        block1 = block0_1[size:]
        check = BlockCheck(file=source.name, block_size=size, sequence=None,
                           verify_checksum=verify_checksum)
        check_block(block1, 1, self.file_header.endian, check)
        self.header = parse_redo_header(block1, self.file_header.endian)

    @property
    def name(self) -> str:
        """The source's name (for errors and reports)."""
        return self.source.name

    @property
    def endian(self) -> Endian:
        """The file's byte order."""
        return self.file_header.endian

    @property
    def block_size(self) -> int:
        """Redo block size in bytes."""
        return self.file_header.block_size

    @property
    def last_block(self) -> int:
        """The last block that may hold redo: below ``nab`` when set, else the file's end."""
        count = self.file_header.block_count
        nab = self.header.nab
        if not self.online and 2 <= nab <= count + 1:
            return nab - 1
        return count

    def read_span(self, first: int, count: int) -> tuple[bytes, int]:
        """Up to ``count`` blocks from ``first`` in one read: the bytes of the leading blocks
        that check out OK, and how many those are.

        The block that ends the span early (damaged, not yet written, missing) is not
        judged here: :meth:`read_block` on it raises or reports exactly what reading block
        by block does, once the records before it have been read.
        """
        size = self.block_size
        data = self.source.read(first * size, count * size)
        whole = len(data) // size
        if whole * size != len(data):
            data = data[: whole * size]
        good = self._leading_ok(data, first, whole)
        return (data if good == whole else data[: good * size]), good

    def _leading_ok(self, data: bytes, first: int, count: int) -> int:
        """How many blocks at the start of ``data`` are OK (all of them, checked at once,
        in the usual case; else block by block up to the first one that is not)."""
        if count and self._span_headers_ok(data, first, count) and (
            not self.verify_checksum or span_folds_to_zero(data, self.block_size)
        ):
            return count
        size = self.block_size
        check = BlockCheck(file=self.name, block_size=size, sequence=self.header.sequence,
                           online=self.online, verify_checksum=self.verify_checksum)
        for k in range(count):
            try:
                status = check_block(data[k * size : (k + 1) * size], first + k, self.endian,
                                     check)
            except CorruptRedo:
                return k
            if status is not BlockStatus.OK:
                return k
        return count

    def _span_headers_ok(self, data: bytes, first: int, count: int) -> bool:
        """Type, size code, block number and sequence of every block, compared column-wise
        (strided slices: byte ``k`` of every block header at once)."""
        size = self.block_size
        kinds = L.BLOCK_KINDS_ACCEPTED[size]
        if data[L.BLOCK_TYPE_OFFSET :: size] != bytes((L.REDO_BLOCK_TYPE,)) * count:
            return False
        if data[L.BLOCK_KIND_OFFSET :: size].translate(None, bytes(kinds)):
            return False  # a byte that is none of the accepted size codes
        numbers = array("I", range(first, first + count))
        sequences = array("I", [self.header.sequence]) * count
        if self.endian.big:
            numbers.byteswap()
            sequences.byteswap()
        want_numbers, want_sequences = numbers.tobytes(), sequences.tobytes()
        for k in range(4):
            if data[L.BLOCK_NUMBER_OFFSET + k :: size] != want_numbers[k::4]:
                return False
            if data[L.BLOCK_SEQUENCE_OFFSET + k :: size] != want_sequences[k::4]:
                return False
        return True

    def read_block(self, number: int) -> tuple[BlockStatus, bytes]:
        """One checked block; :class:`CorruptRedo` when damaged or missing."""
        size = self.block_size
        data = self.source.read(number * size, size)
        if len(data) < size and not self.online:
            raise CorruptRedo("truncated file", file=self.name, block=number,
                              expected=size, found=len(data))
        if len(data) < size:
            return BlockStatus.NOT_YET_WRITTEN, data
        check = BlockCheck(file=self.name, block_size=size, sequence=self.header.sequence,
                           online=self.online, verify_checksum=self.verify_checksum)
        return check_block(data, number, self.endian, check), data
