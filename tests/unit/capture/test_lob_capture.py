"""LOB capture end to end: workloads with CLOB, NCLOB and BLOB columns written as Oracle
writes SecureFile LOB redo, read back by the capture reader value for value (in row, out
of row, empty, several MB; inserted, updated whole, deleted, rolled back to savepoints),
with a spilling store, and refused where the redo does not carry the value."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from drcapture.dictionary.model import Charsets, ColumnDef, Dictionary, OracleType
from drcapture.errors import UndecodableChange
from drcapture.redo.blocks import BytesSource, RedoFile
from drcapture.redo.ops.dispatch import ParsedRecord
from drcapture.redo.ops.kdli import LobPage
from drcapture.redo.ops.kdo import RowOp
from drcapture.redo.reader import iter_records
from drcapture.redo.txn.assembler import (
    AssemblerOptions,
    CommittedTransaction,
    TransactionAssembler,
)
from drcapture.redo.txn.changes import Context, default_decoder, to_row_change
from drcapture.redo.txn.lobs import UNCHANGED, LobAssembly
from drcapture.redo.txn.pieces import LobRef, Piece, PieceKind
from drcapture.redo.txn.rows import LogicalRow
from drcapture.redo.txn.store import ChangeStore
from drcapture.redo.xid import Xid
from drcapture.spill import SpillingStore
from drcapture.synth.workload import (
    Col,
    Commit,
    Delete,
    Insert,
    LogSwitch,
    Rollback,
    RollbackTo,
    Savepoint,
    Step,
    Table,
    Update,
    Workload,
    row,
)
from drcapture.synth.workload_build import BuiltWorkload, build_workload
from drcapture.synth.workload_state import WorkloadError, table_def
from drcapture.synth.writer_lob import IN_ROW_MAX, PAGE_SIZE, StoredLob, locator
from drcapture.synth.writer_records import PLATFORMS
from drcapture.values.lob import NOT_IN_REDO, Extent, LobKind
from drcommon.model import NotLogged, Operation

from tests.unit.capture.test_writer_lob import DOCS
from tests.unit.capture.test_writer_workload import assert_same, read_back

T = OracleType
OTHER = Table("HIS", "SCANS", 72001, (Col("ID", T.NUMBER), Col("IMG", T.BLOB)), pk=("ID",))
BIG_TEXT = "病历记录" * 2500 + "end"  # 10,003 characters, 20,006 bytes in AL16UTF16


def _story() -> tuple[Step, ...]:
    return (
        Step(1, "a", Insert("DOCS", row(ID="1", TXT="hello", NTXT="", BIN="00FF"))),
        Step(1, "a", Insert("DOCS", row(ID="2", TXT=BIG_TEXT, NTXT=BIG_TEXT[:3000],
                                        BIN="AB" * 9000))),
        Step(1, "a", Insert("DOCS", row(ID="3"))),  # NULL LOBs
        Step(1, "a", Commit()),
        Step(1, "b", Update("DOCS", row(ID="1"), row(TXT="x" * 5000, NOTE="n"))),
        Step(1, "b", Update("DOCS", row(ID="3"), row(BIN="", NTXT="ñ"))),
        Step(1, "b", Delete("DOCS", row(ID="2"))),
        Step(1, "b", LogSwitch()),
        Step(1, "b", Update("DOCS", row(ID="1"), row(TXT=None))),
        Step(1, "b", Commit()),
    )


@pytest.mark.parametrize("layout", sorted(PLATFORMS))
def test_story_reads_back_on_every_platform(layout: str) -> None:
    built = build_workload(Workload(tables=(DOCS,), steps=_story(),
                                    platform=PLATFORMS[layout]))
    got = read_back(built)
    assert_same(built, got)
    inserts, changes = got[0].changes, got[1].changes
    assert inserts[1].after is not None and inserts[1].after["TXT"] == BIG_TEXT
    assert inserts[1].after["BIN"] == "AB" * 9000
    assert inserts[0].after == {"ID": "1", "TXT": "hello", "NTXT": "", "BIN": "00FF",
                                "NOTE": None}
    # update: the new value whole; the old one in row, so known
    assert changes[0].before == {"ID": "1", "TXT": "hello", "NOTE": None}
    assert changes[0].after == {"ID": "1", "TXT": "x" * 5000, "NOTE": "n"}
    # delete of a row whose LOBs are out of row: their content is not in the redo
    deleted = changes[2]
    assert deleted.op is Operation.DELETE and deleted.before is not None
    assert deleted.before["TXT"] == NotLogged(oracle_type="CLOB", reason=NOT_IN_REDO)
    assert deleted.before["NTXT"] == NotLogged(oracle_type="NCLOB", reason=NOT_IN_REDO)
    assert deleted.before["BIN"] == NotLogged(oracle_type="BLOB", reason=NOT_IN_REDO)
    assert changes[3].before == {"ID": "1", "TXT": NotLogged(oracle_type="CLOB",
                                                             reason=NOT_IN_REDO), "NOTE": "n"}
    assert changes[3].after == {"ID": "1", "TXT": None, "NOTE": "n"}


@pytest.mark.parametrize("database", ["WE8MSWIN1252", "ZHS16GBK", "UTF8"])
def test_clob_follows_the_database_character_set(database: str) -> None:
    text = "Ärztin café €" if database == "WE8MSWIN1252" else "医院 Ärztin"
    steps = (
        Step(1, "a", Insert("DOCS", row(ID="1", TXT=text, NTXT=text))),
        Step(1, "a", Insert("DOCS", row(ID="2", TXT=text * 900, NTXT=text * 900))),
        Step(1, "a", Commit()),
    )
    built = build_workload(Workload(tables=(DOCS,), steps=steps, charsets=Charsets(database)))
    assert_same(built, read_back(built))


def test_sizes_around_the_in_row_limit_and_page_boundaries() -> None:
    sizes = [0, 1, IN_ROW_MAX - 1, IN_ROW_MAX, IN_ROW_MAX + 1, PAGE_SIZE - 1, PAGE_SIZE,
             PAGE_SIZE + 1, 2 * PAGE_SIZE, 55 * PAGE_SIZE + 7]  # 55 pages: two extents
    inserts = [Step(1, "a", Insert("DOCS", row(ID=str(k), BIN="5A" * n)))
               for k, n in enumerate(sizes)]
    steps = (*inserts, Step(1, "a", Commit()))
    built = build_workload(Workload(tables=(DOCS,), steps=steps))
    got = read_back(built)
    assert_same(built, got)
    assert [len(c.after["BIN"]) // 2 for c in got[0].changes if c.after] == sizes


def test_rollback_to_savepoint_undoes_a_lob_insert_and_update() -> None:
    steps = (
        Step(1, "a", Insert("DOCS", row(ID="1", TXT="keep" * 2000))),
        Step(1, "a", Savepoint("s")),
        Step(1, "a", Insert("DOCS", row(ID="2", BIN="01" * 20000))),
        Step(1, "a", Update("DOCS", row(ID="1"), row(TXT="gone" * 3000))),
        Step(1, "a", RollbackTo("s")),
        Step(1, "a", Update("DOCS", row(ID="1"), row(NTXT="stays" * 1000))),
        Step(1, "a", Commit()),
        Step(1, "b", Insert("DOCS", row(ID="9", BIN="FF" * 9000))),
        Step(1, "b", Rollback()),
    )
    built = build_workload(Workload(tables=(DOCS,), steps=steps))
    got = read_back(built)
    assert_same(built, got)
    assert [c.op for c in got[0].changes] == [Operation.INSERT, Operation.UPDATE]


def test_multi_row_operations_on_lob_tables_are_not_written() -> None:
    from drcapture.synth.workload import MultiInsert

    steps = (Step(1, "a", MultiInsert("DOCS", (row(ID="1"), row(ID="2")))),)
    with pytest.raises(WorkloadError):
        build_workload(Workload(tables=(DOCS,), steps=steps))


# --- feeding records by hand ------------------------------------------------------------


def records(built: BuiltWorkload) -> Iterator[ParsedRecord]:
    for log in built.logs_of(1):
        yield from iter_records(RedoFile(BytesSource(log.data)))


def feed(built: BuiltWorkload, *, store: ChangeStore | None = None, triage: bool = True,
         wanted: Callable[[str, str], bool] | None = None,
         drop: Callable[[ParsedRecord], bool] = lambda rec: False, policy: str = "stop",
         ) -> tuple[list[CommittedTransaction], TransactionAssembler]:
    assembler = TransactionAssembler(
        built.dictionary, AssemblerOptions(thread=1, triage=triage, wanted=wanted,
                                           on_undecodable=policy), store)
    out: list[CommittedTransaction] = []
    for rec in records(built):
        if not drop(rec):
            out.extend(assembler.feed(rec))
    return out, assembler


def _has(rec: ParsedRecord, kind: type, test: Callable[[object], bool] = lambda op: True) -> bool:
    return any(isinstance(pv.op, kind) and test(pv.op) for pv in rec.ops)


def test_several_mb_lob_spills_and_reads_back(tmp_path: Path) -> None:
    blob = bytes(range(256)) * (5 * 1024 * 1024 // 256 + 3)  # 5 MiB and a bit, 651 pages
    steps = (Step(1, "a", Insert("DOCS", row(ID="1", BIN=blob.hex().upper(), TXT="t"))),
             Step(1, "a", Commit()))
    built = build_workload(Workload(tables=(DOCS,), steps=steps, block_size=4096))
    store = SpillingStore(tmp_path / "spill", threshold_bytes=256 * 1024)
    seen_spilled = 0
    assembler = TransactionAssembler(built.dictionary, AssemblerOptions(thread=1), store)
    got: list[CommittedTransaction] = []
    for rec in records(built):
        got.extend(assembler.feed(rec))
        seen_spilled = max(seen_spilled, store.spilled_transactions())
        assert store.memory_bytes() <= 256 * 1024 + 9000  # one page over, at most
    assert seen_spilled == 1 and store.spilled_bytes > len(blob)
    assert len(got) == 1 and got[0].changes[0].after is not None
    assert got[0].changes[0].after["BIN"] == blob.hex().upper()
    assert not list((tmp_path / "spill").glob("*.spill"))  # dropped after the commit


def test_missing_page_refuses_the_change() -> None:
    steps = (Step(1, "a", Insert("DOCS", row(ID="1", BIN="CD" * 30000))), Step(1, "a", Commit()))
    built = build_workload(Workload(tables=(DOCS,), steps=steps))
    pages = [pv.op for rec in records(built) for pv in rec.ops if isinstance(pv.op, LobPage)]
    assert len(pages) == 4  # 30,000 bytes: 3 full pages of 8,060 and 5,820 bytes
    gone = pages[2].dba
    with pytest.raises(UndecodableChange) as caught:
        feed(built, drop=lambda rec: _has(rec, LobPage, lambda op: op.dba == gone))  # type: ignore[attr-defined]
    where = caught.value.where
    assert where["table"] == "HIS.DOCS" and where["column"] == "BIN"
    assert where["lid"] == pages[0].lid_hex and where["dba"] == f"0x{gone:08x}"
    assert where["xid"] and where["rba"] and where["opcode"] == "26.6"


def test_an_unreassembled_lob_may_be_published_marked() -> None:
    """With source.on_undecodable = publish_marked the row change is published, marked
    and without images: nothing of it is guessed, and apply refuses it."""
    steps = (Step(1, "a", Insert("DOCS", row(ID="1", BIN="CD" * 30000))), Step(1, "a", Commit()))
    built = build_workload(Workload(tables=(DOCS,), steps=steps))
    pages = [pv.op for rec in records(built) for pv in rec.ops if isinstance(pv.op, LobPage)]
    gone = pages[1].dba
    committed, _ = feed(built, drop=lambda rec: _has(rec, LobPage, lambda op: op.dba == gone),  # type: ignore[attr-defined]
                        policy="publish_marked")
    (change,) = [c for txn in committed for c in txn.changes if c.table == "DOCS"]
    assert change.op is Operation.INSERT and change.table == "DOCS"
    assert change.undecoded is not None and f"dba=0x{gone:08x}" in change.undecoded
    assert change.before is None and change.after is None


def test_lob_written_without_a_row_change_is_refused() -> None:
    """What an in-place write looks like to capture: LOB redo no row change takes."""
    steps = (Step(1, "a", Insert("DOCS", row(ID="1", TXT="t" * 6000))), Step(1, "a", Commit()))
    built = build_workload(Workload(tables=(DOCS,), steps=steps))
    with pytest.raises(UndecodableChange, match="without a row change") as caught:
        feed(built, drop=lambda rec: _has(rec, RowOp))
    assert caught.value.where["opcode"] == "11.17"


def test_uncaptured_tables_lob_redo_is_skipped_and_counted_the_same_way_by_triage() -> None:
    steps = (
        Step(1, "a", Insert("SCANS", row(ID="1", IMG="EE" * 20000))),
        Step(1, "a", Insert("DOCS", row(ID="1", BIN="11" * 20000))),
        Step(1, "a", Commit()),
    )
    built = build_workload(Workload(tables=(DOCS, OTHER), steps=steps))
    only_docs = lambda owner, name: name == "DOCS"  # noqa: E731
    fast, fast_asm = feed(built, wanted=only_docs)
    full, full_asm = feed(built, wanted=only_docs, triage=False)
    assert [c.table for c in fast[0].changes] == [c.table for c in full[0].changes] == ["DOCS"]
    assert fast[0].changes[0].after["BIN"] == "11" * 20000  # type: ignore[index]
    assert fast_asm.counters == full_asm.counters
    # 3 pages and 2 LLB type 1 of SCANS, plus its row change
    assert fast_asm.counters["lob_pieces_skipped"] == 5
    assert fast_asm.counters["skipped_filtered"] == 6


def test_open_transaction_with_lob_pages_survives_export_and_import() -> None:
    steps = (Step(1, "a", Insert("DOCS", row(ID="1", NTXT="页" * 9000))), Step(1, "a", Commit()))
    built = build_workload(Workload(tables=(DOCS,), steps=steps))
    recs = list(records(built))
    first = TransactionAssembler(built.dictionary, AssemblerOptions(thread=1))
    for rec in recs[:-1]:
        assert first.feed(rec) == []
    state = first.export_state()
    second = TransactionAssembler(built.dictionary, AssemblerOptions(thread=1))
    second.import_state(state)
    done = second.feed(recs[-1])
    assert done[0].changes[0].after["NTXT"] == "页" * 9000  # type: ignore[index]


# --- refusals, piece by piece -------------------------------------------------------------

XID = Xid(7, 25, 3017)
LID = bytes.fromhex("00000001000000bc9bcc")


def _piece(kind: PieceKind, lob: LobRef, **kw: object) -> Piece:
    base = Piece(kind=kind, rba="0x000075.00000019.0084", scn=1, sub_scn=1, con_id=None,
                 obj=78233, data_obj=0, redo_code=0, undo_code=0, bdba=0, slot=6, fb=0,
                 supp_type=0, supp_fb=0, row=None, before=(), after=(), supp=(), lob=lob)
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("op", "name"), [(0x66, "trim"), (0x68, "erase"), (0x31, "op 0x31")])
def test_trim_erase_and_unknown_llb_operations_are_refused(op: int, name: str) -> None:
    lobs = LobAssembly(XID, Charsets())
    list(lobs.take([_piece(PieceKind.LOB_WRITE, LobRef(LID, 6, op, 10))]))
    with pytest.raises(UndecodableChange, match=f"LOB {name} in place") as caught:
        lobs.finish("0x000075.00000f0c.0130")
    assert caught.value.where["lid"] == LID.hex().upper()
    assert caught.value.where["obj"] == 78233


def test_block_change_in_place_is_refused() -> None:
    lobs = LobAssembly(XID, Charsets())
    list(lobs.take([_piece(PieceKind.LOB_CHANGE, LobRef(LID, 6, 0))]))
    with pytest.raises(UndecodableChange, match=r"26\.2"):
        lobs.finish("0x1.2.3")


def test_void_lobs_are_not_refused() -> None:
    lobs = LobAssembly(XID, Charsets())
    pieces = [_piece(PieceKind.LOB_WRITE, LobRef(LID, 6, 0x02, 9000)),
              _piece(PieceKind.LOB_PAGE, LobRef(LID, 6), bdba=0x01C005CA, after=((6, b"x"),)),
              _piece(PieceKind.LOB_VOID, LobRef(LID, 0))]
    assert list(lobs.take(pieces)) == []
    lobs.finish("0x1.2.3")


def test_lob_redo_without_a_dictionary_entry_is_counted_not_kept() -> None:
    steps = (Step(1, "a", Insert("DOCS", row(ID="1", BIN="22" * 9000))), Step(1, "a", Commit()))
    built = build_workload(Workload(tables=(DOCS,), steps=steps))
    empty = dataclasses.replace(built, dictionary=Dictionary())
    assembler = TransactionAssembler(empty.dictionary,
                                     AssemblerOptions(thread=1, include_unknown=True))
    got = [t for rec in records(built) for t in assembler.feed(rec)]
    assert got[0].changes[0].table == "OBJ# 72000"  # the row, its locator in hex
    assert assembler.counters["lob_pieces_skipped"] == 4  # 2 pages, 2 LLB type 1


# --- locator values, one by one (real locators of ojdbc-types, the 19c log) ------------

def _row(op: Operation = Operation.UPDATE, **images: dict[int, bytes | None]) -> LogicalRow:
    return LogicalRow(op=op, obj=72000, data_obj=72000, rba="0x000001.00000002.0010",
                      scn=10, sub_scn=1, con_id=None, row=(0x01000100, 0),
                      before=images.get("before"), after=images.get("after"))


TABLE = table_def(DOCS)
TXT, NTXT, BIN = (TABLE.columns[i] for i in (1, 2, 3))
BF_BLOB = bytes.fromhex("00700001010c00000001000000010000001060ff007409000000000000640000000000"
                        "01" + "45" * 100)
SF_COMPRESSED = bytes.fromhex("00700001010c0080000100000001000000106538001440920001000b0120006401"
                              "00000300030b01")
SF_CLOB = bytes.fromhex("00700001020c808000020000000100000010653300d2489000cc0000c801"
                        + "0047" * 100)
OUT_OF_ROW = bytes.fromhex("00700001010c008000010000000100000010653200114090000b20006401000003"
                           "0002f301")


def _value(raw: bytes, column: ColumnDef, *, after: bool, charsets: Charsets | None = None,
           unchanged: bool = False) -> object:
    lobs = LobAssembly(XID, charsets or Charsets())
    return lobs.value(raw, column, row=_row(), table=TABLE, after=after, unchanged=unchanged)


def test_basicfile_in_row_values_decode_from_the_locator() -> None:
    assert _value(BF_BLOB, BIN, after=True) == "45" * 100
    assert _value(BF_BLOB, BIN, after=False) == "45" * 100


def test_compressed_lobs_refuse_after_images_and_are_not_logged_before() -> None:
    with pytest.raises(UndecodableChange, match="inode flags 0x92") as caught:
        _value(SF_COMPRESSED, BIN, after=True)
    assert caught.value.where["column"] == "BIN" and caught.value.where["table"] == "HIS.DOCS"
    before = _value(SF_COMPRESSED, BIN, after=False)
    assert isinstance(before, NotLogged) and "0x92" in before.reason


def test_clob_in_a_single_byte_database_with_a_utf16_locator_is_refused() -> None:
    assert _value(SF_CLOB, TXT, after=True) == "G" * 100
    single = Charsets("WE8MSWIN1252")
    with pytest.raises(UndecodableChange, match="disagree"):
        _value(SF_CLOB, TXT, after=True, charsets=single)
    assert isinstance(_value(SF_CLOB, TXT, after=False, charsets=single), NotLogged)


def test_locator_of_another_lob_type_is_refused() -> None:
    with pytest.raises(UndecodableChange, match="type does not match"):
        _value(SF_CLOB, BIN, after=True)


def test_unchanged_out_of_row_lob_is_left_out_of_the_after_image() -> None:
    """An update whose images hold the same out-of-row locator (supplemental data of an
    unchanged LOB) shows it before as NotLogged and leaves it out after."""
    row = _row(before={1: b"\xc1\x02", 4: OUT_OF_ROW}, after={1: b"\xc1\x02", 4: OUT_OF_ROW})
    ctx = Context(db_id=1, db_name="DB", thread=1, charsets=Charsets())
    change = to_row_change(row, TABLE, ctx, default_decoder(), lobs=LobAssembly(XID, Charsets()))
    assert change.before == {"ID": "1", "BIN": NotLogged(oracle_type="BLOB",
                                                         reason=NOT_IN_REDO)}
    assert change.after == {"ID": "1"}
    assert _value(OUT_OF_ROW, BIN, after=True, unchanged=True) is UNCHANGED


def test_lob_written_again_after_the_row_took_it_is_refused() -> None:
    """An insert takes its LOB; pages of the same LOB written later in the transaction,
    with no row change after them, are an in-place change."""
    lob = StoredLob(LobKind.BLOB, LID, b"\x07" * 5000, in_row=False,
                    extents=(Extent(0x01C005CA, 1),), varying=False)
    page = _piece(PieceKind.LOB_PAGE, LobRef(LID, 4), bdba=0x01C005CA, after=((4, lob.data),))
    write = _piece(PieceKind.LOB_WRITE, LobRef(LID, 4, 0x02, 5000))
    lobs = LobAssembly(XID, Charsets())
    list(lobs.take([write, page]))  # at (1, 1), before the row at (10, 1)
    taken = lobs.value(locator(lob), BIN, row=_row(Operation.INSERT), table=TABLE, after=True,
                       unchanged=False)
    assert taken == "07" * 5000
    late = dataclasses.replace(page, scn=20, after=((4, b"\x08" * 5000),))
    pages_only = LobAssembly(XID, Charsets())
    list(pages_only.take([write, page]))
    pages_only.value(locator(lob), BIN, row=_row(Operation.INSERT), table=TABLE, after=True,
                     unchanged=False)
    list(pages_only.take([late]))
    with pytest.raises(UndecodableChange, match="LOB pages no row change refers to"):
        pages_only.finish("0x1.2.3")
    list(lobs.take([dataclasses.replace(write, scn=20), late]))
    with pytest.raises(UndecodableChange, match="in-place write"):
        lobs.finish("0x1.2.3")
