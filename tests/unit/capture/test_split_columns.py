"""A column longer than what is left of a block goes on in the next row piece.

Row flags say so: P — the piece's first column continues the previous piece's last; N —
the piece's last column goes on in the next piece (OpenLogReplicator's logfile-dump
legend, read for the fact). Row assembly joins the parts in row order, whatever order the
pieces are logged in (a chained insert writes its tail first), and refuses a column of
which the redo holds only some parts — never a truncated value.
"""

from __future__ import annotations

import json

from drcapture.redo.ops.common import Fragment
from drcapture.redo.ops.kdo import (
    FB_FIRST,
    FB_HEAD,
    FB_LAST,
    FB_NEXT,
    FB_PREV,
    Column,
    RowCode,
    RowOp,
)
from drcapture.redo.ops.undo import SuppType
from drcapture.redo.txn.pieces import Piece, PieceKind, split_parts
from drcapture.redo.txn.rows import assemble
from drcapture.redo.txn.state import piece_from_json, piece_to_json
from drcommon.model import Operation
from hypothesis import given
from hypothesis import strategies as st

HEAD, MIDDLE, TAIL = (0x100, 1), (0x200, 2), (0x300, 3)


def _op(code: int, fb: int, at: tuple[int, int], columns: list[bytes],
        nxt: tuple[int, int] | None) -> RowOp:
    return RowOp(code=code, bdba=at[0], slot=at[1], fb=fb, flags=0, tabn=0, cc=len(columns),
                 columns=tuple(Column(i, v) for i, v in enumerate(columns)), rows=(),
                 nrid=nxt, hrid=None, packed=None, next_field=0, ktb=None)


def _insert_piece(op: RowOp, first_col: int, scn: int, supp_fb: int) -> Piece:
    values = tuple((first_col + c.index, c.value) for c in op.columns)
    return Piece(kind=PieceKind.ROW, rba=f"0x000001.{scn:08x}.0010", scn=scn, sub_scn=0,
                 con_id=None, obj=9, data_obj=9, redo_code=RowCode.IRP, undo_code=RowCode.DRP,
                 bdba=op.bdba, slot=op.slot, fb=op.fb, supp_type=SuppType.INSERT,
                 supp_fb=supp_fb, row=HEAD, before=(), after=split_parts(values, op), supp=())


def _three_pieces(a: bytes, b: bytes, c: bytes, d: bytes, e: bytes) -> list[Piece]:
    """Columns 1..3 of a row: column 2 = a + b + c spans all three pieces, column 3 is in
    the tail; written tail first, as Oracle writes a chained insert."""
    head = _op(RowCode.IRP, FB_HEAD | FB_FIRST | FB_NEXT, HEAD, [b"\x01", a], MIDDLE)
    middle = _op(RowCode.IRP, FB_PREV | FB_NEXT, MIDDLE, [b], TAIL)
    tail = _op(RowCode.IRP, FB_LAST | FB_PREV, TAIL, [c, d + e], None)
    return [_insert_piece(tail, 2, 10, 0x08), _insert_piece(middle, 2, 11, 0),
            _insert_piece(head, 1, 12, 0x04)]


@given(st.lists(st.binary(min_size=1, max_size=40), min_size=5, max_size=5))
def test_a_column_spanning_three_pieces_is_joined_in_row_order(parts: list[bytes]) -> None:
    a, b, c, d, e = parts
    (row,) = assemble(_three_pieces(a, b, c, d, e))
    assert row.op is Operation.INSERT and row.undecoded is None
    assert row.after == {1: b"\x01", 2: a + b + c, 3: d + e}
    assert row.row == HEAD


def test_two_parts_join_without_next_piece_addresses() -> None:
    first = Fragment(b"abc", False, True, HEAD, None)
    second = Fragment(b"def", True, False, TAIL, None)
    for order in ((first, second), (second, first)):
        pieces = [_piece_with(after=((2, part),), scn=n, supp_fb=0x08 if n == 0 else 0x04)
                  for n, part in enumerate(order)]
        (row,) = assemble(pieces)
        assert row.after == {2: b"abcdef"}


def test_a_column_with_a_part_missing_is_refused() -> None:
    lone = Fragment(b"abc", False, True, HEAD, TAIL)
    (row,) = assemble([_piece_with(after=((2, lone),), scn=1, supp_fb=0x0C)])
    assert row.undecoded is not None and "column 2 spans row pieces" in row.undecoded
    assert row.after is None and row.before is None


def test_parts_survive_the_open_transaction_state() -> None:
    for piece in _three_pieces(b"a", b"b", b"c", b"d", b"e"):
        assert piece_from_json(json.loads(json.dumps(piece_to_json(piece)))) == piece


def test_only_the_flagged_columns_are_parts() -> None:
    op = _op(RowCode.IRP, FB_PREV | FB_NEXT, MIDDLE, [b"x", b"y", b"z"], TAIL)
    marked = split_parts(tuple((5 + c.index, c.value) for c in op.columns), op)
    assert marked[0][1] == Fragment(b"x", True, False, MIDDLE, TAIL)
    assert marked[1][1] == b"y"
    assert marked[2][1] == Fragment(b"z", False, True, MIDDLE, TAIL)


def _piece_with(*, after: tuple[tuple[int, object], ...], scn: int, supp_fb: int) -> Piece:
    return Piece(kind=PieceKind.ROW, rba=f"0x000001.{scn:08x}.0010", scn=scn, sub_scn=0,
                 con_id=None, obj=9, data_obj=9, redo_code=RowCode.IRP, undo_code=RowCode.DRP,
                 bdba=0x100, slot=scn, fb=0, supp_type=SuppType.INSERT, supp_fb=supp_fb,
                 row=HEAD, before=(), after=after, supp=())  # type: ignore[arg-type]
