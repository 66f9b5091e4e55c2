"""Dictionary loaders: OpenLogReplicator checkpoint, our snapshot format, live Oracle."""

from __future__ import annotations

from pathlib import Path

import pytest
from drcapture.dictionary import live
from drcapture.dictionary.model import OracleType
from drcapture.dictionary.olr import load_olr_checkpoint_file
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
