"""The Python reader as the oracle of the compiled core: one log walked by both, and
everything observable compared (records, slots, how the walk ended, the resume state)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

from drcapture.native import NativeRedoFile
from drcapture.redo import layout as L
from drcapture.redo.blocks import BytesSource, RedoFile
from drcapture.redo.layout import ByteOrder
from drcapture.redo.reader import layout_of
from drcapture.redo.records import Rba, ReadState, RecordParser, RedoRecord, walk_records
from drcapture.synth.writer import LogHeader, Lwn, build_log, wrap_records
from drcapture.synth.writer_records import PLATFORMS, Platform
from drcommon.errors import DRError

from tests.unit.capture.test_redo_helpers import ORACDC

Error = tuple[str, str, dict[str, Any]]


def describe(exc: DRError) -> Error:
    """What an error says: class, message and location facts (values with their types)."""
    return (type(exc).__name__, exc.message, dict(exc.where))


@dataclass(frozen=True)
class Walk:
    """Everything a walk showed: the header, the records, how it ended and where."""

    header: Any
    last_block: int | None
    records: list[RedoRecord]
    slots: list[Any]
    error: Error | None
    state: ReadState
    steps: list[tuple[int, int, str]]  # the state after each record was handed out


def _state(state: ReadState) -> tuple[int, int, str]:
    return (state.next_block, state.resume_offset, state.stopped.value)


def python_walk(data: bytes, *, online: bool = False, state: ReadState | None = None,
                verify: bool = True, limit: int | None = None) -> Walk:
    """The Python reader's walk (``walk_records`` + ``RecordParser``, as iter_records)."""
    state = replace(state) if state is not None else ReadState()
    try:
        redo = RedoFile(BytesSource(data, "t.arc"), online=online, verify_checksum=verify)
    except DRError as exc:
        return Walk(None, None, [], [], describe(exc), state, [])
    parse = RecordParser(layout_of(redo)).parse
    records: list[RedoRecord] = []
    steps: list[tuple[int, int, str]] = []
    error = None
    try:
        for block, offset, raw in walk_records(redo, state):
            records.append(parse(Rba(redo.header.sequence, block, offset), raw))
            steps.append(_state(state))
            if limit is not None and len(records) >= limit:
                break
    except DRError as exc:
        error = describe(exc)
    return Walk(redo.header, redo.last_block, records, [r.slots for r in records], error,
                state, steps)


def native_walk(data: bytes, *, online: bool = False, state: ReadState | None = None,
                verify: bool = True, limit: int | None = None) -> Walk:
    """The same walk through the compiled core."""
    state = replace(state) if state is not None else ReadState()
    try:
        redo = NativeRedoFile(data, name="t.arc", online=online, verify_checksum=verify)
    except DRError as exc:
        return Walk(None, None, [], [], describe(exc), state, [])
    records: list[RedoRecord] = []
    steps: list[tuple[int, int, str]] = []
    error = None
    try:
        for record in redo.records(state):
            records.append(record)
            steps.append(_state(state))
            if limit is not None and len(records) >= limit:
                break
    except DRError as exc:
        error = describe(exc)
    return Walk(redo.header, redo.last_block, records, [r.slots for r in records], error,
                state, steps)


def assert_same_walk(data: bytes, **options: Any) -> Walk:
    """Both walks, compared field by field; the Python one is returned."""
    want = python_walk(data, **options)
    got = native_walk(data, **options)
    assert got.error == want.error
    assert got.header == want.header
    assert got.last_block == want.last_block
    assert len(got.records) == len(want.records)
    assert got.records == want.records
    assert got.slots == want.slots
    assert got.steps == want.steps
    assert got.state == want.state
    return want


# A big-endian 11g layout: no fixture has one, but the writer can write it.
AIX_11G = Platform(ByteOrder.BIG, False, 0x0B200400)


def oracdc_groups() -> dict[str, list[bytes]]:
    """The oracdc records by their layout name."""
    groups: dict[str, list[bytes]] = defaultdict(list)
    for entry in json.loads((ORACDC / "index.json").read_text()):
        groups[entry["layout"]].append((ORACDC / entry["file"]).read_bytes())
    return dict(groups)


def opposite(layout: str) -> Platform:
    """The platform of the other byte order with the same vector header size."""
    platform = PLATFORMS[layout]
    for other in (*PLATFORMS.values(), AIX_11G):
        if other.order is not platform.order and other.wide_vectors == platform.wide_vectors:
            return other
    raise AssertionError(layout)


def oracdc_logs(block_size: int) -> list[tuple[str, bytes]]:
    """Every oracdc record wrapped in logs: in its own layout, and (where the writer can
    place them) in the other byte order, whose reader then misreads every length."""
    out: list[tuple[str, bytes]] = []
    for layout, records in sorted(oracdc_groups().items()):
        out.append((layout, wrap_records(records, layout, block_size=block_size)))
        # wrap_records reads the record headers to fill the log header, which the other
        # byte order misreads; build_log takes the records as they are.
        other = opposite(layout)
        lwns = [Lwn(tuple(group), set_length=False) for group in _lwn_groups(records)]
        swapped = build_log(lwns, LogHeader(), other, block_size=block_size).data
        out.append((f"{layout}-swapped", swapped))
    return out


def _lwn_groups(records: list[bytes]) -> list[list[bytes]]:
    groups: list[list[bytes]] = []
    for record in records:
        if not groups or record[L.RECORD_VLD] & L.VLD_LWN:
            groups.append([])
        groups[-1].append(record)
    return groups
