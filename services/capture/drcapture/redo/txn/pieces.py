"""From decoded records to buffered pieces: one :class:`Piece` per undo/redo pair (or DDL,
or direct-load block). Pure; no dictionary, no value decoding.

A piece keeps raw column bytes under absolute 1-based column numbers, so row assembly
at commit only merges dictionaries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from drcapture.errors import UndecodableChange
from drcapture.redo.ops.common import Raw
from drcapture.redo.ops.ddl import Ddl
from drcapture.redo.ops.direct import DirectLoad
from drcapture.redo.ops.dispatch import ParsedRecord, ParsedVector
from drcapture.redo.ops.iot import UNDO_OPC
from drcapture.redo.ops.kdo import Column, RowOp
from drcapture.redo.ops.undo import PartialRollback, Supplemental, UndoRecord
from drcapture.redo.txn.iot import LeafChange, check_overflow, leaf_change, unpaired
from drcapture.redo.xid import Xid

Values = tuple[tuple[int, Raw], ...]


class PieceKind(StrEnum):
    """What a buffered piece stands for."""

    ROW = "row"  # one undo/redo pair of a row change
    MULTI = "multi"  # a multi-row op (QMI/QMD): one change per row
    DIRECT = "direct"  # rows of a direct-path loaded block
    DDL = "ddl"
    IOT = "iot"  # one leaf change of an index-organized table (layer 10, see .iot)


@dataclass(frozen=True, slots=True)
class Piece:
    """One buffered unit of a transaction, JSON-exportable (see :mod:`.state`)."""

    kind: PieceKind
    rba: str
    scn: int
    sub_scn: int
    con_id: int | None
    obj: int
    data_obj: int
    redo_code: int  # 11.x code of the change made (10.x for IOT pieces; 0 when none)
    undo_code: int  # 11.x code of the row op that would undo it (10.x for IOT; 0 when none)
    bdba: int  # block and slot the change was made in
    slot: int
    fb: int  # row flags of the redo row piece
    supp_type: int  # LogMiner op from supplemental data (0 when absent)
    supp_fb: int  # first/last flags from supplemental data
    row: tuple[int, int] | None  # head row (bdba, slot) from supplemental data
    before: Values  # undo column values by absolute column number
    after: Values  # redo column values by absolute column number
    supp: Values  # supplemental column values by absolute column number
    rows: tuple[Values, ...] = ()  # multi-row ops: one image per row
    slots: tuple[int, ...] = ()  # multi-row ops: the slots touched
    ddl: str | None = None
    compressed: bool = False

    @property
    def supp_first(self) -> bool:
        """Opens a logical row change (supplemental F flag)."""
        return bool(self.supp_fb & 0x08)

    @property
    def supp_last(self) -> bool:
        """Closes a logical row change (supplemental L flag)."""
        return bool(self.supp_fb & 0x04)


@dataclass(frozen=True, slots=True)
class RollbackMark:
    """A partial rollback: the change at (data_obj, bdba, slot) of ``xid``'s slot was undone."""

    xid: Xid
    obj: int
    data_obj: int
    code: int  # 11.x code applied: the undone piece's undo_code
    bdba: int
    slot: int
    slots: tuple[int, ...]
    rba: str
    iot: bool = False  # an IOT leaf undo applied: matched by code and leaf block (slots move)


def redo_key(piece: Piece) -> tuple[int, int]:
    """Where a piece stands in its transaction: (SCN, sub-SCN) of its record.

    A transaction's records are not always in the log in the order they were made: a
    private redo strand is written out later, with the SCNs the changes got when they were
    made (fixture Ops_URP_LMN_BindingLifo: sub-SCN 2 of SCN …3633 lies after records of
    SCN …3664). Within one transaction (one thread) no two records share both numbers.
    """
    return (piece.scn, piece.sub_scn)


def in_redo_order(pieces: list[Piece]) -> list[Piece]:
    """``pieces`` sorted by :func:`redo_key` (stable; the list itself when already in order,
    which it nearly always is)."""
    previous = (-1, -1)
    for piece in pieces:
        key = (piece.scn, piece.sub_scn)
        if key < previous:
            return sorted(pieces, key=redo_key)
        previous = key
    return pieces


def absolute(columns: tuple[Column, ...], start: int) -> Values:
    """Piece-relative columns to absolute 1-based numbers; ``start`` is the number of the
    first listed column (from supplemental data), 0 when unknown (then index + 1)."""
    if not columns:
        return ()
    if start <= 0:
        return tuple((c.index + 1, c.value) for c in columns)
    first = columns[0].index
    return tuple((start + c.index - first, c.value) for c in columns)


def _supp_values(supp: Supplemental | None) -> Values:
    return supp.columns if supp is not None else ()


def _row_piece(rec: ParsedRecord, undo: UndoRecord, redo: RowOp | None,
               con_id: int | None) -> Piece:
    supp = undo.supplemental
    undo_op = undo.row_op
    start_undo = supp.start_undo if supp else 0
    start_redo = supp.start_redo if supp else 0
    multi = (redo is not None and bool(redo.rows)) or (undo_op is not None and bool(undo_op.rows))
    rows: tuple[Values, ...] = ()
    slots: tuple[int, ...] = ()
    if multi:
        source = redo if redo is not None and redo.rows and redo.rows[0].columns else undo_op
        assert source is not None
        rows = tuple(absolute(r.columns, 0) for r in source.rows)
        slots = tuple(r.slot for r in (redo or source).rows)
    anchor = redo or undo_op
    header = rec.record.header
    return Piece(
        kind=PieceKind.MULTI if multi else PieceKind.ROW,
        rba=str(rec.record.rba),
        scn=header.scn,
        sub_scn=header.sub_scn,
        con_id=con_id,
        obj=undo.ktub.obj,
        data_obj=undo.ktub.data_obj,
        redo_code=redo.code if redo else 0,
        undo_code=undo_op.code if undo_op else 0,
        bdba=anchor.bdba if anchor else 0,
        slot=anchor.slot if anchor else 0,
        fb=redo.fb if redo else 0,
        supp_type=supp.op_type if supp else 0,
        supp_fb=supp.fb if supp else 0,
        row=supp.row if supp else None,
        before=absolute(undo_op.columns, start_undo) if undo_op else (),
        after=absolute(redo.columns, start_redo) if redo else (),
        supp=_supp_values(supp),
        rows=rows,
        slots=slots,
        compressed=bool((redo and redo.compressed) or (undo_op and undo_op.compressed)),
    )


def _next_row_op(ops: tuple[ParsedVector, ...], start: int) -> tuple[RowOp | None, int | None]:
    """The layer-11 vector that goes with the undo at ``start - 1``: the next row op,
    unless another undo or rollback mark comes first."""
    for i in range(start, len(ops)):
        op = ops[i].op
        if isinstance(op, RowOp):
            return op, i
        if isinstance(op, UndoRecord | PartialRollback):
            return None, None
    return None, None


def _rollback_row_op(ops: tuple[ParsedVector, ...], at: int,
                     used: set[int]) -> tuple[RowOp | None, int | None]:
    """The row op applied by the partial rollback at ``at``: the vector right before it
    (how Oracle writes it), else the one right after."""
    for j in (at - 1, at + 1):
        if 0 <= j < len(ops) and j not in used and isinstance(ops[j].op, RowOp):
            op = ops[j].op
            assert isinstance(op, RowOp)
            return op, j
    return None, None


def _leaf_vector(ops: tuple[ParsedVector, ...], start: int) -> int | None:
    """The layer-10 vector that goes with the IOT undo at ``start - 1``."""
    for i in range(start, len(ops)):
        if ops[i].vector.header.layer == 10:
            return i
        if isinstance(ops[i].op, UndoRecord | PartialRollback):
            return None
    return None


def _iot_piece(rec: ParsedRecord, undo: UndoRecord, at: int, used: set[int],
               con_id: int | None) -> Piece:
    ops = rec.ops
    j = _leaf_vector(ops, at + 1)
    if j is None:
        raise unpaired(rec, undo, ops[at].vector)
    used.add(j)
    leaf: LeafChange = leaf_change(rec, undo, ops[at].vector, ops[j].vector)
    supp = leaf.supplemental
    header = rec.record.header
    return Piece(
        kind=PieceKind.IOT, rba=str(rec.record.rba), scn=header.scn, sub_scn=header.sub_scn,
        con_id=con_id, obj=undo.ktub.obj, data_obj=undo.ktub.data_obj, redo_code=leaf.code,
        undo_code=leaf.undo_kind, bdba=leaf.bdba, slot=leaf.slot, fb=leaf.fb,
        supp_type=supp.op_type if supp else 0, supp_fb=supp.fb if supp else 0, row=None,
        before=leaf.before, after=leaf.after, supp=supp.columns if supp else (),
    )


def _iot_rollback(rec: ParsedRecord, op: PartialRollback, at: int,
                  used: set[int]) -> RollbackMark:
    """The mark of a partial rollback on a captured IOT: the leaf undo applied is the
    layer-10 vector right before the 5.6/5.11 (else right after), its code the undo kind."""
    ops = rec.ops
    for j in (at - 1, at + 1):
        if 0 <= j < len(ops) and j not in used and ops[j].vector.header.layer == 10:
            used.add(j)
            head = ops[j].vector.header
            return RollbackMark(xid=op.xid, obj=op.ktub.obj, data_obj=op.ktub.data_obj,
                                code=head.code, bdba=head.dba, slot=0, slots=(),
                                rba=str(rec.record.rba), iot=True)
    raise UndecodableChange("partial rollback on an IOT without the leaf undo it applied",
                            rba=str(rec.record.rba), xid=str(op.xid), obj=op.ktub.obj,
                            opcode=f"5.{op.code}")


IotFilter = Callable[[int], bool]  # object number -> is it a captured IOT (index/overflow)?


def pieces_of(rec: ParsedRecord,
              iot: IotFilter | None = None) -> Iterator[tuple[Xid, Piece] | RollbackMark]:
    """The pieces (and partial-rollback marks) a record contributes, in order.

    ``iot`` says which objects are segments of captured index-organized tables: only
    their layer-10 leaf changes are decoded (:mod:`.iot`), and their layer-11 changes
    (the overflow segment) must carry supplemental column numbers."""
    ops = rec.ops
    header = rec.record.header
    used: set[int] = set()
    for i, parsed in enumerate(ops):
        op = parsed.op
        con_id = parsed.vector.header.con_id
        if isinstance(op, UndoRecord):
            captured_iot = iot is not None and iot(op.ktub.obj)
            if captured_iot and op.ktub.opc == UNDO_OPC:
                yield op.xid, _iot_piece(rec, op, i, used, con_id)
                continue
            redo, j = _next_row_op(ops, i + 1)
            if j is not None:
                used.add(j)
            if op.row_op is None and redo is None:
                continue  # undo of index, LOB or space management: nothing to emit
            piece = _row_piece(rec, op, redo, con_id)
            if captured_iot:
                check_overflow(rec, op, piece.before, piece.after,
                               piece.kind is not PieceKind.ROW)
            yield op.xid, piece
        elif isinstance(op, PartialRollback):
            redo, j = _rollback_row_op(ops, i, used)
            if redo is not None and j is not None:
                used.add(j)
                yield RollbackMark(xid=op.xid, obj=op.ktub.obj, data_obj=op.ktub.data_obj,
                                   code=redo.code, bdba=redo.bdba, slot=redo.slot,
                                   slots=tuple(r.slot for r in redo.rows), rba=str(rec.record.rba))
            elif iot is not None and iot(op.ktub.obj):
                yield _iot_rollback(rec, op, i, used)
        elif isinstance(op, Ddl):
            yield op.xid, Piece(
                kind=PieceKind.DDL, rba=str(rec.record.rba), scn=header.scn,
                sub_scn=header.sub_scn, con_id=con_id, obj=op.obj or 0, data_obj=0,
                redo_code=0, undo_code=0, bdba=0, slot=0, fb=0, supp_type=0, supp_fb=0,
                row=None, before=(), after=(), supp=(), ddl=op.sql,
            )


def direct_piece(rec: ParsedRecord, load: DirectLoad) -> Piece:
    """A direct-path loaded table block as a piece of inserted rows (no XID in 19.1)."""
    header = rec.record.header
    return Piece(
        kind=PieceKind.DIRECT, rba=str(rec.record.rba), scn=header.scn, sub_scn=header.sub_scn,
        con_id=None, obj=0, data_obj=load.data_obj, redo_code=0, undo_code=0,
        bdba=load.bdba, slot=0, fb=0, supp_type=0, supp_fb=0, row=None, before=(), after=(),
        supp=(), rows=tuple(absolute(r.columns, 0) for r in load.rows),
        slots=tuple(r.slot for r in load.rows),
    )
