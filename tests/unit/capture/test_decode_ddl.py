"""``drcapture decode`` follows the logs' DDL like the service (dictionary versions by
commit SCN): the 2-thread RAC workload of tests/support/ddl_workload.py, decoded offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from drcapture.dictionary.model import OracleType
from drcapture.filtering import TableFilter
from drcapture.offline import decode_dicts, decode_transactions
from drcapture.synth.workload import (
    Col,
    Commit,
    CreateTable,
    Insert,
    RenameTable,
    Step,
    Table,
    Workload,
    row,
)
from drcapture.synth.workload_build import build_workload
from drcommon.errors import SourceError

from tests.support.ddl_workload import DDL_COUNT, STAGE, built_ddl_workload

WANTED = TableFilter(("SI.*", "HIS.*"))


def _decoded(tmp_path: Path, *, track: bool) -> list[dict[str, Any]]:
    built = built_ddl_workload()
    files = built.write(tmp_path)
    return list(decode_dicts(decode_transactions(
        files, built.dictionary, WANTED, system=built.system if track else None)))


def test_each_change_decodes_with_the_version_valid_at_its_commit(tmp_path: Path) -> None:
    changes = _decoded(tmp_path, track=True)
    ddl = [c for c in changes if c["op"] == "ddl"]
    assert len(ddl) == DDL_COUNT
    assert [c["table"] for c in ddl] == ["PERSON", "PERSON", "PERSON", "SALES", "ORDERS",
                                         "VISIT", "SCRATCH", "SCRATCH"]
    # The kind each statement's 24.1 names (Oracle's command number, by name).
    assert [c["ddl_command"] for c in ddl] == [*["ALTER TABLE"] * 4, "CREATE TABLE",
                                               "TRUNCATE TABLE", "CREATE TABLE", "DROP TABLE"]
    person = [c for c in changes if c["table"] == "PERSON" and c["op"] != "ddl"]
    # Before ADD COLUMN: no MOBILE; after: inserted with it; after the rename, ADDR;
    # after the drop, no BALANCE.
    assert set(person[0]["after"]) == {"ID", "NAME", "ADDRESS", "BALANCE"}
    inserted_4 = next(c for c in person if c["after"] and c["after"].get("ID") == "4")
    assert inserted_4["after"]["MOBILE"] == "13800000004"
    assert set(inserted_4["after"]) == {"ID", "NAME", "ADDRESS", "BALANCE", "MOBILE"}
    inserted_5 = next(c for c in person if c["after"] and c["after"].get("ID") == "5")
    assert set(inserted_5["after"]) == {"ID", "NAME", "ADDR", "MOBILE"}
    # A table created on thread 2 and filled from thread 1: its rows from the first on.
    orders = [c["after"] for c in changes if c["table"] == "ORDERS" and c["op"] == "insert"]
    assert orders == [{"OID": "1", "ITEM": "胰岛素"}, {"OID": "2", "ITEM": "阿莫西林"}]
    scratch = [c for c in changes if c["table"] == "SCRATCH" and c["op"] == "insert"]
    assert [c["after"] for c in scratch] == [{"ID": "1", "V": "tmp"}]


def test_without_the_dictionary_rows_later_rows_are_not_decoded_as_the_source_wrote_them(
    tmp_path: Path,
) -> None:
    changes = _decoded(tmp_path, track=False)
    # ORDERS is unknown to the first dictionary: its rows are not captured at all.
    assert not [c for c in changes if c["table"] == "ORDERS" and c["op"] == "insert"]


def test_a_table_created_after_the_dictionary_reads_back_with_its_lobs(tmp_path: Path) -> None:
    """Its LOB pages are read while no version knows the table yet: they are kept with
    its rows, and the out-of-row CLOB and BLOB read back whole with the version its CREATE
    TABLE makes."""
    notes = Table("SI", "NOTES", 90060, (Col("ID", OracleType.NUMBER),
                                         Col("TXT", OracleType.CLOB),
                                         Col("BIN", OracleType.BLOB)), pk=("ID",))
    text = "病历" * 4000
    built = build_workload(Workload(tables=(STAGE,), steps=(
        Step(1, "a", CreateTable(notes)),
        Step(1, "b", Insert("NOTES", row(ID="1", TXT=text, BIN="AB" * 9000))),
        Step(1, "b", Insert("NOTES", row(ID="2", TXT="short"))),
        Step(1, "b", Commit()),
    )))
    files = built.write(tmp_path)
    changes = list(decode_dicts(decode_transactions(files, built.dictionary,
                                                    TableFilter(("SI.NOTES",)),
                                                    system=built.system)))
    assert [(c["op"], c["ddl_command"]) for c in changes] == [
        ("ddl", "CREATE TABLE"), ("insert", None), ("insert", None)]
    assert changes[1]["after"] == {"ID": "1", "TXT": text, "BIN": "AB" * 9000}
    assert changes[2]["after"] == {"ID": "2", "TXT": "short", "BIN": None}


def test_a_table_renamed_into_the_filter_is_refused_not_left_out(tmp_path: Path) -> None:
    """Its insert after the RENAME was read with the dictionary before it (not wanted
    then): decode says so, naming the table, instead of printing less."""
    built = build_workload(Workload(tables=(STAGE,), steps=(
        Step(1, "a", Insert("STAGE", row(ID="1", V="before"))),
        Step(1, "a", Commit()),
        Step(1, "d", RenameTable("STAGE", "PEOPLE")),
        Step(1, "b", Insert("PEOPLE", row(ID="2", V="after"))),
        Step(1, "b", Commit()),
    )))
    files = built.write(tmp_path)
    with pytest.raises(SourceError, match=r"tables=SI\.PEOPLE, scn=\d+"):
        decode_transactions(files, built.dictionary, TableFilter(("SI.PEOPLE",)),
                            system=built.system)
