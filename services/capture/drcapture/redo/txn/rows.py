"""Row assembly: a committed transaction's pieces become logical row changes.

The pieces come in redo order (SCN, sub-SCN: see
:func:`~drcapture.redo.txn.pieces.redo_key`), whatever order the log holds them in.
Pieces between a supplemental "first" flag and the matching "last" flag are one row
change (a chained or migrated row, or an update touching several row pieces); the
LogMiner op in the supplemental header says whether it is an insert, update or delete.
Without supplemental data each piece stands alone and the op follows from its 11.x code.
Multi-row ops give one change per row.

An index-organized table's change is an IOT piece (its leaf row change, layer 10), plus
layer-11 pieces on its overflow segment when the row has an overflow part; they group by
the same supplemental flags. An insert or delete whose leaf part says the row goes on in
the overflow segment, without the overflow piece in its group, is refused: its image
would lack the overflow columns.

The row is the head piece's: the piece whose row flags carry H (a chained insert writes
its tail first, and the supplemental row address then names the tail: fixture
Op11_2_Test Reverse), else the supplemental row address (an update through an LMN
marker, a migrated row's forwarding stub), else the first piece's block and slot.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from drcommon.model import Operation

from drcapture.errors import UndecodableChange
from drcapture.redo.ops.common import Fragment, NotInRedo, Value
from drcapture.redo.ops.iot import LeafCode
from drcapture.redo.ops.kdo import FB_HEAD, FB_LAST, FB_NEXT, RowCode
from drcapture.redo.ops.undo import SuppType
from drcapture.redo.txn.pieces import Piece, PieceKind, Values

_SUPP_OPS = {SuppType.INSERT: Operation.INSERT, SuppType.UPDATE: Operation.UPDATE,
             SuppType.DELETE: Operation.DELETE}
_CODE_OPS = {RowCode.IRP: Operation.INSERT, RowCode.DRP: Operation.DELETE,
             RowCode.URP: Operation.UPDATE, RowCode.ORP: Operation.UPDATE,
             RowCode.QMI: Operation.INSERT, RowCode.QMD: Operation.DELETE}
_IOT_OPS = {LeafCode.INSERT: Operation.INSERT, LeafCode.DELETE: Operation.DELETE,
            LeafCode.NONKEY: Operation.UPDATE, LeafCode.COLUMNS: Operation.UPDATE}


@dataclass(frozen=True, slots=True)
class LogicalRow:
    """One row change (or DDL) before names and values are decoded."""

    op: Operation
    obj: int
    data_obj: int
    rba: str
    scn: int
    sub_scn: int
    con_id: int | None
    row: tuple[int, int] | None  # (bdba, slot) of the row head
    before: dict[int, Value] | None
    after: dict[int, Value] | None
    ddl: str | None = None
    ddl_command: int | None = None
    compressed: bool = False
    undecoded: str | None = None  # why this change could not be decoded (see pieces.py)
    # Set when the table's columns an image does not list are not in the redo (a
    # compressed row image): they are published as not logged, not as NULL or unchanged.
    before_rest: NotInRedo | None = None
    after_rest: NotInRedo | None = None


class _Unjoinable(Exception):
    """The parts of a column split across row pieces do not make one value."""


def _merge(*parts: Values) -> dict[int, Value]:
    """One image from the parts' columns (later parts win), the parts of split columns
    joined in row order. Raises :class:`_Unjoinable` when they cannot be."""
    out: dict[int, Value] = {}
    split: dict[int, list[Fragment]] = {}
    for part in parts:
        for col, value in part:
            if isinstance(value, Fragment):
                split.setdefault(col, []).append(value)
            else:
                out[col] = value
    for col, fragments in split.items():
        out[col] = _join(col, fragments)
    return out


def _join(col: int, parts: list[Fragment]) -> bytes:
    """The column's parts in row order: from the part that continues nothing, along the
    pieces' next-piece addresses; two parts (one goes on, one continues) need no address.
    A column spanning pieces of which the redo holds only some cannot be joined."""
    starts = [p for p in parts if not p.continues]
    if len(starts) == 1:
        by_place = {p.at: p for p in parts}
        chain = [starts[0]]
        while chain[-1].goes_on and len(chain) < len(parts):
            nxt = by_place.get(chain[-1].next_piece) if chain[-1].next_piece else None
            if nxt is None or nxt in chain:
                break
            chain.append(nxt)
        if len(chain) == len(parts) and not chain[-1].goes_on:
            return b"".join(p.data for p in chain)
        if len(parts) == 2 and chain[0].goes_on:
            end = next(p for p in parts if p is not chain[0])
            if end.continues and not end.goes_on:
                return chain[0].data + end.data
    raise _Unjoinable(f"column {col} spans row pieces and {len(parts)} part(s) of it do not "
                      "join into one value (the redo holds only some of its pieces)")


def _code_op(piece: Piece) -> Operation | None:
    if piece.kind is PieceKind.IOT:
        return _IOT_OPS.get(LeafCode(piece.redo_code))
    return _CODE_OPS.get(RowCode(piece.redo_code)) if piece.redo_code in _CODE_OPS else None


def _op_of(group: list[Piece]) -> Operation | None:
    for piece in group:
        if piece.supp_type in _SUPP_OPS:
            return _SUPP_OPS[SuppType(piece.supp_type)]
    ops = [op for op in map(_code_op, group) if op is not None]
    return ops[0] if ops else None


def _check_overflow_joined(op: Operation, group: list[Piece]) -> None:
    """A whole-row image (insert, delete) of an IOT row with an overflow part needs the
    overflow segment's piece too."""
    if op not in (Operation.INSERT, Operation.DELETE):
        return
    goes_on = any(p.kind is PieceKind.IOT and p.fb & FB_NEXT and not p.fb & FB_LAST
                  for p in group)
    if goes_on and not any(p.kind is PieceKind.ROW for p in group):
        first = group[0]
        raise UndecodableChange("IOT row goes on in its overflow segment, but no change of "
                                "the overflow segment came with it", rba=first.rba,
                                scn=first.scn, obj=first.obj, opcode=f"10.{first.redo_code}")


def _head(group: list[Piece]) -> tuple[int, int] | None:
    for piece in group:
        if piece.fb & FB_HEAD and piece.redo_code:
            return (piece.bdba, piece.slot)
    for piece in group:
        if piece.row is not None:
            return piece.row
    return (group[0].bdba, group[0].slot) if group else None


def _group_row(group: list[Piece]) -> LogicalRow | None:
    op = _op_of(group)
    undecoded = next((p.undecoded for p in group if p.undecoded), None)
    if undecoded is not None:
        return _undecoded_row(group, op or Operation.UNKNOWN, undecoded)
    if op is None:
        return None
    _check_overflow_joined(op, group)
    supp = tuple(v for p in group for v in p.supp)
    undo = tuple(v for p in group for v in p.before)
    redo = tuple(v for p in group for v in p.after)
    try:
        before = None if op is Operation.INSERT else _merge(supp, undo)
        after = None if op is Operation.DELETE else _merge(supp, redo)
    except _Unjoinable as exc:
        return _undecoded_row(group, op, str(exc))
    before_rest = next((p.before_rest for p in group if p.before_rest), None)
    after_rest = next((p.after_rest for p in group if p.after_rest), None)
    if op is Operation.UPDATE and not redo and not undo and not (before_rest or after_rest):
        return None  # a lock or marker without column changes (a compressed image without
        # supplemental columns is a change whose values are not logged: kept)
    first = _first_with_data(group)
    return LogicalRow(op=op, obj=first.obj, data_obj=first.data_obj, rba=first.rba,
                      scn=first.scn, sub_scn=first.sub_scn, con_id=first.con_id,
                      row=_head(group), before=before, after=after,
                      compressed=any(p.compressed for p in group),
                      before_rest=before_rest if before is not None else None,
                      after_rest=after_rest if after is not None else None)


def _first_with_data(group: list[Piece]) -> Piece:
    """The piece a change is positioned at: the first that is not a row lock. An update
    can open with the 11.4 that locked the row; LogMiner places the statement at the next
    record, where the row's data starts (fixture Ops_LKR_URP_LMN, oracdc's expected RBA)."""
    return next((p for p in group if p.redo_code != RowCode.LKR), group[0])


def _undecoded_row(group: list[Piece], op: Operation, reason: str) -> LogicalRow:
    """A change (part of which) could not be decoded: its place and object, no images."""
    first = group[0]
    return LogicalRow(op=op, obj=first.obj, data_obj=first.data_obj, rba=first.rba,
                      scn=first.scn, sub_scn=first.sub_scn, con_id=first.con_id,
                      row=_head(group), before=None, after=None, undecoded=reason)


def _multi_rows(piece: Piece) -> Iterator[LogicalRow]:
    op = _CODE_OPS.get(RowCode(piece.redo_code)) if piece.redo_code in _CODE_OPS else None
    if op is None:
        return
    for k, image in enumerate(piece.rows):
        values = _merge(image)  # whole rows of one block: no part of a split column
        slot = piece.slots[k] if k < len(piece.slots) else 0
        yield LogicalRow(op=op, obj=piece.obj, data_obj=piece.data_obj, rba=piece.rba,
                         scn=piece.scn, sub_scn=piece.sub_scn, con_id=piece.con_id,
                         row=(piece.bdba, slot),
                         before=values if op is Operation.DELETE else None,
                         after=values if op is Operation.INSERT else None)


def _same_row(first: Piece, piece: Piece) -> bool:
    """Whether ``piece`` can continue the row change ``first`` opened: same object, and
    the same supplemental row address where both name one."""
    if first.obj != piece.obj:
        return False
    return first.row is None or piece.row is None or first.row == piece.row


def assemble(pieces: Iterable[Piece]) -> Iterator[LogicalRow]:
    """Logical row changes of a transaction's pieces, in redo order."""
    group: list[Piece] = []

    def flush() -> Iterator[LogicalRow]:
        if group:
            row = _group_row(group)
            group.clear()
            if row is not None:
                yield row

    for piece in pieces:
        if piece.kind is PieceKind.DDL:
            yield from flush()
            yield LogicalRow(op=Operation.DDL, obj=piece.obj, data_obj=piece.data_obj,
                             rba=piece.rba, scn=piece.scn, sub_scn=piece.sub_scn,
                             con_id=piece.con_id, row=None, before=None, after=None,
                             ddl=piece.ddl, ddl_command=piece.ddl_command)
            continue
        if piece.kind in (PieceKind.MULTI, PieceKind.DIRECT):
            yield from flush()
            yield from _multi_rows(piece)
            continue
        if not piece.supp_fb and not piece.supp_type:
            # No supplemental data: part of the open row change on the same object (a
            # migrated row's overwrite), else a change of its own.
            if group and group[0].obj == piece.obj:
                group.append(piece)
                continue
            yield from flush()
            group.append(piece)
            yield from flush()
            continue
        if piece.supp_first or (group and not _same_row(group[0], piece)):
            yield from flush()
        group.append(piece)
        if piece.supp_last:
            yield from flush()
    yield from flush()
