"""Nothing captured is dropped in silence.

For every layer the reader knows, a committed change of a captured table that capture
cannot decode stops capture with an error naming table, XID, SCN and RBA — or, when the
operator chose ``publish_marked``, is published marked ``undecoded`` — while the same
change of a table nobody captures is counted and skipped. The changes are real Oracle
records (oracdc fixtures) with one byte changed to make them undecodable.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import pytest
from drcapture.dictionary.model import ColumnDef, Dictionary, TableDef
from drcapture.errors import UndecodableChange
from drcapture.redo import layout as L
from drcapture.redo.ops.undo import KTUB_FLAGS, KTUB_OPC_CODE, KTUB_OPC_LAYER
from drcapture.redo.txn.assembler import (
    AssemblerOptions,
    CommittedTransaction,
    TransactionAssembler,
)
from drcapture.values.decode import decode_column
from drcommon.model import Operation

from tests.unit.capture.test_redo_helpers import IndexedRecord, folder_records

UPDATE = "Op11_5_Test/000_singleRedoRecord_baUpdate1.bin"  # 5.2 5.1 11.5 5.20, obj 75585
IOT = "Op10_30_Test/000_test_baUpdate.bin"  # 5.1 (undo of 10.22) 10.30, obj 80707
COMMIT_RBA = "0x000001.00000002.0010"


def _record(name: str) -> IndexedRecord:
    folder = name.split("/")[0]
    return next(r for r in folder_records(folder) if r.file == name)


def _patch(rec: IndexedRecord, layer: int, code: int,
           change: Callable[[bytearray, int, int], None]) -> IndexedRecord:
    """``rec`` with ``change(data, vector_offset, fields_at)`` applied to its first vector
    of ``layer.code``."""
    slot = next(s for s in rec.parsed().record.slots if (s.layer, s.code) == (layer, code))
    data = bytearray(rec.data)
    change(data, slot.offset, slot.fields_at)
    return replace(rec, data=bytes(data))


def _unknown_row_code(data: bytearray, vector: int, _: int) -> None:
    data[vector + L.CV_CODE] = 19  # 11.19: a row operation this build does not decode


def _encrypted(data: bytearray, vector: int, _: int) -> None:
    data[vector + L.CV_TYPE] |= L.CV_TYPE_ENCRYPTED


def _multi_block(data: bytearray, vector: int, fields_at: int) -> None:
    ktub = fields_at + 20  # field 0 (ktudb) is 20 bytes here; field 1 is the ktub
    data[ktub + KTUB_FLAGS] |= 0x01  # the head of a multi-block undo record


def _undo_of(layer: int, code: int) -> Callable[[bytearray, int, int], None]:
    def change(data: bytearray, vector: int, fields_at: int) -> None:
        data[fields_at + 20 + KTUB_OPC_LAYER] = layer
        data[fields_at + 20 + KTUB_OPC_CODE] = code
    return change


CASES = {
    # layer 11: a row operation without a decoder
    "11.19 row op": (UPDATE, (11, 5), _unknown_row_code, "row operation 11.19 is not decoded"),
    # layer 11: the data is encrypted (TDE tablespace encryption)
    "encrypted 11.5": (UPDATE, (11, 5), _encrypted, "encrypted (TDE)"),
    # layer 5: the undo record spans undo blocks
    "multi-block undo": (UPDATE, (5, 1), _multi_block, "multi-block undo record"),
    # undo of an operation of a layer without a decoder (19, direct loads, has none)
    "undo of 19.1": (UPDATE, (5, 1), _undo_of(19, 1), "undo of operation 19.1"),
    # layer 10 on a table the dictionary does not call index-organized
    "layer 10 on a heap table": (IOT, (5, 1), lambda *_: None, "undo of operation 10.22"),
}


def _dictionary(obj: int) -> Dictionary:
    columns = tuple(ColumnDef(n, n, f"C{n}", 23) for n in range(1, 9))
    return Dictionary(tables={obj: TableDef(obj=obj, owner="HIS", name="DOCS", columns=columns)})


def _feed(rec: IndexedRecord, *, captured: bool,
          policy: str = "stop") -> tuple[TransactionAssembler, CommittedTransaction | None]:
    obj = 80707 if rec.file == IOT else 75585
    asm = TransactionAssembler(
        _dictionary(obj),
        AssemblerOptions(thread=1, decoder=decode_column, on_undecodable=policy,
                         wanted=lambda owner, name: captured))
    assert asm.feed(rec.parsed()) == []
    (txn,) = asm.open_transactions() or [None]
    if txn is None:
        return asm, None
    return asm, asm.commit(txn.xid, scn=rec.scn + 1, rba=COMMIT_RBA)


@pytest.mark.parametrize("case", list(CASES))
def test_an_undecodable_change_of_a_captured_table_stops_capture(case: str) -> None:
    name, opcode, change, reason = CASES[case]
    rec = _patch(_record(name), *opcode, change)
    with pytest.raises(UndecodableChange, match=re.escape(reason)) as caught:
        _feed(rec, captured=True)
    where = caught.value.where
    assert where["table"] == "HIS.DOCS"
    assert where["rba"] == str(rec.rba) and where["scn"] == rec.scn
    assert where["xid"] and where["commit_rba"] == COMMIT_RBA


@pytest.mark.parametrize("case", list(CASES))
def test_the_operator_may_publish_it_marked(case: str) -> None:
    name, opcode, change, reason = CASES[case]
    rec = _patch(_record(name), *opcode, change)
    asm, committed = _feed(rec, captured=True, policy="publish_marked")
    assert committed is not None
    (marked,) = committed.changes
    assert marked.undecoded is not None and reason in marked.undecoded
    assert (marked.owner, marked.table) == ("HIS", "DOCS")
    assert marked.before is None and marked.after is None
    assert marked.position is not None and marked.position.rba == str(rec.rba)
    assert marked.op in (Operation.UPDATE, Operation.UNKNOWN)
    assert asm.counters["undecoded_changes"] == 1


@pytest.mark.parametrize("case", list(CASES))
def test_the_same_change_of_a_table_nobody_captures_is_counted_and_skipped(case: str) -> None:
    name, opcode, change, _ = CASES[case]
    rec = _patch(_record(name), *opcode, change)
    asm, committed = _feed(rec, captured=False)
    assert committed is None
    assert asm.counters["skipped_filtered"] >= 1


def test_an_encrypted_undo_record_stops_whatever_its_table() -> None:
    """Undo encrypted at rest names no table: no filter can vouch for it."""
    rec = _patch(_record(UPDATE), 5, 1, _encrypted)
    for captured in (True, False):
        with pytest.raises(UndecodableChange, match="encrypted undo record") as caught:
            _feed(rec, captured=captured)
        assert caught.value.where["rba"] == str(rec.rba)


def test_a_rolled_back_undecodable_change_is_forgotten() -> None:
    rec = _patch(_record(UPDATE), 11, 5, _unknown_row_code)
    asm = TransactionAssembler(_dictionary(75585),
                               AssemblerOptions(thread=1, decoder=decode_column))
    asm.feed(rec.parsed())
    (txn,) = asm.open_transactions()
    asm.rollback(txn.xid)
    assert asm.open_transactions() == [] and asm.counters["rolled_back"] == 1


def test_the_unpatched_records_decode() -> None:
    """The cases above fail only because of their patch."""
    _, committed = _feed(_record(UPDATE), captured=True)
    assert committed is not None and [c.op for c in committed.changes] == [Operation.UPDATE]
