"""Dictionary loaders: OpenLogReplicator checkpoint, our snapshot format, live Oracle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from drcapture.dictionary import live
from drcapture.dictionary.model import IotDef, OracleType
from drcapture.dictionary.olr import load_olr_checkpoint, load_olr_checkpoint_file
from drcapture.dictionary.snapshot import (
    dump_snapshot,
    load_snapshot,
    load_snapshot_file,
    save_snapshot_file,
)
from drcommon.errors import ParseError, UnsupportedFormat

from tests.unit.capture.test_redo_helpers import FREE23

CHECKPOINT = FREE23 / "olr-checkpoint-2266634.json"


def test_olr_checkpoint_test_cdc() -> None:
    d = load_olr_checkpoint_file(CHECKPOINT)
    assert (d.db_id, d.db_name, d.scn) == (1385559638, "TEST", 2266634)
    assert (d.charsets.database, d.charsets.national) == ("AL32UTF8", "AL16UTF16")
    table = d.table_for(72726)
    assert table is not None
    assert (table.owner, table.name, table.pk, table.data_obj) == (
        "OLR_TEST", "TEST_CDC", ("ID",), 72726)
    assert [(c.seg_col, c.name, c.type_code) for c in table.columns] == [
        (1, "ID", OracleType.NUMBER), (2, "NAME", OracleType.VARCHAR2)]
    assert not table.columns[0].nullable and table.columns[1].nullable
    assert table.columns[1].type_name == "VARCHAR2" and table.columns[1].charset_form == 1


def test_olr_checkpoint_unreadable(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ParseError):
        load_olr_checkpoint_file(bad)


def test_snapshot_round_trip(tmp_path: Path) -> None:
    d = load_olr_checkpoint_file(CHECKPOINT)
    d.tables[99999] = d.tables[72726]  # a partition of TEST_CDC
    path = tmp_path / "dict.json"
    save_snapshot_file(d, path)
    back = load_snapshot_file(path)
    assert back.tables == d.tables
    assert (back.db_id, back.db_name, back.scn, back.charsets) == (
        d.db_id, d.db_name, d.scn, d.charsets)
    assert dump_snapshot(back)["aliases"] == {"99999": 72726}


def test_snapshot_refuses_other_versions() -> None:
    doc = dump_snapshot(load_olr_checkpoint_file(CHECKPOINT))
    with pytest.raises(UnsupportedFormat):
        load_snapshot({**doc, "version": 2})
    with pytest.raises(ParseError):
        load_snapshot({**doc, "format": "something-else"})


def test_live_loader_builds_from_dictionary_rows() -> None:
    d = live._build(
        7, "ORCL", 100, {"NLS_CHARACTERSET": "WE8MSWIN1252"},
        table_rows=[(10, 11, "APP", "T"), (20, 20, "APP", "P")],
        column_rows=[(10, 1, 1, 1, "ID", 2, 22, 10, 0, 0, 0, 1, 0),
                     (10, 2, 0, 2, "V", 2, 22, None, None, 0, 0, 0, 0x10000),
                     (10, 3, 2, 3, "S", 1, 30, None, None, 1, 178, 0, 0)],
        pk_rows=[(10, 1, 1)],
        part_rows=[(30, 10), (31, 32), (32, 10)],
    )
    table = d.table_for(10)
    assert table is not None
    assert [c.name for c in table.columns] == ["ID", "S"]  # the virtual column is not stored
    assert table.pk == ("ID",) and table.data_obj == 11
    assert d.table_for(30) is table and d.table_for(31) is table
    assert d.charsets.database == "WE8MSWIN1252"


def test_live_loader_needs_owners() -> None:
    with pytest.raises(Exception, match="owners"):
        live.load_live(None, [])  # type: ignore[arg-type]


# --- index-organized tables -------------------------------------------------------------


def _iot_checkpoint(pk_named: bool, partitioned: bool = False) -> dict[str, Any]:
    """An OLR checkpoint document with one IOT (obj 500) with an overflow segment: the
    sections and fields OLR writes (sys-obj, sys-tab, sys-col …), values made up."""
    index_name = "T_IOT_PK" if pk_named else "SYS_IOT_TOP_500"
    return {
        "database": "DB", "db-id": 1, "scn": 10,
        "sys-user": [{"user": 7, "name": "APP"}],
        "sys-obj": [
            {"owner": 7, "obj": 500, "data-obj": None, "name": "T_IOT", "type": 2},
            {"owner": 7, "obj": 501, "data-obj": 501, "name": index_name, "type": 1},
            {"owner": 7, "obj": 502, "data-obj": 502, "name": "SYS_IOT_OVER_500", "type": 2},
        ],
        "sys-tab": [
            {"obj": 500, "property": [0x40 | 0x80 | (0x20 if partitioned else 0), 0]},
            {"obj": 502, "property": [0x200, 0]},
        ],
        "sys-col": [
            {"obj": 500, "col": 2, "seg-col": 1, "int-col": 2, "name": "K", "type": 2},
            {"obj": 500, "col": 1, "seg-col": 2, "int-col": 1, "name": "V", "type": 1},
        ],
        "sys-cdef": [{"con": 9, "obj": 500, "type": 2}],
        "sys-ccol": [{"con": 9, "int-col": 2, "obj": 500, "pos": 1}],
    }


def test_olr_checkpoint_knows_iots_by_their_segment_names() -> None:
    d = load_olr_checkpoint(_iot_checkpoint(pk_named=False))
    table = d.table_for(500)
    assert table is not None and table.iot == IotDef(index_obj=501, overflow_obj=502)
    assert d.table_for(501) is table and d.table_for(502) is table
    assert [c.name for c in table.columns] == ["K", "V"] and table.pk == ("K",)
    assert table.data_obj is None


@pytest.mark.parametrize("pk_named, partitioned", [(True, False), (False, True)])
def test_olr_checkpoint_cannot_name_every_iot_index(pk_named: bool, partitioned: bool) -> None:
    d = load_olr_checkpoint(_iot_checkpoint(pk_named, partitioned))
    table = d.table_for(500)
    assert table is not None and table.iot is not None
    assert table.iot.index_obj is None  # capture refuses the table (see test_iot_records)
    assert d.table_for(502) is table


def test_snapshot_round_trip_keeps_iots() -> None:
    d = load_olr_checkpoint(_iot_checkpoint(pk_named=False))
    doc = dump_snapshot(d)
    assert doc["aliases"] == {"501": 500, "502": 500}
    [entry] = doc["tables"]
    assert entry["iot"] == {"index_obj": 501, "overflow_obj": 502, "key_compressed": False}
    back = load_snapshot(json.loads(json.dumps(doc)))
    assert back.tables == d.tables
    assert back.table_for(501) is back.table_for(500)
    entry.pop("iot")  # a snapshot written before IOTs were known still loads
    assert load_snapshot(doc).table_for(500).iot is None  # type: ignore[union-attr]


def test_live_loader_reads_iots_from_tab_and_ind() -> None:
    d = live._build(
        7, "ORCL", 100, {},
        table_rows=[(500, None, "APP", "T_IOT"), (502, 502, "APP", "SYS_IOT_OVER_500"),
                    (600, None, "APP", "P_IOT")],
        column_rows=[(500, 2, 1, 2, "K", 2, 22, None, None, 0, 0, 1, 0),
                     (500, 1, 2, 1, "V", 1, 30, None, None, 1, 873, 0, 0),
                     (600, 1, 1, 1, "K", 2, 22, None, None, 0, 0, 1, 0)],
        pk_rows=[(500, 2, 1), (600, 1, 1)],
        part_rows=[(503, 502)],  # a partition of the overflow segment
        iot=([(500, None, 0x40 | 0x80), (502, 500, 0x200), (600, None, 0x40 | 0x20)],
             [(501, 500, 0), (601, 600, 0x20)],
             [(610, 601), (611, 601)]),
    )
    table = d.table_for(500)
    assert table is not None and table.iot == IotDef(index_obj=501, overflow_obj=502)
    assert [c.name for c in table.columns] == ["K", "V"]  # leaf order: key first
    assert all(d.table_for(o) is table for o in (501, 502, 503))
    part = d.table_for(600)
    assert part is not None and part.iot == IotDef(index_obj=601, key_compressed=True)
    assert d.table_for(610) is part and d.table_for(611) is part


def test_live_loader_iot_statements() -> None:
    assert "sys.tab$ AS OF SCN :scn" in live.SQL_IOTS
    assert "BITAND(t.property, 576)" in live.SQL_IOTS and 576 == 0x40 | 0x200
    assert "t.bobj#" in live.SQL_IOTS
    assert "sys.ind$ AS OF SCN :scn" in live.SQL_IOT_INDEXES
    assert "i.type# = 4" in live.SQL_IOT_INDEXES and "i.flags" in live.SQL_IOT_INDEXES
    for table in ("indpart$", "indcompart$", "indsubpart$"):
        assert f"sys.{table} AS OF SCN :scn" in live.SQL_INDEX_PARTITIONS
    assert "{owners}" in live.SQL_IOTS and "{owners}" in live.SQL_IOT_INDEXES


class _Cursor:
    """Answers the loader's statements from canned rows, in order."""

    def __init__(self, answers: list[list[tuple[Any, ...]]]) -> None:
        self.answers = answers
        self.statements: list[str] = []

    def execute(self, statement: str, parameters: dict[str, Any] | None = None) -> None:
        self.statements.append(statement)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.answers.pop(0)


def test_live_loader_asks_for_iot_indexes_only_when_there_are_iots() -> None:
    base: list[list[tuple[Any, ...]]] = [[(1, "DB", 50)], [], [(10, 10, "APP", "T")], [], [], []]
    cursor = _Cursor([*base, []])
    live.load_live(cursor, ["app"])
    assert cursor.statements[-1].startswith("SELECT t.obj#, t.bobj#")
    cursor = _Cursor([*base, [(10, None, 0x40)], [(11, 10, 0)], []])
    d = live.load_live(cursor, ["app"])
    assert d.table_for(11) is d.table_for(10) is not None
    assert cursor.statements[-1] == live.SQL_INDEX_PARTITIONS
