"""Transaction assembly on real records: partial rollbacks, multi-piece row changes,
rollback, filtering, and exporting/importing open transactions."""

from __future__ import annotations

import json

from drcapture.dictionary.model import ColumnDef, Dictionary, TableDef
from drcapture.redo.txn.assembler import (
    AssemblerOptions,
    CommittedTransaction,
    TransactionAssembler,
)
from drcapture.redo.txn.changes import rowid
from drcapture.redo.xid import Xid
from drcommon.model import Operation

from tests.unit.capture.test_redo_helpers import folder_records, hex_assembler

COMMIT_RBA = "0x000001.00000002.0010"


def _run(folder: str, numbers: range | None = None,
         asm: TransactionAssembler | None = None) -> list[CommittedTransaction]:
    """Feed a folder's records, then commit every transaction still open."""
    asm = asm or hex_assembler()
    for rec in folder_records(folder, numbers):
        assert asm.feed(rec.parsed()) == []
    out = []
    for txn in asm.open_transactions():
        committed = asm.commit(txn.xid, scn=1, rba=COMMIT_RBA)
        if committed is not None:
            out.append(committed)
    return out


def test_rowid_encoding() -> None:
    assert rowid(173272, 0x060186CB, 4) == "AAAqTYAAYAAAYbLAAE"


def test_partial_rollback_removes_every_undone_change() -> None:
    asm = hex_assembler()
    assert _run("PartialRollback_Test", range(0, 120), asm) == []
    assert asm.counters["pieces"] == 66
    assert asm.counters["pieces_rolled_back"] == 54
    assert asm.counters["rollback_unmatched"] == 0


def test_partial_rollback_leaves_what_was_not_rolled_back() -> None:
    # Without the last three rollback records (117-119) the first row's changes survive:
    # records 0-1 (update, supplemental first..last) and 2-3 (LogMiner marker + update).
    committed = _run("PartialRollback_Test", range(0, 117))
    assert len(committed) == 1
    changes = committed[0].changes
    records = folder_records("PartialRollback_Test", range(0, 4))
    assert [c.op for c in changes] == [Operation.UPDATE, Operation.UPDATE]
    assert [c.position.rba for c in changes if c.position] == [
        str(records[0].rba), str(records[2].rba)]
    assert {c.row_id for c in changes} == {rowid(174043, 0x171841F7, 11)}


def test_partial_rollback_of_a_migrated_row_insert() -> None:
    asm = hex_assembler()
    assert _run("PartialRollback_Test", range(120, 124), asm) == []
    assert asm.counters["pieces_rolled_back"] == 2


def test_full_rollback_discards() -> None:
    asm = hex_assembler()
    for rec in folder_records("Ops_IRP_DRP_BindingTest"):
        asm.feed(rec.parsed())
    (txn,) = asm.open_transactions()
    asm.rollback(txn.xid)
    assert asm.open_transactions() == []
    assert asm.commit(txn.xid, scn=1, rba=COMMIT_RBA) is None


def test_row_migration_is_one_update_per_row() -> None:
    (txn,) = _run("Ops_IRP_DRP_BindingTest")
    assert txn.xid == Xid(0x56, 0x7, 0x336D1E)
    assert [(c.op, c.row_id) for c in txn.changes] == [
        (Operation.UPDATE, "AAAqTYAAZAAAdrzAAa"),
        (Operation.UPDATE, "AAAqTYAAYAAAYbLAAE"),
    ]
    migrated = txn.changes[1]
    assert migrated.table == "OBJ# 173272" and migrated.owner == "UNKNOWN"
    assert migrated.before is not None and migrated.after is not None
    assert migrated.before["COL 1"] == migrated.after["COL 1"] == "C3160C61"


def test_insert_into_a_new_block_with_overwrite_of_the_head() -> None:
    first, second = _run("Ops_IRP_ORP_BindingTest")
    assert [c.op for c in first.changes] == [Operation.UPDATE]
    assert [(c.op, c.row_id) for c in second.changes] == [
        (Operation.UPDATE, "AAATXtAANAAAACXAAC")]
    # The supplemental log carries the row's columns COL 1..COL 7.
    assert second.changes[0].before is not None
    assert sorted(second.changes[0].before) == [f"COL {n}" for n in range(1, 8)]


def test_deletes_with_logminer_markers() -> None:
    committed = _run("Ops_DRP_LMN_BindingTest")
    by_xid = {str(t.xid): t for t in committed}
    txn = by_xid["2.27.868033"]
    assert [(c.op, c.row_id) for c in txn.changes] == [
        (Operation.DELETE, "AAAsu2AAKAACyRlAAE"),
        (Operation.DELETE, "AAAsu2AAKAACyzKAAL"),
        (Operation.DELETE, "AAAsu2AAKAACyzKAAM"),
    ]
    before = txn.changes[0].before
    assert before is not None and txn.changes[0].after is None
    assert before["COL 1"] == "C60B0101011051"
    assert before["COL 2"] == "C102"
    assert before["COL 20"] is None
    assert before["COL 36"] == "80"


def test_multi_piece_updates_become_one_change_each() -> None:
    for folder in ("Ops_URP_LMN_BindingTest", "Ops_URP_LMN_BindingLifoTest",
                   "Ops_URP_IRP_DRP_CFA_BindingTest", "Ops_URP_IRP_ORP_BindingTest",
                   "Ops_LKR_URP_LMN_BindingTest"):
        committed = _run(folder)
        assert committed, folder
        for txn in committed:
            for change in txn.changes:
                assert change.op is Operation.UPDATE, folder
                assert change.row_id is not None
                assert change.before and change.after


def test_chained_row_update_keeps_absolute_column_numbers() -> None:
    # Update of column 46 of a 99-column row plus a LogMiner marker carrying columns
    # 93 and 99: the columns land at their absolute positions.
    txn = next(t for t in _run("Ops_URP_LMN_BindingTest", range(0, 4))
               if t.xid == Xid(49, 20, 14807068))
    first = txn.changes[0]
    assert first.before is not None and first.after is not None
    assert (first.before["COL 46"], first.after["COL 46"]) == ("58", "59")
    assert first.after["COL 99"] == "3E6466"


def test_filter_and_unknown_objects_are_skipped_before_decoding() -> None:
    asm = hex_assembler(include_unknown=False)
    assert _run("Ops_IRP_DRP_BindingTest", asm=asm) == []
    assert asm.counters["skipped_unknown_object"] == 4

    table = TableDef(obj=173272, owner="APPS", name="T", columns=(ColumnDef(1, 1, "ID", 2),))
    decoded: list[bytes | None] = []

    def decoder(raw: bytes | None, column: ColumnDef, charsets: object) -> str | None:
        decoded.append(raw)
        return None if raw is None else raw.hex()

    dictionary = Dictionary(tables={173272: table})
    skip = TransactionAssembler(dictionary, AssemblerOptions(
        thread=1, wanted=lambda owner, name: owner != "APPS", decoder=decoder))
    assert _run("Ops_IRP_DRP_BindingTest", asm=skip) == []
    assert skip.counters["skipped_filtered"] == 4 and decoded == []

    keep = TransactionAssembler(dictionary, AssemblerOptions(thread=1, decoder=decoder))
    (txn,) = _run("Ops_IRP_DRP_BindingTest", asm=keep)
    assert txn.changes[1].after is not None
    assert txn.changes[1].after["ID"] == "c3160c61"
    assert txn.changes[1].after["COL 2"] == "C2033E"  # not in the dictionary: hex


def test_open_transactions_survive_export_and_import() -> None:
    asm = hex_assembler()
    for rec in folder_records("Ops_IRP_DRP_BindingTest"):
        asm.feed(rec.parsed())
    state = json.loads(json.dumps(asm.export_state()))
    assert state["version"] == 2
    (item,) = state["transactions"]
    assert item["xid"] == "86.7.3370270" and len(item["pieces"]) == 4

    restored = hex_assembler()
    restored.import_state(state)
    (txn,) = restored.open_transactions()
    assert txn.start_rba == "0x0042b3.001edd23.011c"
    expected = asm.commit(txn.xid, scn=5, rba=COMMIT_RBA)
    assert restored.commit(txn.xid, scn=5, rba=COMMIT_RBA) == expected


def test_a_chained_row_insert_has_the_head_pieces_rowid() -> None:
    # Oracle writes the tail piece (slot 0, flags L) first and the head (slot 1, H-F)
    # after it; both name slot 0 in their supplemental row address. The row is the head's.
    (txn,) = _run("Op11_2_Test", range(1, 3))
    (change,) = txn.changes
    assert (change.op, change.row_id) == (Operation.INSERT, "AAApsfAAQAAAI2ZAAB")
    assert change.after is not None and len(change.after) == 346
    assert change.position is not None and change.position.rba == "0x00434e.00f8af9d.011c"
