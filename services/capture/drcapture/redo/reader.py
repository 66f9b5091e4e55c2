"""One call from a redo log to decoded records: the entry point capture's runtime uses."""

from __future__ import annotations

from collections.abc import Iterator

from drcapture.redo.blocks import RedoFile
from drcapture.redo.ops.dispatch import OpCounters, ParsedRecord, VectorTally
from drcapture.redo.records import Rba, ReadState, RecordLayout, RecordParser, walk_records


def layout_of(redo: RedoFile) -> RecordLayout:
    """The record layout a log's headers call for (byte order, vector header size)."""
    return RecordLayout(endian=redo.endian, wide_vectors=redo.header.wide_vectors)


def iter_records(redo: RedoFile, state: ReadState | None = None,
                 counters: OpCounters | None = None) -> Iterator[ParsedRecord]:
    """Every record of ``redo`` from ``state`` on, parsed and decoded, in redo order.

    Each record's layout is checked and its vectors counted in ``counters`` as it is
    read; the operations are decoded when :attr:`ParsedRecord.ops` is first used.
    """
    parse = RecordParser(layout_of(redo)).parse
    sequence = redo.header.sequence
    count = VectorTally(counters).add if counters is not None else None
    new = tuple.__new__
    for block, offset, data in walk_records(redo, state):
        record = parse(new(Rba, (sequence, block, offset)), data)
        if count is not None:
            count(record.slots)
        yield ParsedRecord(record)
