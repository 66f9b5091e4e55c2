"""The LOB redo the synthetic writer emits has the shape of Oracle's: the 19c log's
locator byte for byte, its record order for an out-of-row insert, the field sizes of its
26.6 vectors and of the real 11.17 records."""

from __future__ import annotations

from drcapture.dictionary.model import OracleType
from drcapture.redo.blocks import BytesSource, RedoFile
from drcapture.redo.ops.dispatch import ParsedRecord
from drcapture.redo.ops.kdli import LobPage
from drcapture.redo.ops.lob import LobOp
from drcapture.redo.reader import iter_records
from drcapture.synth.workload import Col, Commit, Insert, Step, Table, Workload, row
from drcapture.synth.workload_build import build_workload
from drcapture.synth.writer_lob import StoredLob, locator
from drcapture.values.lob import Extent, LobKind, parse_locator

from tests.unit.capture.test_redo_helpers import folder_records

T = OracleType
DOCS = Table(
    "HIS",
    "DOCS",
    72000,
    (
        Col("ID", T.NUMBER),
        Col("TXT", T.CLOB),
        Col("NTXT", T.CLOB, charset_form=2),
        Col("BIN", T.BLOB),
        Col("NOTE", T.VARCHAR2, 50),
    ),
    pk=("ID",),
)
ROW2 = ("00700001010c0080000100000001000000bc9bcd00134090000d2200024dd701000201c0069e13")


def test_locator_is_the_19c_logs_byte_for_byte() -> None:
    lob = StoredLob(LobKind.BLOB, bytes.fromhex("00000001000000bc9bcd"), bytes(150_999),
                    in_row=False, extents=(Extent(0x01C0069E, 0x13),), varying=False)
    assert locator(lob).hex() == ROW2


def test_in_row_locators_have_the_ojdbc_types_layout() -> None:
    lid = bytes.fromhex("00000001000000106533")
    clob = StoredLob(LobKind.CLOB, lid, "G".encode("utf-16-be") * 100, in_row=True,
                     extents=(), varying=True)
    assert locator(clob).hex() == ("00700001020c808000020000000100000010653300d2489000cc0000c801"
                                   + "0047" * 100)
    empty = StoredLob(LobKind.BLOB, bytes.fromhex("00000001000000106527"), b"", in_row=True,
                      extents=(), varying=False)
    assert locator(empty).hex() == "00700001010c0080000100000001000000106527000a4890000400000000"


def _records(steps: tuple[Step, ...]) -> list[ParsedRecord]:
    built = build_workload(Workload(tables=(DOCS,), steps=steps))
    return list(iter_records(RedoFile(BytesSource(built.logs[0].data))))


def _shape(rec: ParsedRecord) -> list[str]:
    out = []
    for pv in rec.ops:
        h = pv.vector.header
        name = f"{h.layer}.{h.code}"
        if isinstance(pv.op, LobOp):
            name += f"/{pv.op.kind}"
        out.append(name)
    return out


def test_out_of_row_insert_has_the_19c_logs_record_order() -> None:
    recs = _records((Step(1, "a", Insert("DOCS", row(ID="1", BIN="AA" * 20_000))),
                     Step(1, "a", Commit())))
    assert [_shape(r) for r in recs] == [
        ["5.2"], ["11.17/4"], ["11.17/1"], ["11.17/3"], ["11.17/1"],
        ["26.6"], ["26.6"], ["26.6"], ["11.17/3"], ["5.1", "11.2"], ["5.4"]]
    lengths = [op.length for r in recs for pv in r.ops if isinstance(op := pv.op, LobOp)]
    assert lengths == [None, 0, 0, 20_000, 20_000]
    pages = [pv for r in recs for pv in r.ops if isinstance(pv.op, LobPage)]
    assert [[f.length for f in pv.vector.fields] for pv in pages] == [
        [12, 32, 56, 8060, 24], [12, 32, 56, 8060, 24], [12, 32, 56, 3880, 24]]
    head = pages[0].vector.header
    assert (head.cls, head.afn, head.typ, head.dba >> 22) == (1, 7, 0x0A, 7)
    row_op = recs[-2].ops[1].op
    locator_bytes = next(c.value for c in row_op.columns if c.index == 3)  # type: ignore[union-attr]
    assert locator_bytes is not None
    found = parse_locator(locator_bytes)
    assert found.lid == pages[0].op.lid and found.length == 20_000  # type: ignore[union-attr]


def test_llb_fields_have_the_real_records_sizes() -> None:
    recs = _records((Step(1, "a", Insert("DOCS", row(ID="1", BIN="AA" * 9000))),
                     Step(1, "a", Commit())))
    ours = {op.kind: [f.length for f in pv.vector.fields] for r in recs for pv in r.ops
            if isinstance(op := pv.op, LobOp)}
    real = {pv.op.kind: [f.length for f in pv.vector.fields]
            for rec in folder_records("Op11_17_Test")[0:3:2] for pv in rec.parsed().ops
            if isinstance(pv.op, LobOp)}
    assert ours[1] == real[1] == [16, 1, 80, 8]
    assert ours[3] == real[3] == [16, 1, 36]
    llb = next(pv.vector for r in recs for pv in r.ops if isinstance(pv.op, LobOp))
    assert (llb.header.typ, llb.header.cls, llb.header.dba) == (6, 0, 0)


def test_in_row_and_empty_lobs_write_no_pages() -> None:
    recs = _records((Step(1, "a", Insert("DOCS", row(ID="1", TXT="short", BIN=""))),
                     Step(1, "a", Commit())))
    shapes = [_shape(r) for r in recs]
    assert ["26.6"] not in shapes
    assert shapes == [["5.2"], ["11.17/4"], ["11.17/1"], ["11.17/3"], ["5.1", "11.2"], ["5.4"]]


def test_dump_names_lob_redo() -> None:
    from drcapture.redo.render import dump_lines

    built = build_workload(Workload(tables=(DOCS,), steps=(
        Step(1, "a", Insert("DOCS", row(ID="1", BIN="AA" * 9000))), Step(1, "a", Commit()))))
    lines = list(dump_lines(iter_records(RedoFile(BytesSource(built.logs[0].data)))))
    assert sum("  lob page lid=" in line for line in lines) == 2
    assert any(" write lid=" in line and "length=9000" in line for line in lines)
