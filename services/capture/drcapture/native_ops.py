"""The typed face of the compiled core's operation parsers and per-record triage.

The core decodes change vectors the way :mod:`drcapture.redo.ops` does, byte for byte:
the ``(layer, code)`` table with its counters, every 5.x, 11.x, 19.1, 24.1 and 26.x
parser, the IOT leaf parsers, compressed row images, and
:func:`~drcapture.redo.txn.triage.quick_effects`. Each call here returns the Python
parsers' own objects (``UndoRecord``, ``RowOp``, ``TxBegin`` …) built from the core's
result, and raises the same ``DRError`` subclasses with the same messages and facts, so
the differential tests compare with ``==``.

This is the binding the tests use; production builds no Python object per operation (the
core's ThreadCore assembles transactions itself, see :mod:`drcapture.native_txn`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drcapture_core import _core

from drcapture.native import NativeRedoFile, _raise
from drcapture.redo.ops.common import NotInRedo
from drcapture.redo.ops.compressed import NOT_LOGGED, CompressedRow, Entry, Image
from drcapture.redo.ops.ddl import Ddl
from drcapture.redo.ops.direct import DirectLoad
from drcapture.redo.ops.dispatch import (
    Op,
    OpCounters,
    ParsedRecord,
    ParsedVector,
    SkippedOp,
    UndecodableOp,
    UnknownOp,
)
from drcapture.redo.ops.iot import LeafOp, LeafUndo, NonKey
from drcapture.redo.ops.kdli import LobBlockChange, LobPage
from drcapture.redo.ops.kdo import Column, KtbRedo, RowImage, RowOp
from drcapture.redo.ops.lob import LobOp
from drcapture.redo.ops.undo import (
    Ktub,
    PartialRollback,
    Supplemental,
    TxBegin,
    TxEnd,
    UndoRecord,
)
from drcapture.redo.records import RedoRecord
from drcapture.redo.txn.triage import QuickEffects
from drcapture.redo.vectors import ChangeVector
from drcapture.redo.xid import Xid

__all__ = [
    "NativeOpCounters",
    "decode_ops",
    "decode_record",
    "image_values",
    "parse_compressed_row",
    "parse_leaf_op",
    "parse_leaf_undo",
    "quick_effects",
    "triage_log",
]


class NativeOpCounters:
    """What the core's dispatcher counted (:class:`OpCounters` kept in the core)."""

    __slots__ = ("_counters",)

    def __init__(self) -> None:
        self._counters = _core.OpCounters()

    def as_counters(self) -> OpCounters:
        """The counts as the Python dispatcher's :class:`OpCounters`."""
        decoded, skipped, unknown = self._counters.counts()
        return OpCounters(Counter(decoded), Counter(skipped), Counter(unknown))

    def tally(self, record: RedoRecord) -> None:
        """Count a record's vectors by opcode alone (``VectorTally.add``)."""
        try:
            self._counters.tally(record.rba, record.data, record.endian.order.value,
                                 record.wide)
        except _core.CoreError as exc:
            _raise(exc)


def _order(record: RedoRecord) -> str:
    return record.endian.order.value


def decode_ops(record: RedoRecord, counters: NativeOpCounters | None = None) -> tuple[Op, ...]:
    """Every vector's operation (:func:`~drcapture.redo.ops.dispatch.decode_record`'s
    ``op`` of each vector), decoded in the core."""
    try:
        raw = _core.decode_record(record.rba, record.data, _order(record), record.wide,
                                  None if counters is None else counters._counters)
    except _core.CoreError as exc:
        _raise(exc)
    return tuple(_op(kind, fields) for kind, fields in raw)


def decode_record(record: RedoRecord, counters: NativeOpCounters | None = None) -> ParsedRecord:
    """:func:`drcapture.redo.ops.dispatch.decode_record` in the core."""
    ops = decode_ops(record, counters)
    return ParsedRecord(record, tuple(ParsedVector(cv, op)
                                      for cv, op in zip(record.vectors, ops, strict=True)))


def _leaf(cv: ChangeVector, undo: bool) -> Any:
    wide = cv.header.con_id is not None
    try:
        return _core.parse_leaf((0, 2, 16), cv.data, cv.endian.order.value, wide, cv.index - 1,
                                undo)
    except _core.CoreError as exc:
        _raise(exc)


def parse_leaf_op(cv: ChangeVector) -> LeafOp:
    """:func:`drcapture.redo.ops.iot.parse_leaf_op` in the core."""
    code, bdba, slot, key, nonkey, changed, ncol = _leaf(cv, undo=False)
    return LeafOp(code=code, bdba=bdba, slot=slot, key=tuple(key), nonkey=_nonkey(nonkey),
                  changed=tuple(changed), ncol=ncol)


def parse_leaf_undo(cv: ChangeVector) -> LeafUndo:
    """:func:`drcapture.redo.ops.iot.parse_leaf_undo` in the core."""
    kind, flags, bdba, key, nonkey, changed, ncol, supp = _leaf(cv, undo=True)
    return LeafUndo(kind=kind, flags=flags, bdba=bdba, key=tuple(key), nonkey=_nonkey(nonkey),
                    changed=tuple(changed), ncol=ncol, supplemental=_supplemental(supp))


def image_values(row: CompressedRow, supp: Image, **where: Any) -> tuple[Image, NotInRedo | None]:
    """:func:`drcapture.redo.ops.compressed.image_values` in the core (``where`` keys:
    opcode, rba, obj, xid, field, table)."""
    entries = [(e.value, e.symbol) for e in row.entries]
    facts = [(key, value) for key, value in where.items() if value is not None]
    try:
        values, not_logged = _core.image_values(row.fb, row.lb, entries, list(supp), facts)
    except _core.CoreError as exc:
        _raise(exc)
    image = tuple((n, None if v is None else bytes(v)) for n, v in values)
    return image, NotInRedo(NOT_LOGGED) if not_logged else None


def parse_compressed_row(data: bytes, **where: Any) -> CompressedRow:
    """:func:`drcapture.redo.ops.compressed.parse_compressed_row` in the core (``where``
    keys as for :func:`image_values`)."""
    facts = [(key, value) for key, value in where.items() if value is not None]
    try:
        fb, lb, entries = _core.compressed_row(data, facts)
    except _core.CoreError as exc:
        _raise(exc)
    return CompressedRow(fb, lb, tuple(Entry(v, s) for v, s in entries))


def quick_effects(record: RedoRecord, reasons: Mapping[int, str | None],
                  default: str | None) -> QuickEffects | None:
    """:func:`drcapture.redo.txn.triage.quick_effects` in the core, with the skip reason
    of an object taken from ``reasons`` (``default`` for objects it does not list)."""
    try:
        found = _core.quick_effects(record.rba, record.data, _order(record),
                                    record.wide, dict(reasons), default)
    except _core.CoreError as exc:
        _raise(exc)
    if found is None:
        return None
    dropped, ends, rollbacks = found
    return QuickEffects(dropped, [_op(kind, fields) for kind, fields in ends],
                        [(usn, slot, reason) for usn, slot, reason in rollbacks])


@dataclass(frozen=True, slots=True)
class TriageTotals:
    """What :func:`triage_log` counted."""

    records: int
    bytes: int
    quick: int  # records the triage handled
    full: int  # records it passed on to full decoding
    dropped: int  # changes dropped (and LOB redo left out), as counter increments
    ends: int  # transaction begins and ends
    rollbacks: int  # partial rollbacks of uncaptured objects
    decoded: int  # vectors decoded of the records passed on (when asked)


def triage_log(redo: NativeRedoFile, reasons: Mapping[int, str | None], default: str | None,
               *, decode: bool, counters: NativeOpCounters | None = None) -> TriageTotals:
    """A whole log through the reader's path up to the assembler, inside the core (the
    GIL released): every record walked, its vectors tallied into ``counters``
    (``VectorTally``), triaged with the skip reasons of ``reasons``/``default``, and with
    ``decode`` every record the triage passes on decoded."""
    try:
        totals = _core.triage_file(redo.core, dict(reasons), default, decode,
                                   None if counters is None else counters._counters)
    except _core.CoreError as exc:
        _raise(exc)
    return TriageTotals(*totals)


# --- from the core's tuples to the Python parsers' objects ---------------------------


def _xid(fields: Any) -> Xid | None:
    return None if fields is None else Xid(*fields)


def _columns(items: Any) -> tuple[Column, ...]:
    return tuple(Column(index, value) for index, value in items)


def _rows(items: Any) -> tuple[RowImage, ...]:
    return tuple(RowImage(slot, fb, _columns(cols)) for slot, fb, cols in items)


def _row_op(fields: Any) -> RowOp | None:
    if fields is None:
        return None
    (code, bdba, slot, fb, flags, tabn, cc), body = fields
    columns, rows, nrid, hrid, packed, next_field, ktb = body
    compressed = None
    if packed is not None:
        p_fb, p_lb, entries = packed
        compressed = CompressedRow(p_fb, p_lb, tuple(Entry(v, s) for v, s in entries))
    redo = None if ktb is None else KtbRedo(ktb[0], ktb[1], _xid(ktb[2]))
    return RowOp(code, bdba, slot, fb, flags, tabn, cc, _columns(columns), _rows(rows), nrid,
                 hrid, compressed, next_field, redo)


def _ktub(fields: Any) -> Ktub:
    obj, data_obj, opc, slot, flags = fields
    return Ktub(obj=obj, data_obj=data_obj, opc=tuple(opc), slot=slot, flags=flags)


def _supplemental(fields: Any) -> Supplemental | None:
    if fields is None:
        return None
    op_type, fb, count, start_undo, start_redo, row, columns = fields
    return Supplemental(op_type=op_type, fb=fb, column_count=count, start_undo=start_undo,
                        start_redo=start_redo, row=row, columns=tuple(columns))


def _nonkey(fields: Any) -> NonKey | None:
    if fields is None:
        return None
    fb, columns, nrid = fields
    return NonKey(fb=fb, columns=tuple(columns), nrid=nrid)


def _op(kind: str, f: Any) -> Any:
    """The Python object of one operation tuple (see ``src/py/ops.rs``)."""
    if kind == "row":
        return _row_op(f)
    if kind == "undo":
        return UndoRecord(xid=Xid(*f[0]), ktub=_ktub(f[1]), row_op=_row_op(f[2]),
                          supplemental=_supplemental(f[3]), undo_rec=f[4], row_error=f[5])
    if kind == "begin":
        return TxBegin(Xid(*f[0]), f[1], f[2])
    if kind == "end":
        return TxEnd(Xid(*f[0]), f[1], f[2], f[3])
    if kind == "rollback":
        return PartialRollback(code=f[0], xid=Xid(*f[1]), ktub=_ktub(f[2]))
    if kind == "lob":
        return LobOp(f[0], _xid(f[1]), f[2], tuple(f[3]), op=f[4], lid=f[5], length=f[6],
                     page_size=f[7])
    return _other(kind, f)


def _other(kind: str, f: Any) -> Any:
    if kind == "direct":
        return DirectLoad(data_obj=f[0], bdba=f[1], rows=_rows(f[2]), table_block=f[3])
    if kind == "ddl":
        return Ddl(xid=Xid(*f[0]), kind=f[1], obj=f[2], sql=f[3], command=f[4])
    if kind == "page":
        return LobPage(dba=f[0], lid=f[1], xid=Xid(*f[2]), data_obj=f[3], obj=f[4], column=f[5],
                       page_size=f[6], data=f[7])
    if kind == "change":
        return LobBlockChange(code=f[0], kdli_op=f[1], dba=f[2], xid=_xid(f[3]), lid=f[4],
                              obj=f[5], column=f[6])
    if kind == "unknown":
        return UnknownOp(*f)
    if kind == "skipped":
        return SkippedOp(*f)
    if kind == "undecodable":
        return UndecodableOp(*f)
    raise AssertionError(f"the core returned an operation of unknown kind {kind!r}")
