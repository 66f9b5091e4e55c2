"""Oracle-format redo log files from records: the writer's side of
:mod:`drcapture.redo.blocks` and :mod:`drcapture.redo.records`.

A file is block 0 (the file header), block 1 (the redo header, kcrfh) and then the
records, packed into blocks that each start with a 16-byte header and carry Oracle's
XOR checksum. Records are grouped in log writes (LWNs): the first record of an LWN has
the long header with a timestamp and starts in a fresh block; the others follow each
other, a record never starting in the last 24 bytes of a block. Everything here was
checked against the Oracle 23 Free archived logs in ``shared/fixtures/redo/free23-insert``
(see docs/REDO_FORMAT.md for the layout facts).

Entry points: :func:`build_log` (records grouped in LWNs plus header facts) and
:func:`wrap_records` / :func:`write_records` (raw record bytes, e.g. the oracdc
fixtures, kept byte for byte).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Final

from drcapture.redo import layout as L
from drcapture.redo.binary import SCN_MAX, encode_redo_time, endian_for
from drcapture.redo.checksum import compute_checksum, fold
from drcapture.redo.records import RecordLayout, parse_record_header
from drcapture.synth.writer_records import PLATFORMS, Packer, Platform, set_lwn_length

# Block 0 is laid out like a data block header (kcbh); fields the reader ignores, as
# found in block 0 of both free23 logs: rdba 0xFFC00000, flag 0x04 "checksum set", and
# the checksum at 16 (the fold over block 0 is zero there too).
BLOCK0_RDBA: Final = 4
BLOCK0_RDBA_VALUE: Final = 0xFFC00000
BLOCK0_FLAGS: Final = 15
BLOCK0_FLAG_CHECKSUM: Final = 0x04
BLOCK0_CHECKSUM: Final = 16
BLOCK0_FIELD_32: Final = 32  # u32 4 in both free23 logs; meaning not known
BLOCK0_FIELD_32_VALUE: Final = 4
# Block 1 (kcrfh) fields the reader does not need, named as OLR's header dump names them
# (src/reader/Reader.cpp printHeaderInfo); the values are those of both free23 logs.
REDO_HEADER_HWS: Final = 172  # u32 "hws": 2
REDO_HEADER_HWS_VALUE: Final = 2
REDO_HEADER_ZERO_BLOCKS: Final = 206  # u8 "Zero blocks": 8 (eot and dis at 204/205: 0)
REDO_HEADER_ZERO_BLOCKS_VALUE: Final = 8
REDO_HEADER_FORMAT_ID: Final = 207  # u8 "Format ID": 0x12
REDO_HEADER_FORMAT_ID_VALUE: Final = 0x12
REDO_HEADER_ENABLED_SCN: Final = 208  # SCN "Enabled scn": the resetlogs SCN ...
REDO_HEADER_ENABLED_TIME: Final = 216  # ... u32 time: the resetlogs id (itself a redo time)
REDO_HEADER_CLOSED_SCN: Final = 220  # SCN "Thread closed scn": the log's first SCN ...
REDO_HEADER_CLOSED_TIME: Final = 228  # ... u32 time: its first time
REDO_HEADER_MISC_FLAGS: Final = 236  # u32 "Miscellaneous flags": 0x10800011 (no bit OLR names)
REDO_HEADER_MISC_FLAGS_VALUE: Final = 0x10800011
REDO_HEADER_FIELD_252: Final = 252  # u32 2; meaning not known
REDO_HEADER_FIELD_252_VALUE: Final = 2
REDO_HEADER_REAL_NEXT_SCN: Final = 272  # SCN "Real next scn" (12.2+): all FF
# Every redo block header of the free23 logs has the top bit of the record-offset u16 set.
BLOCK_OFFSET_FLAG: Final = 0x8000
FILE_TYPE_LOG: Final = 2
DEFAULT_TIME: Final = datetime(2024, 1, 1)


@dataclass(frozen=True, slots=True)
class LogHeader:
    """The facts block 1 (kcrfh) records about a log."""

    thread: int = 1
    sequence: int = 1
    first_scn: int = 1
    next_scn: int = SCN_MAX  # SCN_MAX: an online log still being written
    first_time: datetime = DEFAULT_TIME
    next_time: datetime | None = None
    db_id: int = 1234567890
    db_name: str = "DRTEST"
    resetlogs_id: int = 1100000000
    resetlogs_scn: int = 1
    activation_id: int = 1200000000
    control_seq: int = 1
    file_number: int = 1
    configured_blocks: int = 0  # the log's configured size; 0 = exactly what is written
    prev_resetlogs_id: int = 0
    prev_resetlogs_scn: int = 0

    def description(self) -> str:
        """The text Oracle puts in the header: thread, sequence, SCN range."""
        return (
            f"T {self.thread:04d}, S {self.sequence:010d}, "
            f"SCN 0x{self.first_scn:016x}-0x{self.next_scn:016x}"
        )


@dataclass(frozen=True, slots=True)
class Lwn:
    """One log write: its records in order. ``set_length``: fill the LWN length into the
    first record's long header (off for raw records that must stay byte for byte)."""

    records: tuple[bytes, ...]
    set_length: bool = True


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a record went: its block and byte offset (its RBA without the sequence)."""

    block: int
    offset: int


@dataclass(frozen=True, slots=True)
class WrittenLog:
    """A built log file and where each record landed, in input order."""

    data: bytes
    placements: tuple[Placement, ...]
    block_size: int

    def write(self, path: Path) -> Path:
        """Store the file at ``path``."""
        path.write_bytes(self.data)
        return path


class _Blocks:
    """Block payloads being filled (block 2 on), plus each block's first-record offset."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.data: dict[int, bytearray] = {}
        self.first: dict[int, int] = {}

    def block(self, number: int) -> bytearray:
        return self.data.setdefault(number, bytearray(self.size))

    def put(self, at: Placement, record: bytes) -> Placement:
        """Write ``record`` from ``at``; returns the position right after it."""
        block, offset = at.block, at.offset
        self.first.setdefault(block, offset)
        rest = memoryview(record)
        while True:
            room = self.size - offset
            chunk = rest[:room]
            self.block(block)[offset : offset + len(chunk)] = chunk
            offset += len(chunk)
            rest = rest[len(chunk) :]
            if not rest:
                return Placement(block, offset)
            block, offset = block + 1, L.BLOCK_HEADER_SIZE


def _plan(start: Placement, sizes: Sequence[int], block_size: int) -> list[Placement]:
    """Start positions of consecutive records from ``start`` (an LWN's records)."""
    out: list[Placement] = []
    block, offset = start.block, start.offset
    for size in sizes:
        if block_size - offset < L.RECORD_MIN_TAIL:
            block, offset = block + 1, L.BLOCK_HEADER_SIZE
        out.append(Placement(block, offset))
        offset += size
        while offset > block_size:  # continues in the next block after its header
            block += 1
            offset = L.BLOCK_HEADER_SIZE + (offset - block_size)
    return out


def _end_block(at: Placement, size: int, block_size: int) -> int:
    offset = at.offset + size
    block = at.block
    while offset > block_size:
        block += 1
        offset = L.BLOCK_HEADER_SIZE + offset - block_size
    return block


def _finish_block(
    payload: bytearray, number: int, sequence: int, first: int, platform: Platform
) -> bytes:
    p = Packer(platform.order)
    payload[L.BLOCK_TYPE_OFFSET] = L.REDO_BLOCK_TYPE
    payload[L.BLOCK_KIND_OFFSET] = L.BLOCK_KIND_BY_SIZE[len(payload)]
    p.put32(payload, L.BLOCK_NUMBER_OFFSET, number)
    p.put32(payload, L.BLOCK_SEQUENCE_OFFSET, sequence)
    p.put16(payload, L.BLOCK_RECORD_OFFSET_OFFSET, BLOCK_OFFSET_FLAG | first)
    payload[L.BLOCK_CHECKSUM_OFFSET : L.BLOCK_CHECKSUM_OFFSET + 2] = compute_checksum(payload)
    return bytes(payload)


def _file_header(block_size: int, count: int, platform: Platform) -> bytes:
    p = Packer(platform.order)
    block = bytearray(block_size)
    block[L.FILE_HEADER_KIND_OFFSET] = L.BLOCK_KIND_BY_SIZE[block_size]
    p.put32(block, BLOCK0_RDBA, BLOCK0_RDBA_VALUE)
    block[BLOCK0_FLAGS] = BLOCK0_FLAG_CHECKSUM
    p.put32(block, BLOCK0_FIELD_32, BLOCK0_FIELD_32_VALUE)
    p.put32(block, L.FILE_HEADER_BLOCK_SIZE_OFFSET, block_size)
    p.put32(block, L.FILE_HEADER_BLOCK_COUNT_OFFSET, count)
    magic = L.MAGIC_BIG if platform.order is L.ByteOrder.BIG else L.MAGIC_LITTLE
    block[L.FILE_HEADER_MAGIC_OFFSET : L.FILE_HEADER_MAGIC_OFFSET + 4] = magic
    block[BLOCK0_CHECKSUM : BLOCK0_CHECKSUM + 2] = fold(block).to_bytes(2, "little")
    return bytes(block)


def _redo_header(
    header: LogHeader, block_size: int, nab: int, largest_lwn: int, platform: Platform
) -> bytes:
    p = Packer(platform.order)
    big = platform.big_scn_headers
    block = bytearray(block_size)
    p.put32(block, L.REDO_HEADER_COMPAT_VSN, platform.compat_vsn)
    p.put32(block, L.REDO_HEADER_DB_ID, header.db_id)
    name = header.db_name.encode("ascii")[:8]
    block[L.REDO_HEADER_DB_NAME : L.REDO_HEADER_DB_NAME + len(name)] = name
    p.put32(block, L.REDO_HEADER_CONTROL_SEQ, header.control_seq)
    p.put32(block, L.REDO_HEADER_FILE_SIZE, header.configured_blocks or nab)
    p.put16(block, L.REDO_HEADER_BLOCK_SIZE, block_size)
    p.put16(block, L.REDO_HEADER_FILE_NUMBER, header.file_number)
    p.put16(block, L.REDO_HEADER_FILE_TYPE, FILE_TYPE_LOG)
    p.put32(block, L.REDO_HEADER_ACTIVATION, header.activation_id)
    text = header.description().encode("ascii")[: L.REDO_HEADER_DESCRIPTION_LEN]
    block[L.REDO_HEADER_DESCRIPTION : L.REDO_HEADER_DESCRIPTION + len(text)] = text
    p.put32(block, L.REDO_HEADER_NAB, nab)
    p.put32(block, L.REDO_HEADER_RESETLOGS_ID, header.resetlogs_id)
    scns = (
        (L.REDO_HEADER_RESETLOGS_SCN, header.resetlogs_scn),
        (L.REDO_HEADER_FIRST_SCN, header.first_scn),
        (L.REDO_HEADER_NEXT_SCN, header.next_scn),
        (REDO_HEADER_ENABLED_SCN, header.resetlogs_scn),
        (REDO_HEADER_CLOSED_SCN, header.first_scn),
    )
    for off, scn in scns:
        block[off : off + 8] = b"\xff" * 8 if scn == SCN_MAX else p.scn(scn, big=big)
    # The previous resetlogs SCN is not in the flagged form (1 in both free23 logs).
    block[L.REDO_HEADER_PREV_RESETLOGS_SCN : L.REDO_HEADER_PREV_RESETLOGS_SCN + 8] = p.scn(
        header.prev_resetlogs_scn
    )
    if platform.big_scn_headers:
        block[REDO_HEADER_REAL_NEXT_SCN : REDO_HEADER_REAL_NEXT_SCN + 8] = b"\xff" * 8
    p.put32(block, REDO_HEADER_HWS, REDO_HEADER_HWS_VALUE)
    p.put16(block, L.REDO_HEADER_THREAD, header.thread)
    first_time = encode_redo_time(header.first_time)
    p.put32(block, L.REDO_HEADER_FIRST_TIME, first_time)
    if header.next_time is not None:
        p.put32(block, L.REDO_HEADER_NEXT_TIME, encode_redo_time(header.next_time))
    block[REDO_HEADER_ZERO_BLOCKS] = REDO_HEADER_ZERO_BLOCKS_VALUE
    block[REDO_HEADER_FORMAT_ID] = REDO_HEADER_FORMAT_ID_VALUE
    p.put32(block, REDO_HEADER_ENABLED_TIME, header.resetlogs_id)
    p.put32(block, REDO_HEADER_CLOSED_TIME, first_time)
    p.put32(block, REDO_HEADER_MISC_FLAGS, REDO_HEADER_MISC_FLAGS_VALUE)
    p.put32(block, REDO_HEADER_FIELD_252, REDO_HEADER_FIELD_252_VALUE)
    p.put32(block, L.REDO_HEADER_LARGEST_LWN, largest_lwn)
    p.put32(block, L.REDO_HEADER_PREV_RESETLOGS_ID, header.prev_resetlogs_id)
    return _finish_block(block, 1, header.sequence, 0, platform)


def build_log(
    lwns: Sequence[Lwn], header: LogHeader, platform: Platform, *, block_size: int = 512
) -> WrittenLog:
    """A complete log file holding ``lwns`` in order (archived: ``nab`` ends the file)."""
    if block_size not in L.BLOCK_SIZES:
        raise ValueError(f"block size {block_size} is not one Oracle uses {L.BLOCK_SIZES}")
    blocks = _Blocks(block_size)
    at = Placement(2, L.BLOCK_HEADER_SIZE)
    placements: list[Placement] = []
    largest = 0
    for lwn in lwns:
        if not lwn.records:
            continue
        if at.offset != L.BLOCK_HEADER_SIZE:  # a log write starts in a fresh block
            at = Placement(at.block + 1, L.BLOCK_HEADER_SIZE)
        plan = _plan(at, [len(r) for r in lwn.records], block_size)
        last = _end_block(plan[-1], len(lwn.records[-1]), block_size)
        span = last - plan[0].block + 1
        largest = max(largest, span)
        records = list(lwn.records)
        if lwn.set_length:
            first = bytearray(records[0])
            set_lwn_length(first, span, platform)
            records[0] = bytes(first)
        for start, record in zip(plan, records, strict=True):
            at = blocks.put(start, record)
        placements.extend(plan)
        if at.offset <= block_size - 4:
            # No record starts in the LWN's last block: Oracle points the block header
            # at the end of the written data instead (seen throughout the free23 logs).
            blocks.first.setdefault(at.block, at.offset)
    nab = max(blocks.data, default=1) + 1
    out = [_file_header(block_size, nab - 1, platform)]
    out.append(_redo_header(header, block_size, nab, largest, platform))
    for number in range(2, nab):
        out.append(
            _finish_block(
                blocks.block(number),
                number,
                header.sequence,
                blocks.first.get(number, 0),
                platform,
            )
        )
    return WrittenLog(data=b"".join(out), placements=tuple(placements), block_size=block_size)


def _lwn_groups(records: Sequence[bytes], platform: Platform) -> list[Lwn]:
    """Group raw records in log writes: a new LWN starts at every long header."""
    groups: list[list[bytes]] = []
    for record in records:
        if not groups or record[L.RECORD_VLD] & L.VLD_LWN:
            groups.append([])
        groups[-1].append(record)
    return [Lwn(tuple(g), set_length=False) for g in groups]


def place_records(
    records: Sequence[bytes],
    layout: Platform | str,
    *,
    block_size: int = 512,
    header: LogHeader | None = None,
) -> WrittenLog:
    """:func:`wrap_records`, also telling where each record landed."""
    platform = PLATFORMS[layout] if isinstance(layout, str) else layout
    reader = RecordLayout(endian_for(platform.order), platform.wide_vectors)
    heads = [parse_record_header(r, reader) for r in records]
    if header is None:
        scns = [h.scn for h in heads] or [1]
        stamps = [h.timestamp for h in heads if h.timestamp is not None]
        header = LogHeader(first_scn=min(scns), next_scn=max(scns) + 1)
        if stamps:
            header = replace(header, first_time=stamps[0], next_time=stamps[-1])
    return build_log(_lwn_groups(records, platform), header, platform, block_size=block_size)


def wrap_records(
    records: Sequence[bytes],
    layout: Platform | str,
    *,
    block_size: int = 512,
    header: LogHeader | None = None,
) -> bytes:
    """A valid archived log file around raw record bytes (record header plus vectors, as
    the oracdc fixtures hold them); the records are stored unchanged, in order, each long
    header (VLD 0x04) starting a new log write.

    ``layout`` is a :class:`Platform` or a fixture layout name (``getLinux19c``,
    ``getLinux11g``, ``getAix19c``, ``linux23``). Without ``header``, the SCN range and
    the times come from the records.
    """
    return place_records(records, layout, block_size=block_size, header=header).data


def write_records(
    path: Path,
    records: Sequence[bytes],
    layout: Platform | str,
    *,
    block_size: int = 512,
    header: LogHeader | None = None,
) -> Path:
    """:func:`wrap_records` stored at ``path``."""
    path.write_bytes(wrap_records(records, layout, block_size=block_size, header=header))
    return path
