"""From decoded records to buffered pieces: one :class:`Piece` per undo/redo pair (or DDL,
or direct-load block). Pure; no dictionary, no value decoding.

A piece keeps raw column bytes under absolute 1-based column numbers, so row assembly
at commit only merges dictionaries. LOB redo becomes pieces too (``LOB_*`` kinds, with a
:class:`LobRef`): their data waits with the rest of the transaction, in the same store,
until the row change that refers to them (:mod:`drcapture.redo.txn.lobs`).

A change this build cannot decode — a row operation it does not know, an encrypted
vector, a multi-block undo record, the undo of an operation with no decoder — becomes a
piece of kind :attr:`PieceKind.UNDECODED` with the reason, for the object its undo names.
The assembler counts and drops it when nobody captures that object, and otherwise
applies ``source.on_undecodable`` at commit: never a silent skip. Undo of space
management (layers 5, 13, 14, 22) changes no row and yields nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from drcapture.errors import UndecodableChange
from drcapture.redo.ops.common import Fragment, NotInRedo, Raw
from drcapture.redo.ops.compressed import image_values
from drcapture.redo.ops.ddl import Ddl
from drcapture.redo.ops.direct import DirectLoad
from drcapture.redo.ops.dispatch import (
    ParsedRecord,
    ParsedVector,
    SkippedOp,
    UndecodableOp,
    UnknownOp,
)
from drcapture.redo.ops.iot import UNDO_OPC
from drcapture.redo.ops.kdli import LobBlockChange, LobPage
from drcapture.redo.ops.kdo import FB_NEXT, FB_PREV, Column, RowCode, RowOp
from drcapture.redo.ops.lob import LLB_TYPE_WRITE_BEGIN, LobOp
from drcapture.redo.ops.undo import (
    MULTI_BLOCK,
    NON_ROW_UNDO_LAYERS,
    PartialRollback,
    Supplemental,
    TxBegin,
    TxEnd,
    UndoRecord,
)
from drcapture.redo.txn.iot import LeafChange, check_overflow, leaf_change, unpaired
from drcapture.redo.xid import Xid

Values = tuple[tuple[int, Raw], ...]


class PieceKind(StrEnum):
    """What a buffered piece stands for."""

    ROW = "row"  # one undo/redo pair of a row change
    MULTI = "multi"  # a multi-row op (QMI/QMD): one change per row
    DIRECT = "direct"  # rows of a direct-path loaded block
    DDL = "ddl"
    UNDECODED = "undecoded"  # a change this build cannot decode (``undecoded`` says why)
    IOT = "iot"  # one leaf change of an index-organized table (layer 10, see .iot)
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
    ddl_command: int | None = None  # DDL pieces: Oracle's command number (drcommon.sqlcommand)
    compressed: bool = False
    undecoded: str | None = None  # UNDECODED pieces: what could not be decoded
    # What stands for the columns ``before``/``after`` do not list: None = nothing (trailing
    # NULLs of a whole row, unchanged columns of an update); set when the image is a
    # compressed row whose unlisted columns may hold values the redo does not carry.
    before_rest: NotInRedo | None = None
    after_rest: NotInRedo | None = None
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
    iot: bool = False  # an IOT leaf undo applied: matched by code and leaf block (slots move)
    scn: int = 0  # of the rollback's record
    sub_scn: int = 0


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


def split_parts(values: Values, op: RowOp) -> Values:
    """``values`` (``op``'s columns, one for one) with the parts of columns that span row
    pieces marked as :class:`Fragment`: the piece's column 0 when its row flags say P,
    its last column (``cc - 1``) when they say N."""
    fb = op.fb
    if not fb & (FB_PREV | FB_NEXT) or not values:
        return values
    out = list(values)
    for k, column in enumerate(op.columns):
        first = bool(fb & FB_PREV) and column.index == 0
        last = bool(fb & FB_NEXT) and column.index == op.cc - 1
        number, raw = out[k]
        if (first or last) and isinstance(raw, bytes):
            out[k] = (number, Fragment(raw, first, last, (op.bdba, op.slot), op.nrid))
    return tuple(out)


def _image(op: RowOp | None, start: int) -> Values:
    """A row op's columns by absolute number, split columns' parts marked."""
    if op is None:
        return ()
    return split_parts(absolute(op.columns, start), op)


def _cut_off(redo: RowOp | None, undo: RowOp | None, start: int) -> Values:
    """NULLs for the columns an update cut off the end of a row piece.

    Oracle stores no trailing NULL columns: an update that leaves the last columns NULL
    shortens the piece (URP column count 185 → 179 in fixture Op11_5_SL_Unique, whose
    redo lists only the column it set and whose undo restores all six). The columns
    between the new and the old count are NULL afterwards; LogMiner sets each to NULL."""
    if (redo is None or undo is None or redo.code != RowCode.URP or undo.code != RowCode.URP
            or redo.cc >= undo.cc or not redo.columns):
        return ()
    listed = {c.index for c in redo.columns}
    shift = (start - redo.columns[0].index) if start > 0 else 1
    return tuple((index + shift, None) for index in range(redo.cc, undo.cc)
                 if index not in listed)


def _supp_values(supp: Supplemental | None) -> Values:
    return supp.columns if supp is not None else ()


@dataclass(frozen=True, slots=True)
class _Images:
    """A row piece's before/after column values and supplemental columns."""

    before: Values
    after: Values
    supp: Values
    before_rest: NotInRedo | None = None
    after_rest: NotInRedo | None = None


def _images(rec: ParsedRecord, undo: UndoRecord, redo: RowOp | None) -> _Images:
    """Column values of both sides. A compressed row image (see
    :mod:`~drcapture.redo.ops.compressed`) takes its values from the supplemental
    columns of the undo record, which then describe that image and nothing else."""
    supp = undo.supplemental
    undo_op = undo.row_op
    start_redo = supp.start_redo if supp else 0
    before = _image(undo_op, supp.start_undo if supp else 0)
    after = _image(redo, start_redo) + _cut_off(redo, undo_op, start_redo)
    undo_packed = undo_op.packed if undo_op else None
    redo_packed = redo.packed if redo else None
    if undo_packed is None and redo_packed is None:
        return _Images(before, after, _supp_values(supp))
    where = {"rba": str(rec.record.rba), "obj": undo.ktub.obj, "xid": str(undo.xid)}
    if undo_packed is not None and redo_packed is not None:
        raise UndecodableChange("compressed row images on both sides of one change: the "
                                "supplemental columns describe only one of them", **where)
    supp_columns = supp.columns if supp else ()
    if undo_packed is not None:
        assert undo_op is not None
        values, rest = image_values(undo_packed, supp_columns,
                                    opcode=f"11.{undo_op.code} (undo)", **where)
        return _Images(values, after, (), before_rest=rest)
    assert redo is not None and redo_packed is not None
    values, rest = image_values(redo_packed, supp_columns, opcode=f"11.{redo.code}", **where)
    return _Images(before, values, (), after_rest=rest)


def _row_piece(rec: ParsedRecord, undo: UndoRecord, redo: RowOp | None,
               con_id: int | None) -> Piece:
    supp = undo.supplemental
    undo_op = undo.row_op
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
    images = _images(rec, undo, redo)
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
        before=images.before,
        after=images.after,
        supp=images.supp,
        rows=rows,
        slots=slots,
        compressed=bool((redo and redo.compressed) or (undo_op and undo_op.compressed)),
        before_rest=images.before_rest,
        after_rest=images.after_rest,
    )


def undecoded_mark(mark: RollbackMark, reason: str) -> Piece:
    """A piece standing for a partial rollback whose effect cannot be worked out."""
    return Piece(
        kind=PieceKind.UNDECODED, rba=mark.rba, scn=mark.scn, sub_scn=mark.sub_scn, con_id=None,
        obj=mark.obj,
        data_obj=mark.data_obj, redo_code=0, undo_code=mark.code, bdba=mark.bdba,
        slot=mark.slot, fb=0, supp_type=0, supp_fb=0, row=None, before=(), after=(), supp=(),
        undecoded=reason)


def _undecoded_piece(rec: ParsedRecord, undo: UndoRecord, reason: str, opcode: int,
                    con_id: int | None) -> Piece:
    """A piece standing for a change of ``undo``'s object that cannot be decoded."""
    header = rec.record.header
    row_op = undo.row_op
    supp = undo.supplemental
    return Piece(
        kind=PieceKind.UNDECODED, rba=str(rec.record.rba), scn=header.scn,
        sub_scn=header.sub_scn, con_id=con_id, obj=undo.ktub.obj, data_obj=undo.ktub.data_obj,
        redo_code=opcode, undo_code=row_op.code if row_op else 0,
        bdba=row_op.bdba if row_op else 0, slot=row_op.slot if row_op else 0, fb=0,
        supp_type=supp.op_type if supp else 0, supp_fb=supp.fb if supp else 0,
        row=supp.row if supp else None, before=(), after=(), supp=(), undecoded=reason,
    )


def _why_undecodable(ops: tuple[ParsedVector, ...], at: int, undo: UndoRecord,
                     paired: RowOp | None) -> tuple[str, int] | None:
    """Why the change whose undo is at ``at`` cannot be decoded, with the opcode to name
    (layer * 1000 + code), or None when it decodes (or changes no row)."""
    layer, code = undo.ktub.opc
    if layer in NON_ROW_UNDO_LAYERS:
        return None
    if (layer, code) != (11, 1):
        return f"the undo of operation {layer}.{code} is not decoded", layer * 1000 + code
    if undo.ktub.flags & MULTI_BLOCK:
        return (f"a multi-block undo record (flags 0x{undo.ktub.flags:04x}) is not reassembled",
                5001)
    if undo.row_error is not None:
        return f"its undo row operation: {undo.row_error}", 5001
    if paired is not None:
        return None
    nxt = _next_vector(ops, at + 1)
    if isinstance(nxt, UndecodableOp):
        return f"{nxt.layer}.{nxt.code}: {nxt.reason}", nxt.layer * 1000 + nxt.code
    if isinstance(nxt, UnknownOp) and nxt.layer == 11:
        return f"row operation 11.{nxt.code} is not decoded", 11000 + nxt.code
    if isinstance(nxt, SkippedOp) and nxt.reason == "encrypted":
        return (f"the change ({nxt.layer}.{nxt.code}) is encrypted (TDE)",
                nxt.layer * 1000 + nxt.code)
    if undo.row_op is None:
        return "an undo record without its row operation", 11001
    return None


def _next_vector(ops: tuple[ParsedVector, ...], start: int) -> object:
    """The operation of the first vector from ``start`` that is not a transaction begin
    or end (what follows an undo record in its record), or None."""
    for i in range(start, len(ops)):
        op = ops[i].op
        if not isinstance(op, TxBegin | TxEnd):
            return op
    return None


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
                                rba=str(rec.record.rba), iot=True, scn=rec.record.header.scn,
                                sub_scn=rec.record.header.sub_scn)
    raise UndecodableChange("partial rollback on an IOT without the leaf undo it applied",
                            rba=str(rec.record.rba), xid=str(op.xid), obj=op.ktub.obj,
                            opcode=f"5.{op.code}")


IotFilter = Callable[[int], bool]  # object number -> is it a captured IOT (index/overflow)?


def pieces_of(rec: ParsedRecord,
              iot: IotFilter | None = None) -> Iterator[tuple[Xid, Piece] | RollbackMark]:
    """The pieces (and partial-rollback marks) a record contributes, in order.

    ``iot`` says which objects are segments of captured index-organized tables: only
    their layer-10 leaf changes are decoded (:mod:`.iot`), and their layer-11 changes
    (the overflow segment) must carry supplemental column numbers.

    Raises :class:`UndecodableChange` for an encrypted undo record: it does not say whose
    change it is, so no filter can pass it over."""
    ops = rec.ops
    used: set[int] = set()
    for i, parsed in enumerate(ops):
        op = parsed.op
        if isinstance(op, UndoRecord):
            yield from _undo_pieces(rec, i, op, used, iot)
        elif isinstance(op, PartialRollback):
            mark = _rollback_mark(rec, i, op, used, iot)
            if mark is not None:
                yield mark
        elif isinstance(op, LobPage | LobOp | LobBlockChange):
            found = lob_piece(rec, op, parsed.vector.header.con_id)
            if found is not None:
                yield found
        elif isinstance(op, Ddl):
            yield op.xid, _ddl_piece(rec, op, parsed.vector.header.con_id)
        elif isinstance(op, SkippedOp) and op.reason == "encrypted" and (op.layer,
                                                                          op.code) == (5, 1):
            raise UndecodableChange(
                "an encrypted undo record (TDE-encrypted undo) names neither its transaction "
                "nor its table: capture cannot tell whether it is captured",
                rba=str(rec.record.rba), scn=rec.record.header.scn, vector=parsed.vector.index)


def _undo_pieces(rec: ParsedRecord, i: int, op: UndoRecord, used: set[int],
                 iot: IotFilter | None) -> Iterator[tuple[Xid, Piece]]:
    """The piece of the change whose undo is vector ``i`` (none for space management);
    a change that cannot be decoded becomes an UNDECODED piece, decided at commit."""
    ops = rec.ops
    con_id = ops[i].vector.header.con_id
    captured_iot = iot is not None and iot(op.ktub.obj)
    if captured_iot and op.ktub.opc == UNDO_OPC:
        try:
            yield op.xid, _iot_piece(rec, op, i, used, con_id)
        except UndecodableChange as exc:
            yield op.xid, _undecoded_piece(rec, op, str(exc), 10000, con_id)
        return
    redo, j = _next_row_op(ops, i + 1)
    if j is not None:
        used.add(j)
    why = _why_undecodable(ops, i, op, redo)
    if why is None and (op.row_op is not None or redo is not None):
        try:
            piece = _row_piece(rec, op, redo, con_id)
            if captured_iot:
                check_overflow(rec, op, piece.before, piece.after,
                               piece.kind is not PieceKind.ROW)
        except UndecodableChange as exc:
            why = str(exc), 11000 + (redo.code if redo else 0)
        else:
            yield op.xid, piece
    if why is not None:
        yield op.xid, _undecoded_piece(rec, op, why[0], why[1], con_id)


def _rollback_mark(rec: ParsedRecord, i: int, op: PartialRollback, used: set[int],
                   iot: IotFilter | None) -> RollbackMark | None:
    redo, j = _rollback_row_op(rec.ops, i, used)
    if redo is not None and j is not None:
        used.add(j)
        return RollbackMark(xid=op.xid, obj=op.ktub.obj, data_obj=op.ktub.data_obj,
                            code=redo.code, bdba=redo.bdba, slot=redo.slot,
                            slots=tuple(r.slot for r in redo.rows), rba=str(rec.record.rba),
                            scn=rec.record.header.scn, sub_scn=rec.record.header.sub_scn)
    if iot is not None and iot(op.ktub.obj):
        return _iot_rollback(rec, op, i, used)
    return None


def _ddl_piece(rec: ParsedRecord, op: Ddl, con_id: int | None) -> Piece:
    header = rec.record.header
    return Piece(
        kind=PieceKind.DDL, rba=str(rec.record.rba), scn=header.scn,
        sub_scn=header.sub_scn, con_id=con_id, obj=op.obj or 0, data_obj=0,
        redo_code=0, undo_code=0, bdba=0, slot=0, fb=0, supp_type=0, supp_fb=0,
        row=None, before=(), after=(), supp=(), ddl=op.sql, ddl_command=op.command,
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
