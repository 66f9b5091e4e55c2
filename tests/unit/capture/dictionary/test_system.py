"""SystemRows: the SYS dictionary tables' rows kept current from committed changes, on
the real Oracle 23 Free checkpoint (TEST_CDC is object 72726, owner OLR_TEST)."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
from drcapture.dictionary.derive import DatabaseFacts
from drcapture.dictionary.model import Dictionary, OracleType, SystemChange, TableDef
from drcapture.dictionary.olr import checkpoint_facts, load_olr_checkpoint
from drcapture.dictionary.snapshot import dump_snapshot, load_snapshot, load_snapshot_system
from drcapture.dictionary.system import (
    DictionaryChangeSet,
    SystemRows,
    rows_at,
    touched_tables,
)
from drcapture.values.rowid import decode_rowid
from drcommon.errors import ParseError

from tests.unit.capture.test_redo_helpers import FREE23

CHECKPOINT: dict[str, Any] = json.loads(
    (FREE23 / "olr-checkpoint-2266634.json").read_text(encoding="utf-8"))
FACTS = checkpoint_facts(CHECKPOINT)
TEST_CDC = 72726
# TEST_CDC's rows in the checkpoint
OBJ_ROW = "AAAAASAAAAAAHdNAAV"
TAB_ROW = "AAAAACAAAAAAFQ+AAD"
COL_ID, COL_NAME = "AAAAACAAAAAAFQ+AAH", "AAAAACAAAAAAFQ+AAI"
CDEF_PK, CCOL_PK = "AAAAAdAAAAAAHQXAAO", "AAAAAdAAAAAAHQXAAQ"


def rowid(data_obj: int, block: int, slot: int) -> str:
    """A ROWID in Oracle's base-64 form (file 1)."""
    return decode_rowid(struct.pack(">IIH", data_obj, (1 << 22) | block, slot))


def ins(table: str, rid: str, **values: object) -> SystemChange:
    return SystemChange(table, "insert", rid, _text(values))


def upd(table: str, rid: str, **values: object) -> SystemChange:
    return SystemChange(table, "update", rid, _text(values))


def dele(table: str, rid: str) -> SystemChange:
    return SystemChange(table, "delete", rid, {})


def _text(values: dict[str, object]) -> dict[str, str | None]:
    return {k.replace("_", "#") if k.endswith("_") else k: None if v is None else str(v)
            for k, v in values.items()}


def col(rid: str, obj: int, no: int, name: str, type_code: int, length: int, *,
        null: int = 0, form: int = 0, cs: int = 0) -> SystemChange:
    return SystemChange("COL$", "insert", rid, {
        "OBJ#": str(obj), "COL#": str(no), "SEGCOL#": str(no), "INTCOL#": str(no),
        "NAME": name, "TYPE#": str(type_code), "LENGTH": str(length), "PRECISION#": None,
        "SCALE": None, "NULL$": str(null), "PROPERTY": "0", "CHARSETFORM": str(form),
        "CHARSETID": str(cs), "SEGCOLLENGTH": str(length)})


def applied(*changes: SystemChange) -> Dictionary:
    rows = SystemRows.from_sections(CHECKPOINT)
    for change in changes:
        rows.apply(change)
    return rows.dictionary(FACTS)


def shape(table: TableDef | None) -> list[tuple[int, int, str, int, int, bool]]:
    assert table is not None
    return [(c.col_no, c.seg_col, c.name, c.type_code, c.length, c.nullable)
            for c in table.columns]


BASE = [(1, 1, "ID", OracleType.NUMBER, 22, False), (2, 2, "NAME", OracleType.VARCHAR2, 100, True)]


def test_rows_derive_what_the_checkpoint_loader_does() -> None:
    expected = load_olr_checkpoint(CHECKPOINT)
    got = SystemRows.from_sections(CHECKPOINT).dictionary(FACTS)
    assert got.tables == expected.tables and got.system_tables == expected.system_tables
    assert got.max_obj == expected.max_obj == 72727
    tab = got.system_tables[4]
    assert (tab.owner, tab.name, tab.data_obj, tab.cluster_key_columns) == ("SYS", "TAB$", 2, 1)
    assert [c.name for c in tab.columns[:4]] == ["OBJ#", "DATAOBJ#", "TS#", "FILE#"]
    assert got.system_tables[18].cluster_key_columns == 0  # OBJ$ is not clustered
    cdef = got.system_tables[31]
    assert (cdef.data_obj, cdef.cluster_key_columns, cdef.columns[0].name) == (29, 1, "OBJ#")
    assert SystemRows.from_sections(CHECKPOINT).dictionary(
        DatabaseFacts(max_obj=90000)).max_obj == 90000


def test_add_column() -> None:
    d = applied(
        col(rowid(2, 0x543E, 9), TEST_CDC, 3, "CREATED", OracleType.DATE, 7),
        upd("TAB$", TAB_ROW, OBJ_=TEST_CDC, COLS=3, INTCOLS=3, KERNELCOLS=3),  # untracked
        upd("OBJ$", OBJ_ROW, MTIME="ignored"),
    )
    assert shape(d.table_for(TEST_CDC)) == [*BASE, (3, 3, "CREATED", OracleType.DATE, 7, True)]
    assert d.table_for(TEST_CDC) is not None and d.table_for(TEST_CDC).pk == ("ID",)  # type: ignore[union-attr]


def test_drop_column_then_rename_column() -> None:
    added = rowid(2, 0x543E, 9)
    d = applied(
        col(added, TEST_CDC, 3, "CREATED", OracleType.DATE, 7),
        dele("COL$", COL_NAME),
        upd("COL$", added, OBJ_=TEST_CDC, COL_=2, SEGCOL_=2, INTCOL_=2),
        upd("COL$", COL_ID, OBJ_=TEST_CDC, NAME="KEY_ID"),
    )
    assert shape(d.table_for(TEST_CDC)) == [
        (1, 1, "KEY_ID", OracleType.NUMBER, 22, False), (2, 2, "CREATED", OracleType.DATE, 7, True)]
    assert d.table_for(TEST_CDC).pk == ("KEY_ID",)  # type: ignore[union-attr]


CREATE = (
    ins("OBJ$", rowid(18, 0x774D, 0x17), OBJ_=72728, DATAOBJ_=72728, OWNER_=136, NAME="ORDERS",
        NAMESPACE=1, TYPE_=2, FLAGS=0),
    ins("TAB$", rowid(2, 0x5440, 0), OBJ_=72728, DATAOBJ_=72728, TS_=6, CLUCOLS=None,
        FLAGS=1073741825, PROPERTY=17716740096),
    col(rowid(2, 0x5440, 1), 72728, 1, "ID", OracleType.NUMBER, 22, null=1),
    col(rowid(2, 0x5440, 2), 72728, 2, "ITEM", OracleType.VARCHAR2, 40, form=1, cs=873),
    ins("CDEF$", rowid(29, 0x7417, 0x20), CON_=8590, OBJ_=72728, TYPE_=2, COLS=1),
    ins("CCOL$", rowid(29, 0x7417, 0x21), CON_=8590, OBJ_=72728, INTCOL_=1, COL_=1, POS_=1),
)


def test_create_table() -> None:
    d = applied(*CREATE)
    table = d.table_for(72728)
    assert table is not None
    assert (table.owner, table.name, table.pk, table.data_obj) == ("OLR_TEST", "ORDERS", ("ID",),
                                                                   72728)
    assert shape(table) == [(1, 1, "ID", OracleType.NUMBER, 22, False),
                            (2, 2, "ITEM", OracleType.VARCHAR2, 40, True)]
    assert table.columns[1].charset_id == 873 and d.max_obj == 72728


def test_add_partition() -> None:
    partitioned = (
        ins("OBJ$", rowid(18, 0x774D, 0x20), OBJ_=72730, DATAOBJ_=None, OWNER_=136, NAME="SALES",
            TYPE_=2),
        ins("TAB$", rowid(2, 0x5441, 0), OBJ_=72730, DATAOBJ_=None, PROPERTY=0x20),
        col(rowid(2, 0x5441, 1), 72730, 1, "ID", OracleType.NUMBER, 22),
        ins("OBJ$", rowid(18, 0x774D, 0x21), OBJ_=72731, DATAOBJ_=72731, OWNER_=136, NAME="SALES",
            TYPE_=19),
        ins("TABPART$", rowid(947, 0x9000, 0), OBJ_=72731, DATAOBJ_=72731, BO_=72730, PART_=10),
    )
    added = (
        ins("OBJ$", rowid(18, 0x774D, 0x22), OBJ_=72732, DATAOBJ_=72732, OWNER_=136,
            NAME="SALES", TYPE_=19),
        ins("TABPART$", rowid(947, 0x9000, 1), OBJ_=72732, DATAOBJ_=72732, BO_=72730, PART_=20),
    )
    before = applied(*partitioned)
    assert before.table_for(72732) is None
    d = applied(*partitioned, *added)
    table = d.table_for(72730)
    assert table is not None and d.table_for(72731) is table and d.table_for(72732) is table
    assert d.max_obj == 72732
    assert touched_tables(added) == {72730}


def test_rename_table() -> None:
    d = applied(upd("OBJ$", OBJ_ROW, NAME="TEST_CDC_OLD"))
    table = d.table_for(TEST_CDC)
    assert table is not None and (table.name, shape(table)) == ("TEST_CDC_OLD", BASE)


DROP = (
    dele("CCOL$", CCOL_PK), dele("CDEF$", CDEF_PK), dele("CDEF$", "AAAAAdAAAAAAHQXAAP"),
    dele("COL$", COL_ID), dele("COL$", COL_NAME), dele("TAB$", TAB_ROW),
    dele("DEFERRED_STG$", "AAAABRAAAAAAIerACE"), dele("OBJ$", OBJ_ROW),
)


def test_drop_table() -> None:
    d = applied(*DROP)
    assert d.table_for(TEST_CDC) is None
    assert 4 in d.system_tables and d.max_obj == 72727  # the index SYS_C008586 stays


def test_truncate_is_a_new_data_object() -> None:
    d = applied(upd("OBJ$", OBJ_ROW, DATAOBJ_=72733), upd("TAB$", TAB_ROW, DATAOBJ_=72733))
    table = d.table_for(TEST_CDC)
    assert table is not None and table.data_obj == 72733 and shape(table) == BASE


def test_errors_name_the_rowid() -> None:
    rows = SystemRows.from_sections(CHECKPOINT)
    with pytest.raises(ParseError, match="already present") as info:
        rows.apply(col(COL_ID, TEST_CDC, 1, "ID", 2, 22))
    assert COL_ID in str(info.value)
    with pytest.raises(ParseError, match="unknown ROWID") as info:
        rows.apply(upd("COL$", "AAAAACAAAAAAFQ+AAZ", NAME="X"))
    assert "AAAAACAAAAAAFQ+AAZ" in str(info.value)
    with pytest.raises(ParseError, match="unknown ROWID"):
        rows.apply(dele("OBJ$", "AAAAASAAAAAAHdNAAZ"))
    with pytest.raises(ParseError, match="not an integer"):
        rows.apply(upd("OBJ$", OBJ_ROW, DATAOBJ_="x"))
    assert rows.apply(upd("TS$", "AAAAAGAAAAAAAC3AAA", NAME="USERS2")) is False  # not tracked


def test_touched_tables() -> None:
    rows = SystemRows.from_sections(CHECKPOINT)
    assert touched_tables(DROP, rows) == {TEST_CDC}  # the deleted rows say which object
    assert touched_tables(CREATE) == {72728}
    assert touched_tables([upd("OBJ$", OBJ_ROW, NAME="X")]) == set()  # nothing says which
    assert touched_tables([upd("OBJ$", OBJ_ROW, NAME="X")], rows) == {TEST_CDC}


def test_journal_round_trip_and_rows_at_an_scn() -> None:
    entries = [DictionaryChangeSet(2300000, "10.3.99", CREATE),
               DictionaryChangeSet(2300100, "10.4.7", (upd("OBJ$", OBJ_ROW, NAME="RENAMED"),)),
               DictionaryChangeSet(2300200, "10.5.1", DROP)]
    text = json.dumps([e.to_dict() for e in entries])
    back = [DictionaryChangeSet.from_dict(e) for e in json.loads(text)]
    assert back == entries
    base = SystemRows.from_sections(CHECKPOINT)
    assert rows_at(base, back, 2299999).dictionary(FACTS).tables == load_olr_checkpoint(
        CHECKPOINT).tables
    mid = rows_at(base, back, 2300150).dictionary(FACTS)
    assert mid.table_for(72728) is not None and mid.table_for(TEST_CDC).name == "RENAMED"  # type: ignore[union-attr]
    end = rows_at(base, back, 2300200).dictionary(FACTS)
    assert end.table_for(TEST_CDC) is None and end.table_for(72728) is not None
    assert base.dictionary(FACTS).table_for(TEST_CDC) is not None  # the base is unchanged
    with pytest.raises(ParseError):
        DictionaryChangeSet.from_dict({"scn": 1})


def test_snapshot_carries_the_rows() -> None:
    rows = SystemRows.from_sections(CHECKPOINT)
    rows.apply_all([DictionaryChangeSet(2300000, "10.3.99", CREATE)])
    dictionary = rows.dictionary(FACTS)
    doc = json.loads(json.dumps(dump_snapshot(dictionary, rows)))
    assert doc["max_obj"] == 72728 and {"sys-obj", "sys-col", "sys-ts"} <= set(doc["system"])
    back = load_snapshot(doc)
    assert back.tables == dictionary.tables and back.system_tables == dictionary.system_tables
    assert back.max_obj == 72728
    system = load_snapshot_system(doc)
    assert system is not None and system.sections == rows.sections
    old = dump_snapshot(dictionary)  # an old snapshot: no system rows, loads as before
    assert "system" not in old and load_snapshot(old).system_tables == {}


def test_dictionary_import_keeps_the_checkpoint_rows(tmp_path: Path) -> None:
    from drcapture.__main__ import dictionary_import

    out = tmp_path / "dict.json"
    dictionary_import(FREE23 / "olr-checkpoint-2266634.json", out)
    doc = json.loads(out.read_text(encoding="utf-8"))
    system = load_snapshot_system(doc)
    assert system is not None
    assert system.sections == SystemRows.from_sections(CHECKPOINT).sections
    loaded = load_snapshot(doc)
    assert loaded.max_obj == 72727 and loaded.system_tables[4].cluster_key_columns == 1
