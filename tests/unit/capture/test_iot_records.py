"""Index-organized tables on real Oracle redo: the three IOT updates of oracdc's
``Op10_30_Test`` and ``Op10_35_Test`` (19c, TEST_IOT_33), decoded to exact keys and
values; layer 10 of anything that is not a captured IOT stays skipped and counted."""

from __future__ import annotations

from dataclasses import replace

import pytest
from drcapture.dictionary.model import ColumnDef, Dictionary, IotDef, OracleType, TableDef
from drcapture.errors import UndecodableChange
from drcapture.redo.binary import LITTLE
from drcapture.redo.ops.dispatch import (
    IOT_PARSERS,
    OpCounters,
    ParsedRecord,
    SkippedOp,
    decode_record,
)
from drcapture.redo.ops.iot import LeafCode, UndoKind, parse_leaf_op, parse_leaf_undo
from drcapture.redo.records import RawRecord, Rba, RecordLayout, parse_record
from drcapture.redo.txn.assembler import (
    AssemblerOptions,
    CommittedTransaction,
    TransactionAssembler,
)
from drcapture.redo.xid import Xid
from drcapture.synth.writer_ops import Txn, Uba, partial_rollback_vector
from drcapture.synth.writer_records import (
    PLATFORMS,
    Packer,
    RecordSpec,
    VectorSpec,
    encode_record,
)
from drcommon.errors import ConfigError
from drcommon.model import Operation

from tests.unit.capture.test_redo_helpers import IndexedRecord, folder_records

TABLE_OBJ = 80706  # not in the redo: the IOT's own object number (no segment)
INDEX_OBJ = 80707  # what the 5.1 ktub and the 10.x vectors name: the IOT's top index


def _column(no: int, name: str, type_code: int) -> ColumnDef:
    return ColumnDef(col_no=no, seg_col=no, name=name, type_code=type_code,
                     charset_form=1 if type_code == OracleType.VARCHAR2 else 0)


# Names and key from the statements in oracdc's tests (update TEST_IOT_33 set descr1=…
# where id=3 and name1='name1-03' and name2='name22-03'); the leaf key holds three columns.
IOT_33 = TableDef(
    obj=TABLE_OBJ, owner="TEST", name="TEST_IOT_33",
    columns=(_column(1, "ID", OracleType.NUMBER), _column(2, "NAME1", OracleType.VARCHAR2),
             _column(3, "NAME2", OracleType.VARCHAR2),
             *(_column(3 + k, f"DESCR{k}", OracleType.VARCHAR2) for k in range(1, 5))),
    pk=("ID", "NAME1", "NAME2"), iot=IotDef(index_obj=INDEX_OBJ))


def _dictionary(table: TableDef = IOT_33) -> Dictionary:
    d = Dictionary(tables={table.obj: table})
    d.add_iot_segments()
    return d


def _records() -> list[IndexedRecord]:
    """In redo order: 10.35 (id=2) and 10.30 (id=3) of transaction 2.4.2310, then the
    10.35 of 2.22.2314 (id=3 again) in the next log."""
    lcu1, lcu2 = folder_records("Op10_35_Test")
    (lnu,) = folder_records("Op10_30_Test")
    return [lcu1, lnu, lcu2]


def _run(dictionary: Dictionary, **options: object) -> tuple[list[CommittedTransaction],
                                                           TransactionAssembler]:
    asm = TransactionAssembler(dictionary, AssemblerOptions(thread=1, **options))  # type: ignore[arg-type]
    for rec in _records():
        assert asm.feed(rec.parsed()) == []
    done = []
    for xid, scn, rba in ((Xid(2, 4, 0x906), 0x788B61, "0x000042.00055ada.0010"),
                          (Xid(2, 22, 0x90A), 0x78D306, "0x000043.0000226d.0010")):
        tx = asm.commit(xid, scn=scn, rba=rba)
        if tx is not None:
            done.append(tx)
    return done, asm


def _key(id_: str, n: str) -> dict[str, str]:
    return {"ID": id_, "NAME1": f"name1-{n}", "NAME2": f"name22-{n}"}


def _descr(n: str, suffix: str) -> list[str]:
    return [f"descr1-{n}{suffix}", f"descr22-{n}{suffix}", f"descr333-{n}{suffix}",
            f"descr4444-{n}{suffix}"]


def _named(values: list[str | None]) -> dict[str, str | None]:
    return {f"DESCR{k}": v for k, v in enumerate(values, 1)}


def test_the_three_iot_updates_decode_to_their_keys_and_values() -> None:
    committed, asm = _run(_dictionary())
    assert [len(t.changes) for t in committed] == [2, 1]
    changes = [c for t in committed for c in t.changes]
    assert [c.position.rba for c in changes if c.position] == [
        "0x000042.00055ad8.00fc", "0x000042.00055ad9.009c", "0x000043.0000226c.0110"]
    for change in changes:
        assert (change.op, change.owner, change.table, change.obj) == (
            Operation.UPDATE, "TEST", "TEST_IOT_33", TABLE_OBJ)
        assert change.row_id is None  # IOT rows have logical rowids only
        assert change.pk == ("ID", "NAME1", "NAME2")
    lcu1, lnu, lcu2 = changes
    # 10.35: the old row stored DESCR1..3 (1 and 2 NULL); DESCR4 was not stored (NULL),
    # which supplemental logging says too.
    assert lcu1.before == {**_key("2", "02"), **_named([None, None, "descr333-02", None])}
    assert lcu1.after == {**_key("2", "02"), **_named(_descr("02", "-U"))}
    # 10.30: the whole non-key part replaced; the old one stored no column.
    assert lnu.before == {**_key("3", "03"), **_named([None] * 4)}
    assert lnu.after == {**_key("3", "03"), **_named(_descr("03", "-U"))}
    # 10.35 again on id=3: DESCR4 is not changed, supplemental logging carries it.
    new = ["descr1-03-UU", "descr22-03-UUU", "descr333-03-UUUU", "descr4444-03-U"]
    assert lcu2.before == {**_key("3", "03"), **_named(_descr("03", "-U"))}
    assert lcu2.after == {**_key("3", "03"), **_named(new)}
    assert asm.counters["pieces"] == 3


def test_iot_leaf_fields_as_read() -> None:
    lcu1, lnu, lcu2 = (r.parsed() for r in _records())
    undo = parse_leaf_undo(lcu1.ops[0].vector)
    assert (undo.kind, undo.flags, undo.bdba, undo.ncol) == (UndoKind.COLUMNS, 0x95, 0x963, 3)
    assert undo.key == (b"\xc1\x03", b"name1-02", b"name22-02")
    assert undo.changed == ((0, None), (1, None), (2, b"descr333-02"))
    assert undo.supplemental is not None
    assert (undo.supplemental.start_undo, undo.supplemental.start_redo) == (1, 4)
    assert undo.supplemental.columns == ((7, None),)
    op = parse_leaf_op(lcu1.ops[1].vector)
    assert (op.code, op.bdba, op.slot, op.ncol) == (LeafCode.COLUMNS, 0x963, 1, 4)
    whole = parse_leaf_op(lnu.ops[1].vector)
    assert whole.nonkey is not None and whole.nonkey.fb == 0x2C and whole.nonkey.last
    assert parse_leaf_undo(lnu.ops[0].vector).nonkey.columns == ()  # type: ignore[union-attr]
    assert parse_leaf_undo(lcu2.ops[0].vector).flags == 0x91
    assert set(IOT_PARSERS) == {(10, c) for c in LeafCode}


def test_layer_10_stays_skipped_in_record_decoding() -> None:
    counters = OpCounters()
    for rec in _records():
        ops = rec.parsed(counters).ops
        assert isinstance(ops[1].op, SkippedOp) and ops[1].op.reason == "index change"
    assert counters.skipped == {"10.35": 2, "10.30": 1}


@pytest.mark.parametrize("case", ["unknown", "filtered", "heap"])
def test_index_changes_of_anything_but_a_captured_iot_stay_skipped(case: str) -> None:
    """Unknown and filtered objects are passed over; a captured table the leaf changes
    name is refused (see the heap case)."""
    if case == "unknown":  # obj 80707 is an index the dictionary does not know
        d, options = Dictionary(), {"include_unknown": True}
    elif case == "filtered":  # the IOT exists but is not captured
        d, options = _dictionary(), {"wanted": lambda owner, name: name != "TEST_IOT_33"}
    else:  # a captured heap table answers to the object: the dictionary must be wrong (an
        # IOT it does not know as one), so the leaf changes are refused, not passed over
        heap = replace(IOT_33, obj=INDEX_OBJ, data_obj=INDEX_OBJ, iot=None)
        with pytest.raises(UndecodableChange, match=r"undo of operation 10\.22"):
            _run(Dictionary(tables={INDEX_OBJ: heap}))
        return
    committed, asm = _run(d, **options)
    assert committed == []
    assert asm.counters["pieces"] == 0
    assert asm.counters["empty_commits"] == 2


def test_the_triage_passes_an_uncaptured_iot_over_without_decoding() -> None:
    asm = TransactionAssembler(_dictionary(), AssemblerOptions(
        thread=1, wanted=lambda owner, name: False))
    for rec in _records():
        parsed = ParsedRecord(parse_record(RawRecord(rec.rba, rec.data), rec.record_layout()))
        asm.feed(parsed)
        assert parsed._ops is None  # never decoded


def _with_code(rec: IndexedRecord, layer: int, code: int) -> IndexedRecord:
    """The record with the opcode of its layer-``layer`` vector changed to ``code``."""
    parsed = rec.parsed()
    data = bytearray(rec.data)
    for pv in parsed.ops:
        if pv.vector.header.layer == layer:
            data[pv.vector.offset + 1] = code
    return replace(rec, data=bytes(data))


def _one(rec: IndexedRecord, dictionary: Dictionary | None = None) -> None:
    """Feed ``rec`` and commit its transaction (an undecodable change stops there)."""
    asm = TransactionAssembler(dictionary or _dictionary(), AssemblerOptions(thread=1))
    asm.feed(rec.parsed())
    for txn in asm.open_transactions():
        asm.commit(txn.xid, scn=rec.scn + 1, rba="0x000042.00055ada.0010")


def test_an_unknown_leaf_operation_on_a_captured_iot_is_refused() -> None:
    lcu1 = _records()[0]
    with pytest.raises(UndecodableChange) as err:
        _one(_with_code(lcu1, 10, 18))  # 10.18 update keydata: not decoded
    assert "opcode=10.18" in str(err.value) and f"obj={INDEX_OBJ}" in str(err.value)
    assert err.value.where["rba"] == "0x000042.00055ad8.00fc"
    assert err.value.where["table"] == "TEST.TEST_IOT_33"


def test_an_undo_that_does_not_fit_its_leaf_operation_is_refused() -> None:
    lcu1 = _records()[0]
    with pytest.raises(UndecodableChange, match="does not fit"):
        _one(_with_code(lcu1, 10, LeafCode.NONKEY))  # 10.30 with a kdxlcnu undo


def test_a_key_compressed_iot_is_refused() -> None:
    compressed = replace(IOT_33, iot=IotDef(index_obj=INDEX_OBJ, key_compressed=True))
    with pytest.raises(UndecodableChange, match="key-compressed"):
        _one(_records()[0], _dictionary(compressed))


def test_a_captured_iot_without_its_index_object_refuses_to_start() -> None:
    unknown = replace(IOT_33, iot=IotDef(index_obj=None))
    with pytest.raises(ConfigError, match="index object"):
        TransactionAssembler(_dictionary(unknown), AssemblerOptions(thread=1))
    # not captured: nothing to refuse
    TransactionAssembler(_dictionary(unknown), AssemblerOptions(
        thread=1, wanted=lambda owner, name: False))


def test_an_iot_image_without_the_primary_key_is_refused() -> None:
    for pk in ((), ("ID", "NAME1", "NAME2", "NOT_LOGGED")):
        with pytest.raises(UndecodableChange, match="primary key"):
            _run(_dictionary(replace(IOT_33, pk=pk)))


def _rollback_record(code: int, dba: int) -> ParsedRecord:
    """A partial-rollback record on TEST_IOT_33: the applied leaf undo (a layer-10 vector
    with the undo's code, on the leaf block), then 5.6 — the heap-table shape (fixture
    PartialRollback_Test); only the two vector headers are read for an IOT."""
    platform = PLATFORMS["getLinux19c"]
    p = Packer(platform.order)
    txn = Txn(usn=2, slot=4, sqn=0x906, undo_afn=14, undo_header_dba=0xC80)
    applied = VectorSpec(layer=10, code=code, fields=(bytes(16), bytes(6)), cls=1, afn=15,
                         dba=dba, scn=0x788B70, data_obj=INDEX_OBJ, con_id=3)
    mark = partial_rollback_vector(p, txn, Uba(0xC95, 0x28B, 10), 6, INDEX_OBJ, INDEX_OBJ,
                                   0x788B70, 3, first=False)
    data = encode_record(RecordSpec(scn=0x788B70, vectors=(applied, mark)), platform)
    layout = RecordLayout(LITTLE, wide_vectors=True)
    return decode_record(parse_record(RawRecord(Rba(0x42, 0x55ADB, 0x10), data), layout))


@pytest.mark.parametrize("undone, left", [(UndoKind.NONKEY, 0), (UndoKind.COLUMNS, 1)])
def test_a_partial_rollback_removes_the_iot_change_it_undid(undone: int, left: int) -> None:
    asm = TransactionAssembler(_dictionary(), AssemblerOptions(thread=1))
    lcu1, lnu, _ = _records()
    asm.feed(lcu1.parsed())
    asm.feed(lnu.parsed())
    asm.feed(_rollback_record(undone, 0x963))
    assert asm.counters["pieces_rolled_back"] == 1
    tx = asm.commit(Xid(2, 4, 0x906), scn=0x788B71, rba="0x000042.00055adc.0010")
    assert tx is not None and len(tx.changes) == 1
    assert tx.changes[0].position is not None
    assert tx.changes[0].position.rba == str(_records()[left].rba)


def test_an_iot_partial_rollback_that_matches_nothing_is_refused() -> None:
    asm = TransactionAssembler(_dictionary(), AssemblerOptions(thread=1))
    asm.feed(_records()[0].parsed())
    asm.feed(_rollback_record(UndoKind.COLUMNS, 0x964))  # another leaf block
    (txn,) = asm.open_transactions()
    with pytest.raises(UndecodableChange, match="matched no buffered change"):
        asm.commit(txn.xid, scn=0x788B71, rba="0x000042.00055ada.0010")
