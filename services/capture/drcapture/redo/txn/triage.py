"""Records that change no captured object, handled from their opcodes and object numbers.

In a filtered capture most records are undo/redo pairs of tables nobody asked for. The
assembler needs nothing from them but the count it keeps of dropped changes, plus any
transaction begin or end they carry. :func:`quick_effects` works that out from the
record's scanned layout (:attr:`RedoRecord.slots`) and a few fixed-offset reads. A record
that needs more — an undo of a captured object, a partial rollback, DDL, or a field too
short to read this way — gets ``None`` and is decoded in full, which does exactly what it
always did.

Not parsing the row data of a dropped change means damage inside that row data goes
unreported; damage to the record or vector layout is still reported (the scan checks it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from drcapture.redo.layout import CV_TYPE_ENCRYPTED
from drcapture.redo.ops.dispatch import ROW_CODES
from drcapture.redo.ops.undo import TxBegin, TxEnd, quick_begin, quick_end, quick_undo
from drcapture.redo.records import RedoRecord
from drcapture.redo.vectors import VectorSlot

_ROW_CODES = frozenset(ROW_CODES)


class QuickEffects(NamedTuple):
    """What a record without captured changes does to the assembler."""

    dropped: tuple[int, ...]  # object of each change it carries, in order (all uncaptured)
    ends: tuple[TxBegin | TxEnd, ...]  # transaction begins and ends, in order


def quick_effects(record: RedoRecord, keep: Callable[[int], bool]) -> QuickEffects | None:
    """The record's effects when none of its undo records is for an object ``keep``
    accepts; None when it must be decoded in full."""
    slots = record.slots
    data, endian = record.data, record.endian
    dropped: list[int] = []
    ends: list[TxBegin | TxEnd] = []
    for i, slot in enumerate(slots):
        if slot.typ & CV_TYPE_ENCRYPTED:
            continue  # decodes to a SkippedOp, which the assembler passes over
        layer, code = slot.layer, slot.code
        if layer == 5:
            if code == 1:
                undo = quick_undo(data, slot, endian)
                if undo is None or keep(undo[0]):
                    return None
                if undo[1] or _paired_row_op(slots, i):
                    dropped.append(undo[0])  # the piece the assembler would have dropped
            elif code in (2, 4):
                op = (quick_begin if code == 2 else quick_end)(data, slot, endian)
                if op is None:
                    return None
                ends.append(op)
            elif code in (6, 11):
                return None  # partial rollback: matched against buffered pieces
        elif layer == 24 and code == 1:
            return None  # DDL
    return QuickEffects(tuple(dropped), tuple(ends))


def _paired_row_op(slots: tuple[VectorSlot, ...], undo: int) -> bool:
    """Whether a row operation follows the undo at ``undo`` before the next undo or
    partial rollback (how :func:`~drcapture.redo.txn.pieces.pieces_of` pairs them)."""
    for slot in slots[undo + 1 :]:
        if slot.typ & CV_TYPE_ENCRYPTED:
            continue
        if slot.layer == 11 and slot.code in _ROW_CODES:
            return True
        if slot.layer == 5 and slot.code in (1, 6, 11):
            return False
    return False
