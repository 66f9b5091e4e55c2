"""Fields the reader checks against what follows them, proven on every real record
(both free23 logs and the 225 oracdc records): the supplemental header's column count,
and the container uid a 12.1+ transaction begin names. Damage to either is reported
with what was expected and what was found."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pytest
from drcapture.redo.binary import LITTLE
from drcapture.redo.ops.dispatch import ParsedRecord
from drcapture.redo.ops.undo import SUPP_CC, TxBegin, UndoRecord, quick_begin
from drcapture.redo.vectors import VectorSlot
from drcommon.errors import CorruptRedo

from tests.unit.capture.test_redo_helpers import (
    FREE23_LOGS,
    IndexedRecord,
    file_records,
    folder_records,
    oracdc_index,
)


def _real_records() -> Iterator[ParsedRecord]:
    for path in FREE23_LOGS:
        yield from file_records(path)
    for rec in oracdc_index():
        yield rec.parsed()


def _undo_with_columns(rec: IndexedRecord) -> tuple[UndoRecord, int, int]:
    """The record's undo record with logged supplemental columns, and the absolute
    offsets of its supplemental header field and of its column-length field."""
    for pv in rec.parsed().ops:
        op = pv.op
        if isinstance(op, UndoRecord) and op.supplemental and op.supplemental.columns:
            assert op.row_op is not None
            fields = pv.vector.fields
            return op, fields[op.row_op.next_field].offset, fields[op.row_op.next_field + 2].offset
    raise AssertionError(f"{rec.file} logs no supplemental columns")


def _damaged(rec: IndexedRecord, at: int, value: bytes) -> IndexedRecord:
    data = bytearray(rec.data)
    data[at : at + len(value)] = value
    return IndexedRecord(rec.file, rec.scn, rec.rba, rec.layout, bytes(data))


def test_supplemental_column_count_is_the_number_of_logged_columns() -> None:
    seen = with_columns = 0
    for parsed in _real_records():
        for pv in parsed.ops:
            supp = pv.op.supplemental if isinstance(pv.op, UndoRecord) else None
            if supp is None:
                continue
            seen += 1
            with_columns += bool(supp.column_count)
            assert supp.column_count == len(supp.columns), parsed.record.rba
    # 23 in free23, 157 in the oracdc records (two follow a compressed undo row image)
    assert (seen, with_columns) == (180, 132)


def test_a_count_of_zero_reads_no_column_fields() -> None:
    # Two fields follow this header (a u16 7 and one byte) that are not column lists.
    rec = folder_records("Ops_IRP_ORP_BindingTest", range(0, 1))[0]
    undo = next(pv.op for pv in rec.parsed().ops if isinstance(pv.op, UndoRecord))
    assert undo.supplemental is not None
    assert undo.supplemental.column_count == 0 and undo.supplemental.columns == ()


def test_null_columns_are_logged_with_length_ffff() -> None:
    rec = folder_records("Op11_5_Test", range(3, 4))[0]
    undo, _, _ = _undo_with_columns(rec)
    assert undo.supplemental is not None
    assert undo.supplemental.column_count == 7
    assert all(value is None for _, value in undo.supplemental.columns)


@pytest.mark.parametrize(
    ("folder", "number", "delta"),
    [("Op11_5_Test", 8, -1), ("Ops_IRP_ORP_BindingTest", 2, 1)],  # the latter: 2 fields follow
)
def test_a_count_that_disagrees_with_the_column_fields_is_damage(
    folder: str, number: int, delta: int
) -> None:
    rec = folder_records(folder, range(number, number + 1))[0]
    undo, head, _ = _undo_with_columns(rec)
    assert undo.supplemental is not None
    count = undo.supplemental.column_count + delta
    damaged = _damaged(rec, head + SUPP_CC, struct.pack("<H", count))
    with pytest.raises(CorruptRedo) as caught:
        damaged.parsed()
    where = caught.value.where
    assert "supplemental column numbers disagree" in caught.value.message
    assert (where["expected"], where["found"]) == (2 * count, 2 * (count - delta))
    assert where["opcode"] == "5.1"


def test_a_count_larger_than_the_fields_left_is_damage() -> None:
    rec = folder_records("Op11_5_Test", range(8, 9))[0]
    _, head, _ = _undo_with_columns(rec)
    with pytest.raises(CorruptRedo, match="supplemental columns missing"):
        _damaged(rec, head + SUPP_CC, struct.pack("<H", 500)).parsed()


def test_a_value_that_disagrees_with_its_logged_length_is_damage() -> None:
    rec = folder_records("Op11_5_Test", range(8, 9))[0]
    _, _, lengths_at = _undo_with_columns(rec)
    first_length = struct.unpack_from("<H", rec.data, lengths_at)[0]
    with pytest.raises(CorruptRedo) as caught:
        _damaged(rec, lengths_at, struct.pack("<H", first_length + 1)).parsed()
    assert "supplemental column value disagrees" in caught.value.message
    assert (caught.value.where["expected"], caught.value.where["found"]) == (
        first_length + 1,
        first_length,
    )


def test_damage_is_reported_with_the_record_rba() -> None:
    rec = folder_records("Op11_5_Test", range(8, 9))[0]
    _, head, _ = _undo_with_columns(rec)
    with pytest.raises(CorruptRedo) as caught:
        _damaged(rec, head + SUPP_CC, struct.pack("<H", 1)).parsed()
    assert caught.value.where["rba"] == str(rec.rba)
    assert caught.value.where["vector"] == 1


def _begins(parsed: ParsedRecord) -> Iterator[tuple[TxBegin, int | None]]:
    for pv in parsed.ops:
        if isinstance(pv.op, TxBegin):
            yield pv.op, parsed.record.header.con_uid


def test_a_12c_begin_names_its_records_container() -> None:
    named = [(op.con_uid, uid) for parsed in _real_records() for op, uid in _begins(parsed)
             if op.con_uid is not None]
    assert len(named) == 28  # 21 in free23, 7 in the oracdc records
    assert all(con_uid == uid for con_uid, uid in named)
    assert {uid for _, uid in named} == {1, 1385559638, 3517775930, 1259897897, 1372444423}


@pytest.mark.parametrize(
    ("folder", "number", "why"),
    [
        ("Ops_LKR_URP_LMN_BindingTest", 0, "11g"),
        ("Ops_DRP_LMN_BindingTest", 4, "19c without containers: CON_UID 0, no field"),
        ("Op11_3_Test", 1, "a 5.2 with sqn 0 is no transaction start"),
    ],
)
def test_begins_without_the_container_field(folder: str, number: int, why: str) -> None:
    rec = folder_records(folder, range(number, number + 1))[0]
    (begin, _), = _begins(rec.parsed())
    assert begin.con_uid is None, why


def _begin_field(rec: IndexedRecord) -> tuple[int, VectorSlot]:
    """The offset of the container uid field of the record's 5.2, and the 5.2's slot."""
    parsed = rec.parsed()
    for slot, pv in zip(parsed.record.slots, parsed.ops, strict=True):
        if isinstance(pv.op, TxBegin):
            return pv.vector.fields[-1].offset, slot
    raise AssertionError(f"{rec.file} has no 5.2")


def test_a_begin_naming_another_container_is_damage() -> None:
    rec = folder_records("Op11_2_Test", range(0, 1))[0]  # CON_UID 3517775930
    at, slot = _begin_field(rec)
    damaged = _damaged(rec, at, struct.pack("<I", 3))
    with pytest.raises(CorruptRedo) as caught:
        damaged.parsed()
    assert "another container" in caught.value.message
    where = caught.value.where
    assert (where["expected"], where["found"], where["opcode"]) == (3517775930, 3, "5.2")
    assert where["rba"] == str(rec.rba)
    # The quick path leaves such a record to the full parser (which raises).
    assert quick_begin(damaged.data, slot, LITTLE, True) is None
    assert quick_begin(rec.data, slot, LITTLE, True) == next(_begins(rec.parsed()))[0]
