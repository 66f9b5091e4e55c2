"""Changes of index-organized tables: a 5.1 (ktub opc 10.22) and its layer-10 leaf
operation become one :class:`LeafChange` with absolute column numbers, which
:func:`~drcapture.redo.txn.pieces.pieces_of` turns into a piece like a heap row change's.
Pure; called only for objects the caller says are captured IOTs, so ordinary index
maintenance is never decoded.

Column numbers: an IOT leaf row stores the primary key columns first, in key order, then
the non-key columns; the table's ``COL$.SEGCOL#`` follows that order, so key column k is
segment column k + 1 and non-key column i is ``len(key) + 1 + i``. LogMiner's
supplemental header says the same ("segcol# in Undo starting from 1", "in Redo starting
from 4" for a three-column key: fixture Op10_35_Test); where it names a start, it is
checked, and a change whose numbers disagree is refused rather than mis-numbered.

Anything not decoded here raises :class:`~drcapture.errors.UndecodableChange`: another
leaf operation (10.18 update keydata …), an undo kind that does not fit the redo, a
key-compressed index. A captured IOT change is never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from drcommon.errors import ParseError

from drcapture.errors import UndecodableChange
from drcapture.redo.ops.common import Raw
from drcapture.redo.ops.dispatch import IOT_PARSERS, ParsedRecord
from drcapture.redo.ops.iot import UNDO_OF, LeafCode, LeafOp, LeafUndo, NonKey, parse_leaf_undo
from drcapture.redo.ops.undo import Supplemental, UndoRecord
from drcapture.redo.vectors import ChangeVector

Values = tuple[tuple[int, Raw], ...]  # (absolute 1-based column, value), as pieces hold them


@dataclass(frozen=True, slots=True)
class LeafChange:
    """One decoded IOT leaf change, images under absolute column numbers."""

    code: int  # the 10.x code of the change made
    undo_kind: int  # the 10.x code its undo applies (kdilk type)
    bdba: int  # leaf block
    slot: int  # row slot in the leaf block when the change was made
    fb: int  # flag byte of a non-key part that may go on in the overflow segment (or 0)
    supplemental: Supplemental | None
    before: Values
    after: Values


def _where(rec: ParsedRecord, undo: UndoRecord, cv: ChangeVector | None) -> dict[str, Any]:
    where: dict[str, Any] = {"rba": str(rec.record.rba), "scn": rec.record.header.scn,
                             "xid": str(undo.xid), "obj": undo.ktub.obj}
    if cv is not None:
        where["opcode"] = f"{cv.header.layer}.{cv.header.code}"
    return where


def _key(values: Iterable[Raw]) -> Values:
    return tuple((k + 1, v) for k, v in enumerate(values))


def _nonkey(nkey: int, pairs: Iterable[tuple[int, Raw]]) -> Values:
    return tuple((nkey + 1 + i, v) for i, v in pairs)


def _whole(nkey: int, part: NonKey, other: NonKey | None) -> Values:
    """A whole non-key part; when the row ends in the leaf, the columns the other image
    stores beyond this one's count are NULL here (trailing NULLs are not stored)."""
    values = list(enumerate(part.columns))
    if part.last and other is not None:
        values += [(i, None) for i in range(len(part.columns), len(other.columns))]
    return _nonkey(nkey, values)


def _check_start(start: int, expected: int, side: str, where: dict[str, Any]) -> None:
    if start and start != expected:
        raise UndecodableChange("IOT supplemental column numbers do not follow the leaf row",
                                field=f"supplemental start ({side})", expected=expected,
                                found=start, **where)


def _images(op: LeafOp, undo: LeafUndo, nkey: int) -> tuple[Values, Values, int]:
    """(before, after, non-key flag byte that may continue in the overflow)."""
    key = _key(undo.key)
    if op.code == LeafCode.INSERT:
        assert op.nonkey is not None
        return (), _key(op.key) + _nonkey(nkey, enumerate(op.nonkey.columns)), op.nonkey.fb
    if op.code == LeafCode.DELETE:
        assert undo.nonkey is not None
        return key + _nonkey(nkey, enumerate(undo.nonkey.columns)), (), undo.nonkey.fb
    if op.code == LeafCode.NONKEY:
        assert op.nonkey is not None and undo.nonkey is not None
        before = key + _whole(nkey, undo.nonkey, op.nonkey)
        after = key + _whole(nkey, op.nonkey, undo.nonkey)
        continues = op.nonkey.fb if not op.nonkey.last else undo.nonkey.fb
        return before, after, continues
    # 10.35: the listed columns; one the old leaf row did not store (at or past its
    # column count) was NULL before.
    listed = dict(undo.changed)
    old = [(i, listed.get(i)) for i, _ in op.changed if i in listed or i >= undo.ncol]
    old += [(i, v) for i, v in undo.changed if i not in dict(op.changed)]
    return key + _nonkey(nkey, sorted(old)), key + _nonkey(nkey, op.changed), 0


def leaf_change(rec: ParsedRecord, undo: UndoRecord, undo_cv: ChangeVector,
                redo_cv: ChangeVector) -> LeafChange:
    """One IOT leaf change (``undo_cv`` the 5.1, ``redo_cv`` its 10.x)."""
    where = _where(rec, undo, redo_cv)
    parser = IOT_PARSERS.get(redo_cv.header.opcode)
    if parser is None:
        raise UndecodableChange("IOT leaf operation not decoded", **where)
    try:
        leaf_undo = parse_leaf_undo(undo_cv)
        expected = UNDO_OF[LeafCode(redo_cv.header.code)]
        if leaf_undo.kind != expected:
            raise UndecodableChange("IOT undo does not fit its leaf operation",
                                    field="kdilk type", expected=int(expected),
                                    found=leaf_undo.kind)
        op = parser(redo_cv)
    except ParseError as exc:
        raise type(exc)(exc.message, **{**where, **dict(exc.where)}) from exc
    nkey = len(leaf_undo.key)
    if op.code == LeafCode.INSERT and len(op.key) != nkey:
        raise UndecodableChange("IOT insert key and its undo key differ in length",
                                expected=nkey, found=len(op.key), **where)
    supp = leaf_undo.supplemental
    if supp is not None:
        _check_start(supp.start_undo, 1, "undo", where)
        first_redo = 1 if op.code == LeafCode.INSERT else nkey + 1
        _check_start(supp.start_redo, first_redo, "redo", where)
    before, after, fb = _images(op, leaf_undo, nkey)
    return LeafChange(code=op.code, undo_kind=leaf_undo.kind, bdba=op.bdba, slot=op.slot,
                      fb=fb, supplemental=supp, before=before, after=after)


def unpaired(rec: ParsedRecord, undo: UndoRecord, undo_cv: ChangeVector) -> UndecodableChange:
    """The error for a 5.1 with IOT leaf undo (opc 10.22) on a captured IOT that has no
    leaf vector with it in its record."""
    return UndecodableChange("IOT undo without a leaf operation", **_where(rec, undo, undo_cv))


def check_overflow(rec: ParsedRecord, undo: UndoRecord, before: Values, after: Values,
                   multi: bool) -> None:
    """A layer-11 change on a captured IOT's overflow segment: its columns are numbered
    only by the supplemental header ("segcol# … starting from"); without it the
    overflow columns cannot be placed, and the change is refused (so is a multi-row op,
    which carries no such header)."""
    if multi:
        raise UndecodableChange("multi-row change on an IOT overflow segment not decoded",
                                **_where(rec, undo, None))
    supp = undo.supplemental
    needs = [(before, supp.start_undo if supp else 0, "undo"),
             (after, supp.start_redo if supp else 0, "redo")]
    for values, start, side in needs:
        if values and start <= 0:
            raise UndecodableChange(
                "change on an IOT overflow segment without supplemental column numbers",
                field=f"supplemental start ({side})", **_where(rec, undo, None))
