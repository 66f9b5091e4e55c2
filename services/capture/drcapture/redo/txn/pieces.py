"""From decoded records to buffered pieces: one :class:`Piece` per undo/redo pair (or DDL,
or direct-load block). Pure; no dictionary, no value decoding.

A piece keeps raw column bytes under absolute 1-based column numbers, so row assembly
at commit only merges dictionaries. LOB redo becomes pieces too (``LOB_*`` kinds, with a
:class:`LobRef`): their data waits with the rest of the transaction, in the same store,
until the row change that refers to them (:mod:`drcapture.redo.txn.lobs`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from drcapture.redo.ops.common import Raw
from drcapture.redo.ops.ddl import Ddl
from drcapture.redo.ops.direct import DirectLoad
from drcapture.redo.ops.dispatch import ParsedRecord, ParsedVector
from drcapture.redo.ops.kdli import LobBlockChange, LobPage
from drcapture.redo.ops.kdo import Column, RowOp
from drcapture.redo.ops.lob import LLB_TYPE_WRITE_BEGIN, LobOp
from drcapture.redo.ops.undo import PartialRollback, Supplemental, UndoRecord
from drcapture.redo.xid import Xid

Values = tuple[tuple[int, Raw], ...]


class PieceKind(StrEnum):
    """What a buffered piece stands for."""

    ROW = "row"  # one undo/redo pair of a row change
    MULTI = "multi"  # a multi-row op (QMI/QMD): one change per row
    DIRECT = "direct"  # rows of a direct-path loaded block
    DDL = "ddl"
    LOB_PAGE = "lob_page"  # a 26.6 LOB data block: ``bdba`` its DBA, ``after`` its data
    LOB_WRITE = "lob_write"  # an 11.17 type 1: a write to one LOB began
    LOB_CHANGE = "lob_change"  # a 26.2 (or non-image 26.6) on a LOB block: refused
    LOB_VOID = "lob_void"  # a LOB whose row change a partial rollback undid


LOB_KINDS = frozenset({PieceKind.LOB_PAGE, PieceKind.LOB_WRITE, PieceKind.LOB_CHANGE,
                       PieceKind.LOB_VOID})


@dataclass(frozen=True, slots=True)
class LobRef:
    """The LOB a ``LOB_*`` piece is about: its LID (empty when the redo does not name it),
    the column, and for a write the LLB operation and length (the kdli op of a change)."""

    lid: bytes
    column: int
    op: int = 0
    length: int | None = None


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
    redo_code: int  # 11.x code of the change made (0 when none)
    undo_code: int  # 11.x code of the row op that would undo it (0 when none)
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
    lob: LobRef | None = None  # LOB_* pieces: which LOB (the table is ``obj``)

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


def pieces_of(rec: ParsedRecord) -> Iterator[tuple[Xid, Piece] | RollbackMark]:
    """The pieces (and partial-rollback marks) a record contributes, in order."""
    ops = rec.ops
    header = rec.record.header
    used: set[int] = set()
    for i, parsed in enumerate(ops):
        op = parsed.op
        con_id = parsed.vector.header.con_id
        if isinstance(op, UndoRecord):
            redo, j = _next_row_op(ops, i + 1)
            if j is not None:
                used.add(j)
            if op.row_op is None and redo is None:
                continue  # undo of index, LOB or space management: nothing to emit
            yield op.xid, _row_piece(rec, op, redo, con_id)
        elif isinstance(op, PartialRollback):
            redo, j = _rollback_row_op(ops, i, used)
            if redo is not None and j is not None:
                used.add(j)
                yield RollbackMark(xid=op.xid, obj=op.ktub.obj, data_obj=op.ktub.data_obj,
                                   code=redo.code, bdba=redo.bdba, slot=redo.slot,
                                   slots=tuple(r.slot for r in redo.rows), rba=str(rec.record.rba))
        elif isinstance(op, LobPage | LobOp | LobBlockChange):
            found = lob_piece(rec, op, con_id)
            if found is not None:
                yield found
        elif isinstance(op, Ddl):
            yield op.xid, Piece(
                kind=PieceKind.DDL, rba=str(rec.record.rba), scn=header.scn,
                sub_scn=header.sub_scn, con_id=con_id, obj=op.obj or 0, data_obj=0,
                redo_code=0, undo_code=0, bdba=0, slot=0, fb=0, supp_type=0, supp_fb=0,
                row=None, before=(), after=(), supp=(), ddl=op.sql,
            )


def lob_piece(rec: ParsedRecord, op: LobPage | LobOp | LobBlockChange,
              con_id: int | None) -> tuple[Xid, Piece] | None:
    """The piece a LOB op contributes, with its XID: a 26.6 page, an LLB type 1 (a write
    begins) or a 26.2 change; None for what names no table or transaction (the
    assembler counts those: :func:`~drcapture.redo.txn.lobs.unattributed`) and for the
    LLB types that only frame a write."""
    header = rec.record.header
    after: Values = ()
    if isinstance(op, LobPage):
        if op.obj is None:
            return None
        kind, xid, obj, data_obj, dba = PieceKind.LOB_PAGE, op.xid, op.obj, op.data_obj, op.dba
        ref, after = LobRef(op.lid, op.column or 0), ((op.column or 0, op.data),)
    elif isinstance(op, LobOp):
        if op.kind != LLB_TYPE_WRITE_BEGIN or op.xid is None or op.obj is None or op.lid is None:
            return None
        kind, xid, obj, data_obj, dba = PieceKind.LOB_WRITE, op.xid, op.obj, 0, 0
        ref = LobRef(op.lid, op.columns[0] if op.columns else 0, op.op or 0, op.length)
    else:
        if op.obj is None or op.xid is None:
            return None
        kind, xid, obj, data_obj, dba = PieceKind.LOB_CHANGE, op.xid, op.obj, 0, op.dba
        ref = LobRef(op.lid or b"", op.column or 0, op.kdli_op)
    return xid, Piece(
        kind=kind, rba=str(rec.record.rba), scn=header.scn, sub_scn=header.sub_scn,
        con_id=con_id, obj=obj, data_obj=data_obj, redo_code=0, undo_code=0, bdba=dba,
        slot=ref.column, fb=0, supp_type=0, supp_fb=0, row=None, before=(), after=after,
        supp=(), lob=ref)


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
