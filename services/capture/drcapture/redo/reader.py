"""One call from a redo log to decoded records: the entry point capture's runtime uses."""

from __future__ import annotations

from collections.abc import Iterator

from drcapture.redo.blocks import RedoFile
from drcapture.redo.ops.dispatch import OpCounters, ParsedRecord, VectorTally
from drcapture.redo.records import (
    RawRecord,
    Rba,
    ReadState,
    RecordLayout,
    parse_record,
    walk_records,
)


def layout_of(redo: RedoFile) -> RecordLayout:
    """The record layout a log's headers call for (byte order, vector header size)."""
    return RecordLayout(endian=redo.endian, wide_vectors=redo.header.wide_vectors)


def iter_records(redo: RedoFile, state: ReadState | None = None,
                 counters: OpCounters | None = None) -> Iterator[ParsedRecord]:
    """Every record of ``redo`` from ``state`` on, parsed and decoded, in redo order.

    Each record's layout is checked and its vectors counted in ``counters`` as it is
    read; the operations are decoded when :attr:`ParsedRecord.ops` is first used.
    """
    layout = layout_of(redo)
    sequence = redo.header.sequence
    tally = VectorTally(counters) if counters is not None else None
    raw, rba = RawRecord._make, Rba._make
    for block, offset, data in walk_records(redo, state):
        record = parse_record(raw((rba((sequence, block, offset)), data)), layout)
        if tally is not None:
            tally.add(record.slots)
        yield ParsedRecord(record)
