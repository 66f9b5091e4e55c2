"""One big archived redo log for the capture benchmark, built once and cached.

Segments of :mod:`workload_gen` are turned into redo by the project's writer
(:func:`~drcapture.synth.workload_build.build_workload`) in a process pool, then
streamed into a single log file in segment order:

* The writer makes every workload step its own log write (LWN). A busy database groups
  the redo of many sessions in one write, so records are regrouped here: a log write
  ends after each commit record, and every record but the first of a write loses its
  68-byte LWN header for the 24-byte short one (same SCN, sub-SCN and vectors). This
  is the "re-stamping" the writer allows; it makes blocks fuller than one write per
  step would, so MB/s figures are not flattered by padding.
* Each segment's blocks are appended with their block numbers rewritten and their
  checksums recomputed; blocks 0 and 1 (file and redo header) are written last with
  the final block count, ``nab`` and SCN range.

The dictionary snapshot and the facts a reader must reproduce (committed transactions
and row changes per table) are stored next to the log.
"""

from __future__ import annotations

import json
import os
import struct
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from drcapture.dictionary.snapshot import dump_snapshot
from drcapture.redo import layout as L
from drcapture.redo.blocks import BytesSource, RedoFile
from drcapture.redo.checksum import compute_checksum, fold
from drcapture.redo.records import RecordLayout, iter_raw_records, parse_record
from drcapture.synth.workload_build import build_workload
from drcapture.synth.writer import BLOCK0_CHECKSUM, LogHeader, Lwn, build_log
from drcapture.synth.writer_records import LINUX_19C
from workload_gen import START_SCN, START_TIME, TABLE_COUNT, segment_workload, table_name

GENERATOR_VERSION = 1  # bump when the stream changes: cached logs are rebuilt
BLOCK_SIZE = 512
SEGMENT_TRANSACTIONS = 2000
SEQUENCE = 1
LOG_NAME = "thread_1_seq_000001.arc"
DICTIONARY_NAME = "dictionary.json"
FACTS_NAME = "facts.json"
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_LWN_EXTRA = L.RECORD_HEADER_LONG - L.RECORD_HEADER_SHORT


@dataclass(slots=True)
class LogFacts:
    """What the built log holds; a correct reader reproduces the per-table counts."""

    size_bytes: int = 0
    blocks: int = 0
    segments: int = 0
    records: int = 0
    record_bytes: int = 0
    lwns: int = 0
    transactions: int = 0  # committed, with at least one change
    changes: int = 0
    first_scn: int = 0
    next_scn: int = 0
    transactions_by_table: dict[str, int] = field(default_factory=dict)
    changes_by_table: dict[str, int] = field(default_factory=dict)
    opcodes: dict[str, int] = field(default_factory=dict)
    seed: int = 0
    generator_version: int = GENERATOR_VERSION

    def expected(self, tables: list[str]) -> tuple[int, int]:
        """(transactions, changes) a reader capturing ``tables`` must report."""
        return (
            sum(self.transactions_by_table.get(t, 0) for t in tables),
            sum(self.changes_by_table.get(t, 0) for t in tables),
        )


@dataclass(slots=True)
class _Segment:
    index: int
    blocks: bytes  # blocks 2.. of the segment's own log, numbered from 2
    records: int
    record_bytes: int
    lwns: int
    last_scn: int
    last_time: datetime
    transactions: Counter[str]
    changes: Counter[str]
    opcodes: Counter[str]
    dictionary: dict[str, Any] | None


def _short_header(record: bytes) -> bytes:
    """The same record with the 24-byte header: LWN fields dropped, length adjusted."""
    head = bytearray(record[: L.RECORD_HEADER_SHORT])
    _U32.pack_into(head, L.RECORD_LENGTH, len(record) - _LWN_EXTRA)
    head[L.RECORD_VLD] &= ~L.VLD_LWN & 0xFF
    return bytes(head) + record[L.RECORD_HEADER_LONG :]


def _regroup(data: bytes, opcodes: Counter[str]) -> tuple[list[Lwn], int, int]:
    """The log's records in log writes that end after each commit record."""
    redo = RedoFile(BytesSource(data))
    layout = RecordLayout(redo.endian, redo.header.wide_vectors)
    lwns: list[Lwn] = []
    group: list[bytes] = []
    last_scn = 0
    count = 0
    for raw in iter_raw_records(redo):
        record = parse_record(raw, layout)
        count += 1
        last_scn = max(last_scn, record.header.scn)
        long_form = bool(record.header.vld & L.VLD_LWN)
        if not group and not long_form:
            raise AssertionError(f"a log write would start with a short header at {raw.rba}")
        group.append(raw.data if not group or not long_form else _short_header(raw.data))
        codes = [v.header.opcode for v in record.vectors]
        opcodes.update(f"{a}.{b}" for a, b in codes)
        if (5, 4) in codes:
            lwns.append(Lwn(tuple(group)))
            group = []
    if group:
        lwns.append(Lwn(tuple(group)))
    return lwns, count, last_scn


def build_segment(index: int, seed: int) -> _Segment:
    """One segment built, regrouped and packed (runs in a worker process)."""
    workload = segment_workload(index, SEGMENT_TRANSACTIONS, seed)
    built = build_workload(workload)
    (log,) = built.logs
    opcodes: Counter[str] = Counter()
    lwns, count, last_scn = _regroup(log.data, opcodes)
    packed = build_log(lwns, log.header, LINUX_19C, block_size=BLOCK_SIZE)
    transactions: Counter[str] = Counter()
    changes: Counter[str] = Counter()
    for tx in built.expected:
        table = tx.changes[0].table
        transactions[table] += 1
        changes[table] += len(tx.changes)
    return _Segment(
        index=index,
        blocks=packed.data[2 * BLOCK_SIZE :],
        records=count,
        record_bytes=sum(len(r) for lwn in lwns for r in lwn.records),
        lwns=len(lwns),
        last_scn=last_scn,
        last_time=workload.start_time + timedelta(seconds=len(workload.steps)),
        transactions=transactions,
        changes=changes,
        opcodes=opcodes,
        dictionary=dump_snapshot(built.dictionary) if index == 0 else None,
    )


def _renumber(blocks: bytes, first: int) -> bytearray:
    """Blocks numbered from 2 renumbered from ``first``, each with a fresh checksum."""
    out = bytearray(blocks)
    for k in range(len(out) // BLOCK_SIZE):
        at = k * BLOCK_SIZE
        _U32.pack_into(out, at + L.BLOCK_NUMBER_OFFSET, first + k)
        block = out[at : at + BLOCK_SIZE]
        out[at + L.BLOCK_CHECKSUM_OFFSET : at + L.BLOCK_CHECKSUM_OFFSET + 2] = compute_checksum(
            block
        )
    return out


def _headers(facts: LogFacts, last_time: datetime, largest_lwn: int) -> bytes:
    """Blocks 0 and 1 for the whole file (built by the writer, counts patched in)."""
    header = LogHeader(
        thread=1,
        sequence=SEQUENCE,
        first_scn=facts.first_scn,
        next_scn=facts.next_scn,
        first_time=START_TIME,
        next_time=last_time,
        db_name="BENCH",
        configured_blocks=facts.blocks + 1,
    )
    head = bytearray(build_log([], header, LINUX_19C, block_size=BLOCK_SIZE).data)
    nab = facts.blocks + 2
    _U32.pack_into(head, L.FILE_HEADER_BLOCK_COUNT_OFFSET, nab - 1)
    head[BLOCK0_CHECKSUM : BLOCK0_CHECKSUM + 2] = b"\x00\x00"
    head[BLOCK0_CHECKSUM : BLOCK0_CHECKSUM + 2] = fold(head[:BLOCK_SIZE]).to_bytes(2, "little")
    block1 = BLOCK_SIZE
    _U32.pack_into(head, block1 + L.REDO_HEADER_NAB, nab)
    _U32.pack_into(head, block1 + L.REDO_HEADER_LARGEST_LWN, largest_lwn)
    at = block1 + L.BLOCK_CHECKSUM_OFFSET
    head[at : at + 2] = compute_checksum(head[block1 : 2 * BLOCK_SIZE])
    return bytes(head)


def _add(facts: LogFacts, seg: _Segment) -> None:
    facts.segments += 1
    facts.records += seg.records
    facts.record_bytes += seg.record_bytes
    facts.lwns += seg.lwns
    facts.next_scn = seg.last_scn + 1
    for table, n in seg.transactions.items():
        facts.transactions_by_table[table] = facts.transactions_by_table.get(table, 0) + n
        facts.transactions += n
    for table, n in seg.changes.items():
        facts.changes_by_table[table] = facts.changes_by_table.get(table, 0) + n
        facts.changes += n
    for code, n in seg.opcodes.items():
        facts.opcodes[code] = facts.opcodes.get(code, 0) + n


def build_big_log(directory: Path, size_bytes: int, seed: int, workers: int) -> LogFacts:
    """Write the log (at least ``size_bytes``), the dictionary and the facts."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOG_NAME
    partial = path.with_suffix(".partial")
    facts = LogFacts(seed=seed, first_scn=START_SCN)
    largest = 0
    last_time = START_TIME
    with partial.open("wb") as out, ProcessPoolExecutor(max_workers=workers) as pool:
        out.write(bytes(2 * BLOCK_SIZE))  # headers go here once the counts are known
        index = 0
        while facts.blocks * BLOCK_SIZE < size_bytes:
            batch = list(pool.map(build_segment, range(index, index + 2 * workers),
                                  [seed] * (2 * workers)))
            index += len(batch)
            for seg in batch:
                if seg.dictionary is not None:
                    (directory / DICTIONARY_NAME).write_text(json.dumps(seg.dictionary))
                out.write(_renumber(seg.blocks, 2 + facts.blocks))
                facts.blocks += len(seg.blocks) // BLOCK_SIZE
                largest = max(largest, _largest_lwn(seg.blocks))
                last_time = seg.last_time
                _add(facts, seg)
            print(f"  built {facts.blocks * BLOCK_SIZE / 2**20:,.0f} MiB "
                  f"({facts.segments} segments)", flush=True)
        out.seek(0)
        out.write(_headers(facts, last_time, largest))
    facts.size_bytes = (facts.blocks + 2) * BLOCK_SIZE
    os.replace(partial, path)
    (directory / FACTS_NAME).write_text(json.dumps(asdict(facts), indent=1))
    return facts


def _largest_lwn(blocks: bytes) -> int:
    """The longest log write in blocks (from each LWN-starting record's length field)."""
    largest = 0
    for k in range(len(blocks) // BLOCK_SIZE):
        at = k * BLOCK_SIZE
        first = _U16.unpack_from(blocks, at + L.BLOCK_RECORD_OFFSET_OFFSET)[0] & 0x7FFF
        if first == L.BLOCK_HEADER_SIZE and blocks[at + first + L.RECORD_VLD] & L.VLD_LWN:
            largest = max(largest, _U32.unpack_from(blocks, at + first + L.RECORD_LWN_LENGTH)[0])
    return largest


def load_facts(directory: Path) -> LogFacts | None:
    """The facts of a cached log, or None when there is none (or an older generator's)."""
    try:
        data = json.loads((directory / FACTS_NAME).read_text())
    except (OSError, ValueError):
        return None
    if data.get("generator_version") != GENERATOR_VERSION or not (directory / LOG_NAME).exists():
        return None
    return LogFacts(**data)


def all_tables() -> list[str]:
    """Every benchmark table name."""
    return [table_name(i) for i in range(TABLE_COUNT)]
