"""Compressed rows (basic and OLTP/advanced row compression): the row image format on
hand-built bytes, and the real advanced-compression records end to end (oracdc
``Op11_2_Test.advancedCompressionSingle``, ``Ops_IRP_ORP_BindingTest.advCompIssue1118``
and ``advCompIssue122``; expected values are LogMiner's, quoted in those tests)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from drcapture.dictionary.model import ColumnDef, Dictionary, OracleType, TableDef
from drcapture.errors import UndecodableChange
from drcapture.redo.binary import LITTLE
from drcapture.redo.blocks import BytesSource, RedoFile
from drcapture.redo.ops.common import NotInRedo
from drcapture.redo.ops.compressed import (
    NOT_LOGGED,
    CompressedRow,
    Entry,
    image_values,
    in_compressed_block,
    parse_compressed_row,
)
from drcapture.redo.ops.direct import COLB_DATA_NTAB, COLB_HEADER, COLB_ITC, COLB_ITL_ENTRY
from drcapture.redo.ops.dispatch import ParsedRecord, UndecodableOp, decode_record
from drcapture.redo.ops.kdo import IRP_TABN, QM_TABN, URP_TABN, RowCode, RowOp
from drcapture.redo.ops.undo import SuppType, UndoRecord
from drcapture.redo.records import RawRecord, Rba, RecordLayout, iter_raw_records, parse_record
from drcapture.redo.txn.assembler import AssemblerOptions, TransactionAssembler
from drcapture.redo.txn.pieces import pieces_of
from drcapture.redo.txn.state import piece_from_json, piece_to_json
from drcapture.synth import writer_ops as W
from drcapture.synth.workload import (
    Col,
    Commit,
    Delete,
    Insert,
    MultiInsert,
    Op,
    RollbackTo,
    Savepoint,
    Step,
    Supplemental,
    Table,
    Update,
    Workload,
    row,
)
from drcapture.synth.workload_build import build_workload
from drcapture.synth.workload_state import WorkloadError
from drcapture.synth.writer_ops import compressed_row
from drcapture.synth.writer_records import (
    LINUX_19C,
    PLATFORMS,
    Packer,
    RecordSpec,
    VectorSpec,
    encode_record,
)
from drcommon.model import NotLogged, Operation
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.capture.test_redo_helpers import IndexedRecord, folder_records, hex_assembler
from tests.unit.capture.test_writer_workload import assert_same, read_back

COMMIT_RBA = "0x000001.00000002.0010"
HEAD = 0x2C  # --H-FL--
MIGRATED = 0x0C  # ----FL--: first piece of a migrated row, not the head
OBJ = 75659  # the table of every advanced-compression record


def _parse(data: bytes) -> CompressedRow:
    return parse_compressed_row(memoryview(data), opcode="11.2", field=2)


def _changes(folder: str, numbers: range | None = None,
             asm: TransactionAssembler | None = None) -> list:  # type: ignore[type-arg]
    asm = asm or hex_assembler()
    for rec in folder_records(folder, numbers):
        assert asm.feed(rec.parsed()) == []
    out = []
    for txn in asm.open_transactions():
        committed = asm.commit(txn.xid, scn=1, rba=COMMIT_RBA)
        assert committed is not None
        out.extend(committed.changes)
    return out


def _hex(values: dict[int, str]) -> dict[str, str]:
    return {f"COL {n}": v.upper() for n, v in values.items()}


# --- the row image format -------------------------------------------------------------


def test_inline_null_and_symbol_entries() -> None:
    row = _parse(bytes([HEAD, 0x01, 0x04, 0x00, 0xCA, 0xC1, 0x12, 0xFF, 0x07]))
    assert (row.fb, row.lb) == (HEAD, 1)
    assert row.entries == (Entry(None, symbol=0), Entry(b"\xc1\x12"), Entry(None),
                           Entry(None, symbol=7))
    assert row.symbols == 2


def test_empty_and_longest_established_inline_values() -> None:
    longest = bytes(range(49))
    row = _parse(bytes([HEAD, 0, 2, 0xC8, 0xF9]) + longest)
    assert row.entries == (Entry(b""), Entry(longest))


def test_a_migrated_piece_leaves_six_bytes_for_the_head_row_id() -> None:
    # Ops_IRP_ORP_BindingTest/002: 0c 00 07, then 00 00 7f 00 00 4b (not the hrid, which
    # the kdo header carries as 0x03400097.2), then the entries.
    row = _parse(bytes([MIGRATED, 0, 1]) + bytes.fromhex("00007f00004b") + b"\xcac\x04")
    assert row.entries == (Entry(b"c\x04"),)


@pytest.mark.parametrize("code", [0xFA, 0xFB, 0xFC, 0xFD, 0xFE])
def test_an_entry_code_not_established_is_refused_with_its_place(code: int) -> None:
    with pytest.raises(UndecodableChange) as err:
        _parse(bytes([HEAD, 0, 2, 0xC9, 0x41, code, 0x41]))
    where = err.value.where
    assert (where["opcode"], where["field"], where["offset"]) == ("11.2", 2, 5)
    assert where["found"] == f"0x{code:02x}"


@pytest.mark.parametrize(("data", "message"), [
    (bytes([HEAD, 0]), "shorter than its header"),
    (bytes([HEAD, 0, 2, 0xC9, 0x41]), "ends before its entries"),
    (bytes([HEAD, 0, 1, 0xCB, 0x41]), "runs past the row image"),
    (bytes([HEAD, 0, 1, 0xC9, 0x41, 0x00]), "do not fill the row image"),
    (bytes([0x28, 0, 1, 0xC9, 0x41]), "without the L flag"),
    (bytes([0x6C, 0, 1, 0xC9, 0x41]), "cluster row"),
])
def test_malformed_or_unknown_layouts_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(UndecodableChange, match=message):
        _parse(data)


def test_only_non_cluster_rows_of_table_1_and_up_are_in_compressed_blocks() -> None:
    assert in_compressed_block(HEAD, 1)
    assert not in_compressed_block(HEAD, 0)
    assert not in_compressed_block(HEAD | 0x40, 1)  # C: a cluster member row


_ENTRIES = st.lists(st.one_of(
    st.builds(Entry, st.binary(max_size=49)),
    st.just(Entry(None)),
    st.builds(lambda n: Entry(None, symbol=n), st.integers(0, 0xC7)),
), max_size=60)


@given(fb=st.sampled_from([HEAD, MIGRATED, 0x24, 0x3C]), lb=st.integers(0, 255),
       entries=_ENTRIES)
def test_round_trip_through_the_writers_encoder(fb: int, lb: int, entries: list[Entry]) -> None:
    row = _parse(compressed_row(fb, lb, entries))
    assert row == CompressedRow(fb=fb, lb=lb, entries=tuple(entries))


# --- values from the supplemental columns -----------------------------------------------

ROW = CompressedRow(HEAD, 0, (Entry(b"a"), Entry(None), Entry(b"b")))


def test_no_supplemental_columns_means_no_value_is_in_the_redo() -> None:
    assert image_values(ROW, ()) == ((), NotInRedo(NOT_LOGGED))


def test_supplemental_columns_listing_every_entry_complete_the_image() -> None:
    supp = ((1, b"b"), (2, b"a"), (3, None))
    assert image_values(ROW, supp) == (supp, None)
    # Extra listed columns may only be NULL (trailing NULLs logged).
    assert image_values(ROW, (*supp, (4, None))) == ((*supp, (4, None)), None)


def test_fewer_listed_columns_leave_the_others_not_in_the_redo() -> None:
    assert image_values(ROW, ((2, b"a"),)) == (((2, b"a"),), NotInRedo(NOT_LOGGED))


def test_with_symbols_unlisted_columns_may_hold_symbol_values() -> None:
    row = CompressedRow(HEAD, 0, (Entry(None, symbol=0), Entry(b"b")))
    supp = ((1, b"x"), (2, b"y"), (3, b"b"))
    assert image_values(row, supp) == (supp, NotInRedo(NOT_LOGGED))


@pytest.mark.parametrize("supp", [
    ((1, b"a"), (2, None), (3, b"c")),  # b is not listed
    ((1, b"a"), (2, None), (3, b"b"), (4, b"d")),  # d is in no entry
    ((1, b"z"),),  # a partial list naming a value the row does not hold
])
def test_supplemental_columns_that_do_not_match_the_image_are_refused(
        supp: tuple[tuple[int, bytes | None], ...]) -> None:
    with pytest.raises(UndecodableChange, match="do not match"):
        image_values(ROW, supp, rba="0x1.2.3")


# --- the real records ---------------------------------------------------------------------


def _row_ops(rec: IndexedRecord) -> tuple[RowOp | None, UndoRecord]:
    ops = [pv.op for pv in rec.parsed().ops]
    undo = next(op for op in ops if isinstance(op, UndoRecord))
    redo = next((op for op in ops if isinstance(op, RowOp)), None)
    return redo, undo


def test_the_insert_image_holds_every_column_inline_in_the_blocks_order() -> None:
    (rec,) = folder_records("Op11_2_Test", range(3, 4))
    redo, undo = _row_ops(rec)
    assert redo is not None and redo.packed is not None and redo.tabn == 1
    assert redo.columns == ()
    assert [e.value.hex() for e in redo.packed.entries if e.value] == [
        "61616161616161", "62626161", "76be0414010101", "787e010814142f38acc618",
        "c20302", "c20302", "c20302"]  # columns 4, 5, 7, 6, 1, 2, 3
    assert undo.supplemental is not None and len(undo.supplemental.columns) == 7


def test_the_overwritten_rows_undo_image_ends_before_its_supplemental_data() -> None:
    for number, head in ((1, 16), (3, 2)):
        (rec,) = folder_records("Ops_IRP_ORP_BindingTest", range(number, number + 1))
        _, undo = _row_ops(rec)
        assert undo.row_op is not None and undo.row_op.packed is not None
        entries = undo.row_op.packed.entries
        assert len(entries) == 5 and entries[0] == Entry(None, symbol=0)
        supp = undo.supplemental
        assert supp is not None
        assert (supp.op_type, supp.last, supp.row) == (1, True, (0x03400097, head))
        assert [n for n, _ in supp.columns] == [1, 2, 3, 4, 5, 6, 7]


def test_compressed_insert() -> None:
    (change,) = _changes("Op11_2_Test", range(3, 4))
    assert (change.op, change.row_id, change.before) == (
        Operation.INSERT, "AAATKyAANAAAACVADI", None)
    assert change.after == _hex({1: "c20302", 2: "c20302", 3: "c20302", 4: "61616161616161",
                                 5: "62626161", 6: "787e010814142f38acc618",
                                 7: "76be0414010101"})


def test_migrated_compressed_row_issue_1118_is_one_update() -> None:
    (change, _) = _changes("Ops_IRP_ORP_BindingTest")
    assert (change.op, change.row_id) == (Operation.UPDATE, "AAATNtAANAAAACXAAQ")
    assert change.before == _hex({1: "c112", 2: "c112", 3: "c112", 4: "61616161616161",
                                  5: "62626161", 6: "787e01140a38073661b120",
                                  7: "77a00414010101"})
    assert change.after == _hex({1: "c112", 2: "c112", 3: "c112", 4: "61616161616161",
                                 5: "62626161", 6: "787e01140a3807", 7: "77a00414010101"})


def test_migrated_compressed_row_issue_122_is_one_update() -> None:
    (_, change) = _changes("Ops_IRP_ORP_BindingTest")
    assert (change.op, change.row_id) == (Operation.UPDATE, "AAATXtAANAAAACXAAC")
    assert change.before == _hex({1: "c104", 2: "c104", 3: "c104", 4: "61616161616161",
                                  5: "62626161", 6: "787e03020c0f0b3936b698",
                                  7: "77a00414010101"})
    assert change.after == _hex({1: "c104", 2: "c104", 3: "c104", 4: "6767676767",
                                 5: "62626161", 6: "787e03020c0f0b3936b698",
                                 7: "77a00414010101"})


def _table(columns: int) -> TableDef:
    return TableDef(obj=OBJ, owner="T", name="ADVCOMP", columns=tuple(
        ColumnDef(n, n, f"C{n}", 23, length=20) for n in range(1, columns + 1)))


def _raw(raw: bytes | None, column: ColumnDef, charsets: object) -> str | None:
    return None if raw is None else raw.hex()


def test_table_columns_a_symbol_image_does_not_list_are_not_logged() -> None:
    # With an eighth column the supplemental data does not list, the old row (which
    # refers to the symbol table) cannot say what it held; the new rows can.
    asm = TransactionAssembler(Dictionary(tables={OBJ: _table(8)}),
                               AssemblerOptions(thread=1, decoder=_raw))
    first, second = _changes("Ops_IRP_ORP_BindingTest", asm=asm)
    for change in (first, second):
        assert change.before is not None and change.after is not None
        assert change.before["C8"] == NotLogged(oracle_type="RAW", reason=NOT_LOGGED)
        assert "C8" not in change.after
    assert second.after is not None and second.after["C4"] == "6767676767"


def test_a_complete_insert_image_gets_trailing_nulls() -> None:
    asm = TransactionAssembler(Dictionary(tables={OBJ: _table(8)}),
                               AssemblerOptions(thread=1, decoder=_raw))
    (change,) = _changes("Op11_2_Test", range(3, 4), asm=asm)
    assert change.after is not None and change.after["C8"] is None
    assert change.after["C6"] == "787e010814142f38acc618"


def test_the_marker_survives_the_open_transaction_state() -> None:
    (rec,) = folder_records("Ops_IRP_ORP_BindingTest", range(1, 2))
    ((_, piece),) = list(pieces_of(rec.parsed()))  # type: ignore[misc]
    assert piece.before_rest == NotInRedo(NOT_LOGGED) and piece.supp == ()
    assert piece_from_json(json.loads(json.dumps(piece_to_json(piece)))) == piece
    old = piece_to_json(replace(piece, before_rest=None))
    del old["before_rest"], old["after_rest"]  # written by state version 1
    assert piece_from_json(old) == replace(piece, before_rest=None)


def test_an_unknown_entry_code_in_a_real_record_names_opcode_field_offset_and_rba() -> None:
    (rec,) = folder_records("Op11_2_Test", range(3, 4))
    image = bytes.fromhex("2c0007cf61616161616161")
    at = rec.data.index(image)
    data = bytearray(rec.data)
    data[at + 3] = 0xFB
    raw = parse_record(RawRecord(rec.rba, bytes(data)), rec.record_layout())
    (refused,) = [pv.op for pv in decode_record(raw).ops if isinstance(pv.op, UndecodableOp)]
    assert (refused.layer, refused.code) == (11, 2)
    assert "offset=3" in refused.reason and "opcode=11.2, field=2" in refused.reason
    # Whose change it is decides what happens: a captured table's stops capture at commit.
    asm = TransactionAssembler(Dictionary(tables={75659: TableDef(
        obj=75659, owner="T", name="COMPRESSED", columns=(ColumnDef(1, 1, "C1", 23),))}),
        AssemblerOptions(thread=1))
    asm.feed(ParsedRecord(raw))
    (txn,) = asm.open_transactions()
    with pytest.raises(UndecodableChange, match="entry code not established") as err:
        asm.commit(txn.xid, scn=rec.scn + 1, rba="0x000001.00000002.0010")
    assert err.value.where["rba"] == str(rec.rba)
    assert err.value.where["table"] == "T.COMPRESSED"


# --- layouts refused (records built with the synthetic writer's field encoders) ----------

P = Packer(LINUX_19C.order)
AT = W.RowAt(bdba=0x03400097, slot=2, hdba=0x03400092)
PIECE = W.RowAt(bdba=0x03400093, slot=159, hdba=0x03400092)
TXN = W.Txn(usn=3, slot=14, sqn=5121, undo_afn=3, undo_header_dba=(3 << 22) | 384)
UBA = W.Uba(dba=(3 << 22) | 0x1000, seq=1, rec=1)
ENTRIES = (Entry(b"\xc1\x04"), Entry(None, symbol=0))


def _record(*vectors: VectorSpec) -> ParsedRecord:
    data = encode_record(RecordSpec(scn=100, vectors=vectors), LINUX_19C)
    return decode_record(parse_record(RawRecord(Rba(1, 2, 16), data),
                                      RecordLayout(LITTLE, wide_vectors=True)))


def _redo(code: int, fields: list[bytes]) -> VectorSpec:
    return W.row_vector(code, [W.ktb_f(P, TXN, UBA), *fields], AT, OBJ, 100, 0)


def _undo(fields: list[bytes]) -> VectorSpec:
    body = [W.ktub(P, OBJ, OBJ, TXN, 0, begin=False), W.ktb_z(P), *fields]
    return W.undo_vector(TXN, UBA, [W.ktudb(P, TXN, UBA, 100), *body], 100, 0)


def _patched(fields: list[bytes], offset: int, value: int) -> list[bytes]:
    kdo = bytearray(fields[0])
    kdo[offset] = value
    return [bytes(kdo), *fields[1:]]


@pytest.mark.parametrize(("code", "fields", "message"), [
    (RowCode.URP, _patched(W.urp(P, AT, 7, [(3, b"ggggg")]), URP_TABN, 1),
     "update of a row in a compressed block"),
    (RowCode.QMI, _patched(W.qmi(P, AT, [0], [[b"a"]]), QM_TABN, 1),
     "multi-row insert into a compressed block"),
    (RowCode.IRP, _patched(W.irp(P, AT, [b"a", b"b"]), IRP_TABN, 1),
     "logged column by column"),
    (RowCode.IRP, _patched(W.irp_compressed(P, AT, ENTRIES), IRP_TABN, 0),
     "row of table 0"),
])
def test_row_ops_of_compressed_blocks_the_redo_cannot_place_are_refused(
        code: int, fields: list[bytes], message: str) -> None:
    record = _record(_undo(W.drp(P, AT, W.Side.UNDO)), _redo(code, fields))
    (refused,) = [pv.op for pv in record.ops if isinstance(pv.op, UndecodableOp)]
    assert message in refused.reason and f"opcode=11.{code}" in refused.reason
    err = _refused_at_commit(record)
    assert message in str(err) and err.where["rba"] == "0x000001.00000002.0010"


def test_compressed_images_on_both_sides_are_refused() -> None:
    supp = W.supplemental(P, SuppType.UPDATE, 1, 0, [(1, b"\xc1\x04"), (2, b"x")])
    undo = _undo([*W.irp_compressed(P, AT, ENTRIES, code=RowCode.ORP, undo=True), *supp])
    redo = _redo(RowCode.ORP, W.irp_compressed(P, AT, ENTRIES, code=RowCode.ORP))
    assert "both sides" in str(_refused_at_commit(_record(undo, redo)))


def _refused_at_commit(record: ParsedRecord) -> UndecodableChange:
    """What the commit of ``record``'s transaction raises when object OBJ is captured."""
    asm = TransactionAssembler(Dictionary(tables={OBJ: TableDef(
        obj=OBJ, owner="T", name="COMPRESSED", columns=(ColumnDef(1, 1, "C1", 23),))}),
        AssemblerOptions(thread=1))
    asm.feed(record)
    (txn,) = asm.open_transactions()
    with pytest.raises(UndecodableChange) as err:
        asm.commit(txn.xid, scn=200, rba=COMMIT_RBA)
    assert err.value.where["table"] == "T.COMPRESSED"
    return err.value


def test_the_writers_migration_records_read_as_the_real_ones() -> None:
    # The shapes of Ops_IRP_ORP_BindingTest/002 and /003, written by the writer.
    new = [(n, bytes([0xC1, n])) for n in range(1, 4)]
    old = [(1, b"\xc1\x01"), (2, b"\xc1\x02"), (3, b"old")]
    first = _record(
        _undo([*W.drp_compressed(P, PIECE),
               *W.supplemental(P, SuppType.UPDATE, 0, 0, new, fb=W.SUPP_FB_FIRST, row=AT)]),
        W.row_vector(RowCode.IRP, [W.ktb_f(P, TXN, UBA), *W.irp_compressed(
            P, PIECE, [Entry(v) for _, v in reversed(new)], fb=W.MIGRATED_FB, head=AT)],
            PIECE, OBJ, 100, 0))
    old_image = [Entry(None, symbol=0), Entry(b"old")]
    second = _record(
        _undo([*W.irp_compressed(P, AT, old_image, code=RowCode.ORP, undo=True),
               *W.supplemental(P, SuppType.UPDATE, 1, 0, old, fb=W.SUPP_FB_LAST, row=AT)]),
        _redo(RowCode.ORP, W.orp_stub(P, AT, PIECE)))
    asm = hex_assembler()
    asm.feed(first)
    asm.feed(second)
    (txn,) = asm.open_transactions()
    committed = asm.commit(txn.xid, scn=200, rba=COMMIT_RBA)
    assert committed is not None
    (change,) = committed.changes
    assert change.op is Operation.UPDATE
    assert change.before == {f"COL {n}": v.hex().upper() for n, v in old}
    assert change.after == {f"COL {n}": v.hex().upper() for n, v in new}


def test_a_direct_load_block_of_a_compressed_table_is_refused() -> None:
    (rec,) = folder_records("Op19_1_Test", range(0, 1))
    image = rec.parsed().ops[0].vector
    f = image.field(0)
    itc = image.endian.u16(f, COLB_ITC)
    at = (COLB_HEADER + itc * COLB_ITL_ENTRY + 7) & ~7
    data = bytearray(rec.data)
    start = rec.data.index(bytes(f[:COLB_HEADER]))
    data[start + at + COLB_DATA_NTAB] = 2
    raw = parse_record(RawRecord(rec.rba, bytes(data)), rec.record_layout())
    (refused,) = [pv.op for pv in decode_record(raw).ops if isinstance(pv.op, UndecodableOp)]
    assert (refused.layer, refused.code) == (19, 1) and "more than one table" in refused.reason


def test_a_compressed_image_without_supplemental_columns_is_published_as_not_logged() -> None:
    record = _record(
        _undo(W.irp_compressed(P, AT, ENTRIES, code=RowCode.ORP, undo=True)),
        _redo(RowCode.ORP, W.orp_stub(P, AT, PIECE)))
    asm = TransactionAssembler(Dictionary(tables={OBJ: _table(3)}),
                               AssemblerOptions(thread=1, decoder=_raw))
    asm.feed(record)
    (txn,) = asm.open_transactions()
    committed = asm.commit(txn.xid, scn=200, rba=COMMIT_RBA)
    assert committed is not None
    (change,) = committed.changes
    assert change.op is Operation.UPDATE
    assert change.before == {f"C{n}": NotLogged(oracle_type="RAW", reason=NOT_LOGGED)
                             for n in (1, 2, 3)}


# --- the synthetic writer's compressed tables, read back --------------------------------

ADV = Table(
    "APP", "ADVCOMP", 75659,
    (Col("C1", OracleType.NUMBER), Col("C2", OracleType.NUMBER), Col("C3", OracleType.NUMBER),
     Col("C4", OracleType.VARCHAR2, 20), Col("C5", OracleType.VARCHAR2, 20),
     Col("C6", OracleType.TIMESTAMP, scale=9), Col("C7", OracleType.DATE)),
    pk=("C1",), supplemental=Supplemental.MINIMAL, compressed=True)
ROW_1 = row(C1="17", C2="17", C3="17", C4="aaaaaaa", C5="bbaa",
            C6="2026-01-20T09:55:06.912372000", C7="1960-04-20T00:00:00")


@pytest.mark.parametrize("layout", sorted(PLATFORMS))
def test_the_writer_logs_compressed_inserts_and_updates_the_way_the_records_show(
        layout: str) -> None:
    steps = (
        Step(1, "a", Insert("ADVCOMP", ROW_1)),
        Step(1, "a", Insert("ADVCOMP", row(C1="4", C4="x"))),
        Step(1, "a", Commit()),
        Step(1, "b", Update("ADVCOMP", row(C1="17"), row(C4="ggggg", C6=None))),
        Step(1, "b", Commit()),
    )
    built = build_workload(Workload(tables=(ADV,), steps=steps, platform=PLATFORMS[layout]))
    update = built.expected[1].changes[0]
    assert update.before == dict(ROW_1) and update.after is not None
    assert (update.after["C4"], update.after["C6"], update.after["C7"]) == (
        "ggggg", None, "1960-04-20T00:00:00")
    assert_same(built, read_back(built))
    log = RedoFile(BytesSource(built.logs[0].data))
    layout = RecordLayout(log.endian, log.header.wide_vectors)
    records = [decode_record(parse_record(raw, layout)) for raw in iter_raw_records(log)]
    opcodes = [[f"{pv.vector.header.layer}.{pv.vector.header.code}" for pv in rec.ops]
               for rec in records]
    assert opcodes[0] == ["5.2", "5.1", "11.2"]  # as Op11_2_Test/003 (less its 5.20)
    assert opcodes[3:5] == [["5.2", "5.1", "11.2"], ["5.1", "11.6"]]  # as IRP_ORP/002, /003
    migrated = [pv.op for pv in records[4].ops]
    assert isinstance(migrated[0], UndoRecord) and migrated[0].row_op is not None
    packed = migrated[0].row_op.packed
    assert packed is not None and packed.entries[0] == Entry(None, symbol=0)


@pytest.mark.parametrize("op", [
    Delete("ADVCOMP", row(C1="17")),
    MultiInsert("ADVCOMP", (row(C1="5"),)),
    Update("ADVCOMP", row(C1="17"), row(C4="again")),
    RollbackTo("s"),
])
def test_compressed_operations_without_a_reference_record_are_refused(op: Op) -> None:
    steps = (
        Step(1, "a", Insert("ADVCOMP", ROW_1)),
        Step(1, "a", Savepoint("s")),
        Step(1, "a", Update("ADVCOMP", row(C1="17"), row(C4="first"))),
        Step(1, "a", op),
    )
    with pytest.raises(WorkloadError, match="compressed"):
        build_workload(Workload(tables=(ADV,), steps=steps))


def test_values_longer_than_the_established_inline_codes_are_refused() -> None:
    steps = (Step(1, "a", Insert("ADVCOMP", row(C1="1", C4="x" * 20, C5="y" * 20))),)
    assert build_workload(Workload(tables=(ADV,), steps=steps)).logs
    wide = replace(ADV, columns=(*ADV.columns[:4], Col("C5", OracleType.VARCHAR2, 60)))
    steps = (Step(1, "a", Insert("ADVCOMP", row(C1="1", C5="y" * 50))),)
    with pytest.raises(WorkloadError, match="at most 49 bytes"):
        build_workload(Workload(tables=(wide,), steps=steps))
