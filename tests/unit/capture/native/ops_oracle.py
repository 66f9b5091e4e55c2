"""The Python operation parsers and triage as the oracle of the compiled core's: one
record decoded by both, and everything observable compared (every vector's operation or
the error with its facts, the counters, the IOT leaf parsers on every vector, and the
triage under several skip maps)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import astuple
from typing import Any

from drcapture import native_ops
from drcapture.native import NativeRedoFile
from drcapture.redo import layout as L
from drcapture.redo.binary import BIG, LITTLE
from drcapture.redo.blocks import BytesSource, RedoFile
from drcapture.redo.ops import dispatch, iot
from drcapture.redo.ops.dispatch import OpCounters, VectorTally
from drcapture.redo.ops.kdli import LobBlockChange, LobPage
from drcapture.redo.ops.lob import LobOp
from drcapture.redo.ops.undo import PartialRollback, UndoRecord
from drcapture.redo.reader import layout_of
from drcapture.redo.records import (
    RawRecord,
    Rba,
    RecordLayout,
    RecordParser,
    RedoRecord,
    parse_record,
    walk_records,
)
from drcapture.redo.txn import triage
from drcommon.errors import DRError

from tests.unit.capture.native.oracle import describe

LAYOUTS = [RecordLayout(endian, wide) for endian in (LITTLE, BIG) for wide in (False, True)]


def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    """``("ok", value)`` or ``("error", class, message, facts)``."""
    try:
        return ("ok", call())
    except DRError as exc:
        return ("error", *describe(exc))


def log_records(data: bytes) -> list[RedoRecord]:
    """The records of a log as the Python reader walks them (up to an error, if any)."""
    out: list[RedoRecord] = []
    try:
        redo = RedoFile(BytesSource(data, "t.arc"))
        parse = RecordParser(layout_of(redo)).parse
        for block, offset, raw in walk_records(redo):
            out.append(parse(Rba(redo.header.sequence, block, offset), raw))
    except DRError:
        pass
    return out


def reparsed(record: RedoRecord, data: bytes, layout: RecordLayout | None = None
             ) -> RedoRecord | None:
    """``data`` read as a record at ``record``'s RBA (None when its layout is damaged)."""
    if layout is None:
        layout = RecordLayout(record.endian, record.wide)
    try:
        return parse_record(RawRecord(record.rba, data), layout)
    except DRError:
        return None


def in_every_layout(rba: Rba, data: bytes) -> Iterator[RedoRecord]:
    """``data`` read as a record in each byte order and vector header size it parses in."""
    for layout in LAYOUTS:
        try:
            yield parse_record(RawRecord(rba, data), layout)
        except DRError:
            continue


def assert_same_ops(record: RedoRecord) -> None:
    """The record's operations (or error) and the counters, Python and core alike."""
    counters = OpCounters()
    native = native_ops.NativeOpCounters()
    want = outcome(lambda: tuple(pv.op for pv in dispatch.decode_record(record, counters).ops))
    got = outcome(lambda: native_ops.decode_ops(record, native))
    assert got == want, record.rba
    assert native.as_counters() == counters
    tally = OpCounters()
    VectorTally(tally).add(record.slots)
    native = native_ops.NativeOpCounters()
    native.tally(record)
    assert native.as_counters() == tally


def assert_same_leaves(record: RedoRecord) -> None:
    """Both IOT leaf parsers on every vector: the same value or the same error."""
    for cv in record.vectors:
        assert outcome(lambda: native_ops.parse_leaf_op(cv)) == outcome(  # noqa: B023
            lambda: iot.parse_leaf_op(cv))  # noqa: B023
        assert outcome(lambda: native_ops.parse_leaf_undo(cv)) == outcome(  # noqa: B023
            lambda: iot.parse_leaf_undo(cv))  # noqa: B023


SkipMap = tuple[Mapping[int, str | None], str | None]


def objects_of(records: Iterable[RedoRecord]) -> list[int]:
    """Every object the records' undo, rollbacks and LOB vectors name (sorted)."""
    found: set[int] = set()
    for record in records:
        try:
            ops = [pv.op for pv in dispatch.decode_record(record).ops]
        except DRError:
            continue
        for op in ops:
            if isinstance(op, UndoRecord | PartialRollback):
                found.add(op.ktub.obj)
            elif isinstance(op, LobOp | LobPage | LobBlockChange) and op.obj is not None:
                found.add(op.obj)
    return sorted(found)


def skip_maps(objects: list[int], seed: int = 0) -> list[SkipMap]:
    """Nothing captured, everything captured, some objects (two ways), an odd empty reason."""
    rnd = random.Random(seed)
    some = {obj: None if rnd.random() < 0.5 else "skipped_filtered" for obj in objects}
    every_other = {obj: None for obj in objects[::2]}
    odd = {obj: "" for obj in objects[1::3]}
    return [({}, "skipped_unknown_object"), ({}, None), (some, "skipped_unknown_object"),
            (every_other, "skipped_filtered"), (odd, "skipped_filtered")]


def _python_triage(record: RedoRecord, skip: SkipMap) -> Any:
    reasons, default = skip
    quick = triage.quick_effects(record, lambda obj: reasons.get(obj, default))
    if quick is None:
        return None
    return (tuple(quick.dropped), tuple(quick.ends), tuple(quick.rollbacks))


def _native_triage(record: RedoRecord, skip: SkipMap) -> Any:
    quick = native_ops.quick_effects(record, skip[0], skip[1])
    if quick is None:
        return None
    return (tuple(quick.dropped), tuple(quick.ends), tuple(quick.rollbacks))


def assert_same_triage(record: RedoRecord, maps: list[SkipMap]) -> None:
    """``quick_effects`` under each skip map: the same effects, or both say decode."""
    for skip in maps:
        assert _native_triage(record, skip) == _python_triage(record, skip), (record.rba, skip)


def assert_same_everything(records: list[RedoRecord], *, leaves: bool = True) -> None:
    """Operations, counters, leaf parsers and triage for every record."""
    maps = skip_maps(objects_of(records))
    for record in records:
        assert_same_ops(record)
        if leaves:
            assert_same_leaves(record)
        assert_same_triage(record, maps)


def _decoded(layer: int, code: int) -> bool:
    return (layer, code) in dispatch.PARSERS or layer == 10


def assert_same_triage_walk(data: bytes, skip: SkipMap) -> None:
    """A whole log walked, tallied, triaged and the rest decoded in the core
    (``native_ops.triage_log``) counts what the Python reader's path counts."""
    reasons, default = skip
    counters = OpCounters()
    tally = VectorTally(counters)
    totals = [0] * 8
    for record in log_records(data):
        tally.add(record.slots)
        quick = triage.quick_effects(record, lambda obj: reasons.get(obj, default))
        found = [1, len(record.data), 0, 0, 0, 0, 0, 0]
        if quick is not None:
            found[2:7] = [1, 0, len(quick.dropped), len(quick.ends), len(quick.rollbacks)]
        else:
            found[3] = 1
            found[7] = len(dispatch.decode_record(record).ops)
        totals = [a + b for a, b in zip(totals, found, strict=True)]
    native = native_ops.NativeOpCounters()
    got = native_ops.triage_log(NativeRedoFile(data), reasons, default, decode=True,
                                counters=native)
    assert astuple(got) == tuple(totals)
    assert native.as_counters() == counters


def field_spans(record: RedoRecord, *, decoded_only: bool = False
                ) -> list[tuple[int, int, int, int]]:
    """(vector index, length's offset in the vector's length array, field offset,
    length) of every field of every vector (of those with a parser, when asked)."""
    head = L.CV_HEADER_12C if record.wide else L.CV_HEADER_11G
    out: list[tuple[int, int, int, int]] = []
    for k, slot in enumerate(record.slots):
        if decoded_only and not _decoded(slot.layer, slot.code):
            continue
        at = slot.fields_at
        for i, length in enumerate(slot.lengths):
            out.append((k, slot.offset + head + 2 + 2 * i, at, length))
            at += L.align4(length)
    return out


def damaged_copy(record: RedoRecord, rnd: random.Random) -> bytes:
    """``record``'s bytes with a few fields changed inside their vectors: bits flipped,
    bytes and small integers set, lengths shortened or lengthened within their padding
    (the record's layout stays valid) or beyond it (the vectors after it shift)."""
    data = bytearray(record.data)
    spans = field_spans(record, decoded_only=rnd.random() < 0.9) or field_spans(record)
    if not spans:
        return bytes(data)
    order = "big" if record.endian.big else "little"
    for _ in range(rnd.randint(1, 4)):
        _, length_at, at, length = rnd.choice(spans)
        kind = rnd.randrange(6)
        # mostly in the first 48 bytes of a field: headers, flags, counts, row headers
        near = rnd.randrange(min(length, 48)) if length and rnd.random() < 0.7 else None
        pick = near if near is not None else (rnd.randrange(length) if length else 0)
        if kind == 0 and length:
            data[at + pick] ^= 1 << rnd.randrange(8)
        elif kind == 1 and length:
            data[at + pick] = rnd.choice([0, 1, 2, 3, 4, 5, 6, 8, 0x0C, 0x20, 0x2C, 0x7F, 0x80,
                                          0xC8, 0xFE, 0xFF, rnd.randrange(256)])
        elif kind == 2 and length >= 2:
            pos = at + rnd.randrange(length - 1)
            value = rnd.choice([0, 1, 2, 0xFF, 0x100, 0xFFFF, rnd.randrange(2**16)])
            data[pos : pos + 2] = value.to_bytes(2, order)
        elif kind == 3 and length >= 4:
            pos = at + rnd.randrange(length - 3)
            data[pos : pos + 4] = rnd.randrange(2**32).to_bytes(4, order)
        elif kind == 4:  # a new length inside the same padding: nothing moves
            top = L.align4(length)
            new = rnd.randint(max(0, top - 3), top) if top else 0
            data[length_at : length_at + 2] = new.to_bytes(2, order)
        else:  # any shorter length: the rest of the record shifts
            new = rnd.randint(0, length) if length else 0
            data[length_at : length_at + 2] = new.to_bytes(2, order)
    return bytes(data)
