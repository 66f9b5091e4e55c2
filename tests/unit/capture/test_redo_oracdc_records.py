"""All 225 real records (19c, 11g, AIX big-endian) parse; concrete facts per folder."""

from __future__ import annotations

from collections import Counter

import pytest
from drcapture.redo.ops.direct import DirectLoad
from drcapture.redo.ops.dispatch import OpCounters, UnknownOp
from drcapture.redo.ops.kdo import RowCode, RowOp
from drcapture.redo.ops.lob import LobOp
from drcapture.redo.ops.undo import PartialRollback, TxBegin, UndoRecord
from drcapture.redo.xid import Xid

from tests.unit.capture.test_redo_helpers import IndexedRecord, folder_records, oracdc_index

RECORDS = oracdc_index()
# The test suite these came from reused one SCN value for these records; their own
# headers carry different SCNs, so index.json's value is not theirs.
SCN_REUSED = {
    "Op11_17_Test/001_type1_OpWrite_Be_baLlb.bin",
    "Op11_2_Test/003_advancedCompressionSingle_baInsert1.bin",
    "Op11_5_Test/011_partialRollbackSupplementalLogData_baUpdate1.bin",
}


def _opcodes(rec: IndexedRecord) -> list[str]:
    return [f"{pv.vector.header.layer}.{pv.vector.header.code}" for pv in rec.parsed().ops]


def _ops(rec: IndexedRecord, kind: type) -> list:  # type: ignore[type-arg]
    return [pv.op for pv in rec.parsed().ops if isinstance(pv.op, kind)]


def test_index_has_all_records_and_layouts() -> None:
    assert len(RECORDS) == 225
    assert Counter(r.layout for r in RECORDS) == {
        "getLinux19c": 221, "getLinux11g": 3, "getAix19c": 1}


@pytest.mark.parametrize("rec", RECORDS, ids=lambda r: r.file)
def test_every_record_parses_in_its_layout(rec: IndexedRecord) -> None:
    counters = OpCounters()
    parsed = rec.parsed(counters)
    header = parsed.record.header
    assert header.length == len(rec.data)
    assert parsed.ops, "every record holds change vectors"
    assert sum(v.size for v in parsed.record.vectors) == header.length - header.header_size
    if rec.file not in SCN_REUSED:
        assert header.scn == rec.scn
    assert not any(isinstance(pv.op, UnknownOp) and pv.vector.header.layer == 11
                   for pv in parsed.ops)


def test_opcode_census() -> None:
    counters = OpCounters()
    for rec in RECORDS:
        rec.parsed(counters)
    assert counters.decoded["5.1"] == 160
    assert counters.decoded["11.5"] == 140
    assert counters.decoded["5.6"] == 46 and counters.decoded["5.11"] == 14
    assert counters.decoded["19.1"] == 2 and counters.decoded["11.17"] == 3
    assert counters.skipped == {"10.35": 2, "10.30": 1}  # index changes: skipped by design
    assert counters.unknown == {"5.20": 6, "5.19": 3}  # audit records, counted not guessed


def test_op11_2_insert() -> None:
    rec = folder_records("Op11_2_Test")[0]
    assert _opcodes(rec)[:3] == ["5.2", "5.1", "11.2"]
    undo = _ops(rec, UndoRecord)[0]
    row = _ops(rec, RowOp)[0]
    assert undo.row_op.code == RowCode.DRP  # the undo of an insert is a delete
    assert row.code == RowCode.IRP and row.cc == len(row.columns)
    assert (row.bdba, row.slot) == (undo.row_op.bdba, undo.row_op.slot)


def test_op11_3_delete_carries_the_row_in_undo() -> None:
    rec = folder_records("Op11_3_Test")[0]
    undo = _ops(rec, UndoRecord)[0]
    assert undo.row_op.code == RowCode.IRP
    assert undo.row_op.cc == len(undo.row_op.columns) > 0
    assert _ops(rec, RowOp)[0].code == RowCode.DRP


def test_op11_5_update_with_supplemental_logging() -> None:
    rec = folder_records("Op11_5_SL_Unique_Test")[0]
    undo = _ops(rec, UndoRecord)[0]
    redo = _ops(rec, RowOp)[0]
    assert undo.row_op.code == redo.code == RowCode.URP
    # The update set column 185 to NULL and the row lost its trailing NULLs: the redo
    # lists that one column with no data; the undo restores columns 185..180.
    assert [(c.index, c.value) for c in redo.columns] == [(184, None)]
    assert [c.index for c in undo.row_op.columns] == [184, 183, 182, 181, 180, 179]
    assert undo.row_op.columns[0].value == b"CREATE"
    assert undo.supplemental is not None and undo.supplemental.op_type == 1


def test_op10_index_changes_are_skipped() -> None:
    for folder, code in (("Op10_30_Test", "10.30"), ("Op10_35_Test", "10.35")):
        assert code in _opcodes(folder_records(folder)[0])


def test_op11_17_lob_header_little_and_big_endian() -> None:
    le, be, type3 = folder_records("Op11_17_Test")
    lob_le, lob_be = _ops(le, LobOp)[0], _ops(be, LobOp)[0]
    assert be.layout == "getAix19c"
    assert lob_le.kind == lob_be.kind == 1
    assert lob_le.obj is not None and lob_be.obj is not None
    assert _ops(type3, LobOp)[0].kind == 3


def test_op19_1_direct_load_block_rows() -> None:
    table_block = _ops(folder_records("Op19_1_Test")[0], DirectLoad)[0]
    assert table_block.table_block
    assert table_block.data_obj == 75656
    assert len(table_block.rows) == 9
    assert all(r.columns for r in table_block.rows)
    index_block = _ops(folder_records("Op19_1_IdxObj16334300_Test")[0], DirectLoad)[0]
    assert not index_block.table_block and index_block.rows == ()


def test_11g_layout_records() -> None:
    lkr, lmn, urp = folder_records("Ops_LKR_URP_LMN_BindingTest")
    assert lkr.layout == "getLinux11g"
    assert lkr.parsed().record.vectors[0].header.con_id is None
    assert [op.code for op in _ops(lkr, RowOp)] == [RowCode.LKR]
    assert [op.code for op in _ops(urp, RowOp)] == [RowCode.URP]
    assert _ops(lmn, UndoRecord)[0].xid == Xid(2, 0, 5213283)


def test_partial_rollback_vectors() -> None:
    rec = folder_records("PartialRollback_Test", range(122, 123))[0]
    mark = _ops(rec, PartialRollback)[0]
    assert mark.code == 6
    assert mark.xid.same_slot(Xid(29, 11, 3241564)) and mark.xid.sqn is None
    assert mark.ktub.obj == 173272
    assert _ops(rec, RowOp)[0].code == RowCode.ORP


def test_transaction_begin() -> None:
    begins = [op for rec in RECORDS for op in _ops(rec, TxBegin) if op.xid.sqn]
    assert begins
