"""One call from a redo log to decoded records: the entry point capture's runtime uses."""

from __future__ import annotations

from collections.abc import Iterator

from drcapture.redo.blocks import RedoFile
from drcapture.redo.ops.dispatch import OpCounters, ParsedRecord, decode_record
from drcapture.redo.records import ReadState, RecordLayout, iter_raw_records, parse_record


def layout_of(redo: RedoFile) -> RecordLayout:
    """The record layout a log's headers call for (byte order, vector header size)."""
    return RecordLayout(endian=redo.endian, wide_vectors=redo.header.wide_vectors)


def iter_records(redo: RedoFile, state: ReadState | None = None,
                 counters: OpCounters | None = None) -> Iterator[ParsedRecord]:
    """Every record of ``redo`` from ``state`` on, parsed and decoded, in redo order."""
    layout = layout_of(redo)
    for raw in iter_raw_records(redo, state):
        yield decode_record(parse_record(raw, layout), counters)
