"""End-to-end on real Oracle 23 Free archived logs: headers, and the one committed insert."""

from __future__ import annotations

from datetime import UTC, datetime

from drcapture.dictionary.olr import load_olr_checkpoint_file
from drcapture.redo.blocks import FileSource, RedoFile
from drcapture.redo.txn.assembler import AssemblerOptions, TransactionAssembler
from drcapture.redo.xid import Xid
from drcommon.model import Operation

from tests.unit.capture.test_redo_helpers import FREE23, FREE23_LOGS, file_records


def test_headers_of_both_logs() -> None:
    first, second = (RedoFile(FileSource(p)) for p in FREE23_LOGS)
    for redo, seq in ((first, 15), (second, 16)):
        assert redo.block_size == 512
        assert redo.header.thread == 1
        assert redo.header.sequence == seq
        assert redo.header.resetlogs_id == 1224959854
        assert redo.header.resetlogs_scn == 2061806
        assert redo.header.activation_id == 1496992686
        assert redo.header.db_name == "FREE"
        assert redo.header.version == "23.6.0.0"
        assert not redo.endian.big
    assert first.file_header.block_count == 597
    assert (first.header.first_scn, first.header.next_scn) == (0x229606, 0x229A45)
    assert second.header.first_scn == first.header.next_scn
    assert first.header.description.startswith("T 0001, S 0000000015")


def test_the_one_insert_for_olr_test() -> None:
    dictionary = load_olr_checkpoint_file(FREE23 / "olr-checkpoint-2266634.json")
    header = RedoFile(FileSource(FREE23_LOGS[0])).header
    asm = TransactionAssembler(dictionary, AssemblerOptions(
        thread=header.thread, db_id=header.db_id, db_name=header.db_name,
        wanted=lambda owner, table: owner == "OLR_TEST"))
    committed = [t for path in FREE23_LOGS for rec in file_records(path) for t in asm.feed(rec)]
    assert len(committed) == 1
    txn = committed[0]
    assert txn.xid == Xid(10, 12, 572)
    assert str(txn.xid) == "10.12.572"
    assert txn.xid.logminer == "0A000C003C020000"
    assert txn.commit_scn == 2267707
    assert txn.commit_ts == datetime.fromtimestamp(1772847880, UTC)
    assert len(txn.changes) == 1
    change = txn.changes[0]
    assert change.op is Operation.INSERT
    assert (change.owner, change.table, change.obj) == ("OLR_TEST", "TEST_CDC", 72726)
    assert change.pk == ("ID",)
    assert change.before is None
    assert change.after == {"ID": "1", "NAME": "hello world"}
    assert change.columns["NAME"].type == "VARCHAR2"
    assert change.position is not None
    assert change.position.con_id == 3
    assert change.position.sequence == 15
    assert change.position.rba == "0x00000f.00000244.0168"
    info = txn.info()
    assert info.schemas == ("OLR_TEST",)
    # Everything else in these logs is the database's own work: filtered, not decoded.
    assert asm.counters["skipped_filtered"] > 0
