"""Row assembly does not depend on the order pieces arrive in.

A transaction's records can lie in the log out of the order they were made in (private
redo strands are written out later, with the SCNs the changes got when they were made).
The pieces of one logical row change are grouped in redo order (SCN, sub-SCN), so every
arrival order gives the same row changes — in memory and spilled to disk alike.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from drcapture.dictionary.model import Dictionary
from drcapture.redo.ops.kdo import FB_FIRST, FB_HEAD, FB_LAST, RowCode
from drcapture.redo.ops.undo import SuppType
from drcapture.redo.txn.assembler import AssemblerOptions, TransactionAssembler
from drcapture.redo.txn.pieces import Piece, PieceKind
from drcapture.redo.txn.store import ChangeStore, MemoryStore
from drcapture.redo.xid import Xid
from drcapture.spill import SpillingStore
from drcommon.model import Operation, RowChange
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.capture.test_redo_helpers import folder_records, hex_assembler

XID = Xid(3, 4, 5)
SUPP_F, SUPP_L = 0x08, 0x04
_OPS = {SuppType.INSERT: (RowCode.IRP, RowCode.DRP), SuppType.UPDATE: (RowCode.URP, RowCode.URP),
        SuppType.DELETE: (RowCode.DRP, RowCode.IRP)}


def _row_change(index: int, supp_type: SuppType, pieces: int, first_scn: int) -> list[Piece]:
    """The pieces of one logical row change of object 70 + index % 3: a head piece and
    ``pieces - 1`` more, each with its own columns, supplemental first/last flags."""
    redo, undo = _OPS[supp_type]
    head = (0x01000000 + index, 1)
    out = []
    for k in range(pieces):
        columns = tuple((10 * k + c, bytes([index, k, c])) for c in range(1, 4))
        supp_fb = (SUPP_F if k == 0 else 0) | (SUPP_L if k == pieces - 1 else 0)
        fb = (FB_HEAD | FB_FIRST if k == 0 else 0) | (FB_LAST if k == pieces - 1 else 0)
        out.append(Piece(
            kind=PieceKind.ROW, rba=f"0x000001.{first_scn + k:08x}.0010", scn=first_scn + k,
            sub_scn=k % 2, con_id=None, obj=70 + index % 3, data_obj=70 + index % 3,
            redo_code=redo, undo_code=undo, bdba=head[0] if k == 0 else 0x02000000 + k,
            slot=head[1] if k == 0 else k, fb=fb if redo != RowCode.DRP else 0,
            supp_type=supp_type, supp_fb=supp_fb, row=head,
            before=() if supp_type is SuppType.INSERT else columns,
            after=() if supp_type is SuppType.DELETE else columns, supp=((1, b"\x01"),),
        ))  # fmt: skip
    return out


@st.composite
def transactions(draw: st.DrawFn) -> list[Piece]:
    """Random multi-piece row changes, in redo order (SCNs increase)."""
    kinds = draw(st.lists(st.tuples(st.sampled_from(list(_OPS)), st.integers(1, 4)),
                          min_size=1, max_size=6))
    pieces: list[Piece] = []
    scn = 1000
    for index, (supp_type, count) in enumerate(kinds):
        pieces.extend(_row_change(index, supp_type, count, scn))
        scn += count + draw(st.integers(0, 3))
    return pieces


def _commit(pieces: list[Piece], store: ChangeStore) -> tuple[RowChange, ...]:
    asm = TransactionAssembler(Dictionary(), AssemblerOptions(thread=1, include_unknown=True),
                               store=store)
    for piece in pieces:
        asm._add(XID, piece)
    committed = asm.commit(XID, scn=9999, rba="0x000002.00000002.0010")
    assert committed is not None
    return committed.changes


@settings(max_examples=150, deadline=None)
@given(transactions(), st.data())
def test_any_arrival_order_gives_the_same_row_changes(pieces: list[Piece],
                                                      data: st.DataObject) -> None:
    expected = _commit(pieces, MemoryStore())
    groups = sum(1 for p in pieces if p.supp_fb & SUPP_F)
    assert len(expected) == groups  # one logical change in, one row change out
    for change, first in zip(expected, [p for p in pieces if p.supp_fb & SUPP_F], strict=True):
        assert change.position is not None and change.position.rba == first.rba
        assert change.op is {SuppType.INSERT: Operation.INSERT, SuppType.UPDATE:
                             Operation.UPDATE, SuppType.DELETE: Operation.DELETE}[
                                 SuppType(first.supp_type)]
    arrived = data.draw(st.permutations(pieces))
    assert _commit(arrived, MemoryStore()) == expected


@settings(max_examples=40, deadline=None)
@given(transactions(), st.data(), st.sampled_from([0, 2000]))
def test_a_spilled_transaction_is_read_back_in_redo_order(
        pieces: list[Piece], data: st.DataObject, threshold: int) -> None:
    expected = _commit(pieces, MemoryStore())
    arrived = data.draw(st.permutations(pieces))
    with _spill_dir() as directory:
        assert _commit(arrived, SpillingStore(directory, threshold)) == expected


class _spill_dir:
    """A fresh private directory per example (hypothesis reuses a test's tmp_path)."""

    def __enter__(self) -> Path:
        import tempfile

        self._tmp = tempfile.TemporaryDirectory(prefix="spill-")
        return Path(self._tmp.name)

    def __exit__(self, *exc: object) -> None:
        self._tmp.cleanup()


def test_real_private_strand_records_in_every_arrival_order() -> None:
    """Ops_URP_LMN_BindingLifo: six records of three updates of one row; the last piece of
    the first update (SCN …3633 sub-SCN 2) lies after the other two in the log. Every one
    of the 720 arrival orders gives the three updates, each from its own first record."""
    records = [r.parsed() for r in folder_records("Ops_URP_LMN_BindingLifoTest")]
    firsts = [str(folder_records("Ops_URP_LMN_BindingLifoTest")[i].rba) for i in (0, 1, 3)]
    results: list[tuple[RowChange, ...]] = []
    for order in itertools.permutations(records):
        asm = hex_assembler()
        for record in order:
            asm.feed(record)
        (txn,) = asm.open_transactions()
        committed = asm.commit(txn.xid, scn=1, rba="0x000001.00000002.0010")
        assert committed is not None
        changes = committed.changes
        assert [c.position.rba for c in changes if c.position] == firsts
        assert {c.row_id for c in changes} == {"AAAqfbABeAADfqrAAD"}
        results.append(changes)
    assert all(r == results[0] for r in results)
    _assert_chained(results[0], ("COL 158", "COL 263", "COL 298"), final=(
        "787D0B1D09242F", "4157414954494E475F5348495050494E47", "C107"))


def _assert_chained(changes: tuple[RowChange, ...], columns: tuple[str, ...],
                    final: tuple[object, ...]) -> None:
    """Successive updates of one row agree: each one's before image of ``columns`` is the
    previous one's after image, and the last one leaves ``final``."""
    state: dict[str, object] = {}
    for change in changes:
        assert change.before is not None and change.after is not None
        for column in columns:
            if column in state:
                assert change.before[column] == state[column], (change.position, column)
            state[column] = change.after[column]
    assert tuple(state[c] for c in columns) == final


def test_real_updates_logged_out_of_scn_order_come_out_in_scn_order() -> None:
    """Op11_5 MaterialTransactionsReverse: three updates of one row whose records lie in
    the log newest first; they come out oldest first, each before image the previous
    after image."""
    asm = hex_assembler()
    for record in folder_records("Op11_5_Test", range(8, 11)):
        asm.feed(record.parsed())
    (txn,) = asm.open_transactions()
    committed = asm.commit(txn.xid, scn=1, rba="0x000001.00000002.0010")
    assert committed is not None
    scns = [c.position.scn for c in committed.changes if c.position]
    assert scns == sorted(scns) and len(scns) == 3
    changed = sorted({k for c in committed.changes for k in (c.after or {})
                      if (c.before or {}).get(k) != (c.after or {}).get(k)})
    last = committed.changes[-1].after
    assert last is not None
    _assert_chained(committed.changes, tuple(changed), tuple(last[c] for c in changed))
