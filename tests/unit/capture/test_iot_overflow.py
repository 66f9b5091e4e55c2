"""Index-organized tables with an OVERFLOW segment: the leaf row holds the key and the
columns up to INCLUDING, the overflow segment (a heap segment, its own object) the rest
as a row piece the leaf points to (Oracle Concepts, "Index-Organized Tables with Row
Overflow Area"). Changes of overflow rows are layer-11 row pieces on that object.

No real record of such a change is in our fixtures, so the records here are built
from the layouts we do know (5.1 + 11.x row pieces with supplemental data, the leaf ops
of test_iot_records) in the shape chained heap rows have (first/last flags spanning the
pieces); what the reader must never do is guess: an overflow piece without column
numbers, a leaf that goes on without its overflow piece, or an image without its key
is refused."""

from __future__ import annotations

import pytest
from drcapture.dictionary.model import ColumnDef, Dictionary, IotDef, OracleType, TableDef
from drcapture.errors import UndecodableChange
from drcapture.redo.binary import LITTLE
from drcapture.redo.ops.dispatch import ParsedRecord, decode_record
from drcapture.redo.ops.iot import UNDO_OPC, LeafCode, UndoKind
from drcapture.redo.ops.kdo import FB_FIRST, FB_HEAD, FB_LAST, FB_NEXT, RowCode
from drcapture.redo.ops.undo import KTUB_OPC_CODE, KTUB_OPC_LAYER, SuppType
from drcapture.redo.records import RawRecord, Rba, RecordLayout, parse_record
from drcapture.redo.txn.assembler import AssemblerOptions, TransactionAssembler
from drcapture.redo.xid import Xid
from drcapture.synth import writer_iot as W
from drcapture.synth.writer_ops import (
    RowAt,
    Txn,
    Uba,
    drp,
    irp,
    ktb_f,
    ktb_z,
    ktub,
    ktudb,
    row_vector,
    supplemental,
    undo_vector,
    urp,
)
from drcapture.synth.writer_records import PLATFORMS, Packer, RecordSpec, encode_record
from drcommon.model import Operation

TABLE, INDEX, OVERFLOW = 82000, 82001, 82002
T_OVF = TableDef(
    obj=TABLE, owner="APP", name="T_OVF",
    columns=(ColumnDef(1, 1, "K", OracleType.NUMBER),
             ColumnDef(2, 2, "A", OracleType.VARCHAR2, charset_form=1),
             ColumnDef(3, 3, "B", OracleType.VARCHAR2, charset_form=1),
             ColumnDef(4, 4, "C", OracleType.NUMBER)),
    pk=("K",), iot=IotDef(index_obj=INDEX, overflow_obj=OVERFLOW))
PLATFORM = PLATFORMS["getLinux19c"]
P = Packer(PLATFORM.order)
TXN = Txn(usn=3, slot=5, sqn=77, undo_afn=3, undo_header_dba=(3 << 22) | 384)
LEAF = RowAt(bdba=(5 << 22) | 0x300, slot=0, hdba=(5 << 22) | 0x2FF)
OVER = RowAt(bdba=(6 << 22) | 0x400, slot=0, hdba=(6 << 22) | 0x3FF)
NUM_7, NUM_9 = b"\xc1\x08", b"\xc1\x0a"  # NUMBER 7, NUMBER 9
FIRST_ONLY, LAST_ONLY = 0x08, 0x04  # supplemental fb: opens / closes a row change
_next = iter(range(1, 100))


def _dictionary() -> Dictionary:
    d = Dictionary(tables={TABLE: T_OVF})
    d.add_iot_segments()
    return d


def _record(*vectors: object) -> ParsedRecord:
    n = next(_next)
    data = encode_record(RecordSpec(scn=1000 + n, vectors=tuple(vectors)), PLATFORM)  # type: ignore[arg-type]
    return decode_record(parse_record(RawRecord(Rba(9, 0x100 + n, 0x10), data),
                                      RecordLayout(LITTLE, wide_vectors=True)))


def _supp(op: int, start_undo: int, start_redo: int, fb: int,
          columns: list[tuple[int, bytes | None]] | None = None) -> list[bytes]:
    fields = list(supplemental(P, op, start_undo, start_redo, columns or []))
    head = bytearray(fields[0])
    head[1] = fb
    return [bytes(head), *fields[1:]]


def _undo(rec: int, obj: int, opc: tuple[int, int], body: list[bytes]) -> object:
    uba = Uba((3 << 22) | 0x500, 1, rec)
    head = bytearray(ktub(P, obj, obj, TXN, 0, begin=False))
    head[KTUB_OPC_LAYER], head[KTUB_OPC_CODE] = opc
    fields = [bytes(head), *body]
    return undo_vector(TXN, uba, [ktudb(P, TXN, uba, 20 + sum(map(len, fields))), *fields],
                       1000, 0)


def _leaf_insert(fb: int, nrid: bool, supp_fb: int) -> ParsedRecord:
    """5.1 (kdxlpu) + 10.2: key 7, leaf non-key part A='a' that goes on (fb N)."""
    key = W.key_field(P, [NUM_7])
    nonkey = bytearray(W.nonkey_field(P, [b"a"]))
    nonkey[0] = fb
    if nrid:
        nonkey[3:3] = P.u32(OVER.bdba) + P.u16(OVER.slot)
    undo = _undo(2, INDEX, UNDO_OPC, [ktb_z(P), bytes(W.kdilk(P, UndoKind.PURGE, LEAF)), key,
                                      *_supp(SuppType.INSERT, 0, 1, supp_fb)])
    redo = W.leaf_vector(LeafCode.INSERT, [ktb_f(P, TXN, Uba(0, 0, 2)),
                                           bytes(W.leaf_header(P, 0, 20)), key, bytes(nonkey)],
                         LEAF, INDEX, 1000, 0)
    return _record(undo, redo)


def _overflow_insert(supp_fb: int, start_redo: int = 3) -> ParsedRecord:
    """5.1 (11.1 DRP) + 11.2 IRP on the overflow segment: B='b', C=9."""
    undo = _undo(1, OVERFLOW, (11, 1), [ktb_z(P), *drp(P, OVER),
                                        *_supp(SuppType.INSERT, 0, start_redo, supp_fb)])
    redo = row_vector(RowCode.IRP, [ktb_f(P, TXN, Uba(0, 0, 1)), *irp(P, OVER, [b"b", NUM_9])],
                      OVER, OVERFLOW, 1000, 0)
    return _record(undo, redo)


def _commit(records: list[ParsedRecord]) -> list[object]:
    asm = TransactionAssembler(_dictionary(), AssemblerOptions(thread=1))
    for rec in records:
        asm.feed(rec)
    tx = asm.commit(Xid(TXN.usn, TXN.slot, TXN.sqn), scn=5000, rba="0x000009.00000200.0010")
    return list(tx.changes) if tx else []


@pytest.mark.parametrize("nrid", [True, False])
@pytest.mark.parametrize("overflow_first", [True, False])
def test_an_insert_joins_its_leaf_and_overflow_pieces(nrid: bool, overflow_first: bool) -> None:
    goes_on = FB_HEAD | FB_FIRST | FB_NEXT
    if overflow_first:  # (records are made in redo order: their SCNs grow)
        records = [_overflow_insert(FIRST_ONLY), _leaf_insert(goes_on, nrid, LAST_ONLY)]
    else:
        records = [_leaf_insert(goes_on, nrid, FIRST_ONLY), _overflow_insert(LAST_ONLY)]
    [change] = _commit(records)
    assert change.op is Operation.INSERT and change.table == "T_OVF"  # type: ignore[attr-defined]
    assert change.obj == TABLE and change.row_id is None  # type: ignore[attr-defined]
    assert change.after == {"K": "7", "A": "a", "B": "b", "C": "9"}  # type: ignore[attr-defined]


def test_a_leaf_that_goes_on_without_its_overflow_piece_is_refused() -> None:
    leaf = _leaf_insert(FB_HEAD | FB_FIRST | FB_NEXT, True, FIRST_ONLY | LAST_ONLY)
    with pytest.raises(UndecodableChange, match="overflow segment"):
        _commit([leaf])


def test_a_leaf_that_ends_in_the_leaf_needs_no_overflow_piece() -> None:
    leaf = _leaf_insert(FB_HEAD | FB_FIRST | FB_LAST, False, FIRST_ONLY | LAST_ONLY)
    [change] = _commit([leaf])
    assert change.after == {"K": "7", "A": "a", "B": None, "C": None}  # type: ignore[attr-defined]


def test_an_overflow_piece_without_column_numbers_is_refused() -> None:
    with pytest.raises(UndecodableChange, match="supplemental column numbers"):
        _commit([_overflow_insert(FIRST_ONLY, start_redo=0)])


def _overflow_update(logged: list[tuple[int, bytes | None]]) -> ParsedRecord:
    """5.1 (11.1 URP) + 11.5 URP on the overflow segment: C 9 -> 7 (the supplemental
    starts number the first column listed: C, column 4)."""
    undo = _undo(3, OVERFLOW, (11, 1), [ktb_z(P), *urp(P, OVER, 2, [(1, NUM_9)]),
                                        *_supp(SuppType.UPDATE, 4, 4, FIRST_ONLY | LAST_ONLY,
                                               logged)])
    redo = row_vector(RowCode.URP, [ktb_f(P, TXN, Uba(0, 0, 3)), *urp(P, OVER, 2, [(1, NUM_7)])],
                      OVER, OVERFLOW, 1000, 0)
    return _record(undo, redo)


def test_an_update_of_overflow_columns_carries_the_key_supplementally_logged() -> None:
    [change] = _commit([_overflow_update([(1, NUM_7)])])
    assert change.op is Operation.UPDATE  # type: ignore[attr-defined]
    assert change.before == {"K": "7", "C": "9"}  # type: ignore[attr-defined]
    assert change.after == {"K": "7", "C": "7"}  # type: ignore[attr-defined]


def test_an_update_of_overflow_columns_without_the_key_is_refused() -> None:
    with pytest.raises(UndecodableChange, match="primary key"):
        _commit([_overflow_update([])])
