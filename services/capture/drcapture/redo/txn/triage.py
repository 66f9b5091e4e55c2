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

LOB redo is triaged by the table it names: a 26.x page or change by its suplog field, an
11.17 type 1 (a LOB write) by its object; one of a captured table is decoded in full, a
26.x that names no table is counted as the assembler counts it (``lob_redo_unattributed``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from drcapture.redo.layout import CV_TYPE_ENCRYPTED
from drcapture.redo.ops.dispatch import ROW_CODES
from drcapture.redo.ops.kdli import quick_lob_table
from drcapture.redo.ops.lob import LLB_TYPE_WRITE_BEGIN, quick_llb
from drcapture.redo.ops.undo import (
    TxBegin,
    TxEnd,
    quick_begin,
    quick_end,
    quick_rollback,
    quick_undo,
)
from drcapture.redo.records import RedoRecord
from drcapture.redo.vectors import VectorSlot

_ROW_CODES = frozenset(ROW_CODES)


class QuickEffects(NamedTuple):
    """What a record without captured changes does to the assembler."""

    dropped: Sequence[str]  # why each change it carries is not captured, in order
    ends: Sequence[TxBegin | TxEnd]  # transaction begins and ends, in order
    rollbacks: Sequence[tuple[int, int, str]]  # partial rollbacks: (undo segment, slot, reason)


def quick_effects(record: RedoRecord,
                  skip_reason: Callable[[int], str | None]) -> QuickEffects | None:
    """The record's effects when ``skip_reason`` gives a reason to skip the object of each
    of its undo records and partial rollbacks; None when it must be decoded in full.

    Runs for every record: lists are only made for what the record holds."""
    slots = record.slots
    data, endian = record.data, record.endian
    dropped: Dropped = ()
    ends: list[TxBegin | TxEnd] | tuple[()] = ()
    rollbacks: list[tuple[int, int, str]] | None = None
    rolled: list[int] = []  # row ops taken by partial rollbacks
    for i, slot in enumerate(slots):
        if slot.typ & CV_TYPE_ENCRYPTED and not _is_encrypted_undo(slot):
            continue  # decodes to a SkippedOp, which the assembler passes over
        layer, code = slot.layer, slot.code
        if layer == 5:
            if code == 1:
                reason = _dropped_undo(record, i, skip_reason)
                if reason is None:
                    return None  # a captured object (or a field too short to read here)
                if reason:
                    dropped = [*dropped, reason] if dropped else [reason]
            elif code in (2, 4):
                op: TxBegin | TxEnd | None = (
                    quick_begin(data, slot, endian, record.wide) if code == 2
                    else quick_end(data, slot, endian))
                if op is None:
                    return None
                ends = [*ends, op] if ends else [op]
            elif code in (6, 11):
                rollbacks = [] if rollbacks is None else rollbacks
                if not _rollback(record, i, skip_reason, rolled, rollbacks):
                    return None
        else:
            found = _other(record, slot, skip_reason, dropped)
            if found is None:
                return None  # DDL, or a captured table's LOB
            dropped = found
    return tuple.__new__(QuickEffects, (dropped, ends, rollbacks or ()))


def _dropped_undo(record: RedoRecord, at: int,
                  skip_reason: Callable[[int], str | None]) -> str | None:
    """For the undo at ``at`` of an uncaptured object: why the piece the assembler would
    make of it (a row change, or one that cannot be decoded) is dropped, or "" when it
    makes none; None when the object is captured or the undo must be decoded in full."""
    slots = record.slots
    if slots[at].typ & CV_TYPE_ENCRYPTED:
        return None  # whose change it is nobody can tell: decoding refuses it
    undo = quick_undo(record.data, slots[at], record.endian)
    reason = skip_reason(undo[0]) if undo is not None else None
    if undo is None or reason is None:
        return None
    return reason if undo[1] or _paired_row_op(slots, at) is not None else ""


Dropped = list[str] | tuple[()]


def _other(record: RedoRecord, slot: VectorSlot, skip_reason: Callable[[int], str | None],
           dropped: Dropped) -> Dropped | None:
    """A vector outside layer 5: None for DDL and for a LOB vector that must be decoded
    in full (a captured table's); else ``dropped`` with what the assembler would count for
    a LOB vector it drops (unchanged for the rest)."""
    layer, code = slot.layer, slot.code
    if layer == 11 and code != 17:
        return dropped  # the common case: a row operation
    if layer == 24 and code == 1:
        return None
    if layer == 26 and code in (2, 6):
        obj = quick_lob_table(record.data, slot, record.endian)
        if obj is None:  # names no table: the assembler counts it and leaves it out
            return [*dropped, "lob_redo_unattributed"]
    elif layer == 11 and code == 17:
        kind, obj = quick_llb(record.data, slot, record.endian)
        if kind != LLB_TYPE_WRITE_BEGIN:
            return dropped if kind >= 0 else None  # types 3/4 frame a write: no piece
    else:
        return dropped
    reason = None if obj is None else skip_reason(obj)
    return None if reason is None else [*dropped, reason, "lob_pieces_skipped"]


def _rollback(record: RedoRecord, at: int, skip_reason: Callable[[int], str | None],
              rolled: list[int], rollbacks: list[tuple[int, int, str]]) -> bool:
    """Note the partial rollback at ``at``; False when it needs full decoding."""
    mark = quick_rollback(record.data, record.slots[at], record.endian)
    reason = skip_reason(mark[0]) if mark is not None else None
    if mark is None or reason is None:
        return False
    applied = _rollback_row_op(record.slots, at, rolled)
    if applied is not None:  # otherwise pieces_of yields no mark for it
        rolled.append(applied)
        rollbacks.append((mark[1], mark[2], reason))
    return True


def _is_encrypted_undo(slot: VectorSlot) -> bool:
    return slot.layer == 5 and slot.code == 1 and bool(slot.typ & CV_TYPE_ENCRYPTED)


def _is_undo(slot: VectorSlot) -> bool:
    return not slot.typ & CV_TYPE_ENCRYPTED and slot.layer == 5 and slot.code == 1


def _is_row_op(slot: VectorSlot) -> bool:
    return (not slot.typ & CV_TYPE_ENCRYPTED and slot.layer == 11
            and slot.code in _ROW_CODES)


def _paired_row_op(slots: tuple[VectorSlot, ...], undo: int) -> int | None:
    """The row operation that goes with the undo at ``undo``: the next one before any other
    undo or partial rollback (how :func:`~drcapture.redo.txn.pieces.pieces_of` pairs)."""
    for j in range(undo + 1, len(slots)):
        slot = slots[j]
        if _is_row_op(slot):
            return j
        if not slot.typ & CV_TYPE_ENCRYPTED and slot.layer == 5 and slot.code in (1, 6, 11):
            return None
    return None


def _rollback_row_op(slots: tuple[VectorSlot, ...], at: int, rolled: list[int]) -> int | None:
    """The row operation a partial rollback at ``at`` applied: the one right before it,
    else right after, if no earlier undo or rollback took it (as pieces_of pairs them)."""
    undos = [u for u in range(at) if _is_undo(slots[u])]
    taken = {_paired_row_op(slots, u) for u in undos} | set(rolled)
    for j in (at - 1, at + 1):
        if 0 <= j < len(slots) and j not in taken and _is_row_op(slots[j]):
            return j
    return None
