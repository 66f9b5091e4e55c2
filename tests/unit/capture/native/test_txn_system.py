"""The core's changes of the SYS dictionary tables (issue 15), on the real Oracle 23 Free
redo (``free23-insert``): transaction 9.24.598 updates TAB$ (a member of the cluster
C_OBJ#, its key OBJ# carried as a supplemental column) when the first insert creates
TEST_CDC's segment. Those changes come out as ``SystemChange`` s, never as published
records; a read stops right after their commit; a commit decodes again with another
dictionary version; objects above ``max_obj`` are kept for a later version.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from drcapture.dictionary.model import ColumnDef, Dictionary, SystemChange, TableDef
from drcapture.dictionary.olr import load_olr_checkpoint_file
from drcapture.errors import UndecodableChange
from drcapture.native import NativeRedoFile
from drcapture.native_txn import CoreDictionary, CoreOptions, NativeCommit, ThreadCore
from drcapture.publish_records import RecordLimits
from drcapture.redo.records import ReadState

from tests.unit.capture.test_redo_helpers import FREE23, FREE23_LOGS

CHECKPOINT = FREE23 / "olr-checkpoint-2266634.json"
LOG15 = FREE23_LOGS[0].read_bytes()
TEST_CDC = 72726
DDL_XID = "9.24.598"
INSERT_XID = "10.12.572"


def _column(row: dict[str, Any]) -> ColumnDef:
    def opt(value: Any) -> int | None:
        return None if value is None or int(value) < 0 else int(value)

    return ColumnDef(col_no=int(row["col"]), seg_col=int(row["seg-col"]), name=row["name"],
                     type_code=int(row["type"]), length=int(row.get("length", 0)),
                     precision=opt(row.get("precision")), scale=opt(row.get("scale")),
                     charset_form=int(row.get("charset-form", 0)),
                     charset_id=int(row.get("charset-id", 0)),
                     nullable=int(row.get("null", 0)) == 0)


def system_tables(path: Path = CHECKPOINT) -> dict[int, TableDef]:
    """The SYS tables (owner 0) of an OLR checkpoint, from its sys-obj, sys-tab (data
    object, clu-cols) and sys-col rows (a test helper; the production loader is the
    dictionary's own)."""
    data = json.loads(path.read_text())
    tabs = {int(r["obj"]): r for r in data["sys-tab"]}
    columns: dict[int, list[ColumnDef]] = {}
    for row in data["sys-col"]:
        if int(row.get("seg-col", 0)) > 0:
            columns.setdefault(int(row["obj"]), []).append(_column(row))
    out = {}
    for row in data["sys-obj"]:
        obj = int(row["obj"])
        if int(row["owner"]) != 0 or int(row["type"]) != 2 or obj not in tabs:
            continue
        out[obj] = TableDef(obj=obj, owner="SYS", name=row["name"],
                            columns=tuple(sorted(columns.get(obj, []), key=lambda c: c.seg_col)),
                            data_obj=int(tabs[obj]["data-obj"]),
                            cluster_key_columns=int(tabs[obj]["clu-cols"]))
    return out


def free23(system: bool = True, max_obj: int = 0) -> Dictionary:
    """The free23 dictionary, with its SYS tables as ``system_tables`` when asked."""
    d = load_olr_checkpoint_file(CHECKPOINT)
    if system:
        d.system_tables = system_tables()
    d.max_obj = max_obj
    return d


def options(**kw: Any) -> CoreOptions:
    return CoreOptions(thread=1, db_id=1385559638, db_name="TEST", **kw)


def read_all(core: ThreadCore, log: bytes = LOG15, budget: int = 1_000_000,
             state: ReadState | None = None) -> tuple[list[NativeCommit], list[bool]]:
    """Every commit of ``log`` and, per read, whether it stopped on a system change."""
    core.open(NativeRedoFile(log, name="t.arc"), state or ReadState())
    commits: list[NativeCommit] = []
    stops = []
    while True:
        batch = core.read(budget)
        batch.raise_error()
        commits.extend(batch.commits)
        stops.append(batch.system)
        if batch.system:
            assert batch.commits[-1].has_system_changes
        if batch.ended:
            return commits, stops


def not_sys() -> CoreOptions:
    """A capture without the SYS tables (the checkpoint has them as tables too: captured
    as tables, SYS.USER$ and the others would be published)."""
    return options(include_unknown=False, wanted=lambda owner, name: owner != "SYS")


def published(commits: list[NativeCommit]) -> list[tuple[str, list[bytes]]]:
    return [(str(c.xid), c.change_lines()) for c in commits if c.changes_total]


def by_xid(commits: list[NativeCommit], xid: str) -> NativeCommit:
    return next(c for c in commits if str(c.xid) == xid)


def test_tab_update_of_the_first_insert_is_a_system_change() -> None:
    commits, stops = read_all(ThreadCore(free23(), options(include_unknown=False)))
    ddl = by_xid(commits, DDL_XID)
    assert ddl.commit_scn == 0x229A33
    assert ddl.has_system_changes and ddl.changes_total == 0
    tab = [c for c in ddl.system_changes() if c.table == "TAB$"]
    assert len(tab) == 1
    change = tab[0]
    assert isinstance(change, SystemChange)
    assert change.op == "update"
    assert change.rowid == "AAAAACAAAAAAFQ+AAD"  # the olr checkpoint's sys-tab row-id
    assert change.values["OBJ#"] == "72726"  # the cluster key, from the supplemental
    assert change.values["DATAOBJ#"] == "72726"  # row column 0
    assert change.values["TS#"] == "6"
    assert change.values["FILE#"] == "24"
    assert change.values["BLOCK#"] == "10"
    assert change.values["ACDRFLAGS"] is None
    assert list(change.values)[:5] == ["OBJ#", "DATAOBJ#", "TS#", "FILE#", "BLOCK#"]
    # the read stopped right after that commit, and only there
    assert stops.count(True) == sum(c.has_system_changes for c in commits) >= 1


def test_published_records_are_unchanged_by_the_system_tables() -> None:
    with_system, _ = read_all(ThreadCore(free23(), options(include_unknown=False)))
    without, _ = read_all(ThreadCore(free23(system=False), not_sys()))
    assert published(with_system) == published(without)
    assert [x for x, _ in published(with_system)] == [INSERT_XID]
    insert = by_xid(with_system, INSERT_XID)
    lines = [json.loads(line) for line in insert.change_lines()]
    assert [(c["op"], c["table"], c["after"]) for c in lines] == [
        ("insert", "TEST_CDC", {"ID": "1", "NAME": "hello world"})]
    assert not insert.has_system_changes and insert.system_changes() == []


def test_system_tables_are_decoded_whatever_the_filter() -> None:
    nothing, _ = read_all(ThreadCore(free23(), options(include_unknown=False,
                                                       wanted=lambda owner, name: False)))
    assert published(nothing) == []
    assert [c.table for c in by_xid(nothing, DDL_XID).system_changes()].count("TAB$") == 1


def test_a_read_stops_after_a_system_commit_and_resumes_exactly(tmp_path: Path) -> None:
    straight, _ = read_all(ThreadCore(free23(system=False), not_sys()))
    core = ThreadCore(free23(), options(include_unknown=False))
    core.open(NativeRedoFile(LOG15, name="t.arc"), state := ReadState())
    records = 0
    while True:  # up to the first stop on a system commit
        batch = core.read(1_000_000, state)
        records += batch.records
        assert not batch.ended
        if batch.system:
            break
    assert batch.commits[-1].has_system_changes
    # a new core resumes from the stop: the open state and the read state
    again = ThreadCore(free23(), options(include_unknown=False, start=core.last_rba,
                                         start_exclusive=True, start_scn=core.last_scn))
    again.import_state(core.export_state())
    rest, _ = read_all(again, state=dataclasses.replace(state))
    # and the first core reads on from where it stopped
    more, _ = read_all_open(core)
    first = [c for c in straight if c.commit_scn <= batch.commits[-1].commit_scn]
    assert published(first + rest) == published(straight)
    assert published(first + more) == published(straight)


def read_all_open(core: ThreadCore) -> tuple[list[NativeCommit], list[bool]]:
    commits: list[NativeCommit] = []
    stops = []
    while True:
        batch = core.read(1_000_000)
        batch.raise_error()
        commits.extend(batch.commits)
        stops.append(batch.system)
        if batch.ended:
            return commits, stops


def _renamed(d: Dictionary, obj: int, old: str, new: str) -> Dictionary:
    table = d.tables[obj]
    columns = tuple(dataclasses.replace(c, name=new) if c.name == old else c
                    for c in table.columns)
    tables = dict(d.tables)
    tables[obj] = dataclasses.replace(table, columns=columns)
    return dataclasses.replace(d, tables=tables)


def test_records_decode_again_with_another_dictionary_version() -> None:
    core = ThreadCore(free23(), options(include_unknown=False))
    commits, _ = read_all(core)
    insert = by_xid(commits, INSERT_XID)
    renamed = CoreDictionary(_renamed(free23(), TEST_CDC, "NAME", "LABEL"))
    assert insert.prepared_with(core.dictionary) and not insert.prepared_with(renamed)
    again = [json.loads(line) for line in insert.change_lines(dictionary=renamed)]
    assert again[0]["after"] == {"ID": "1", "LABEL": "hello world"}
    first = [json.loads(line) for line in insert.change_lines()]
    assert first[0]["after"] == {"ID": "1", "NAME": "hello world"}
    assert json.loads(insert.change_lines(dictionary=core.dictionary)[0]) == first[0]
    moment = datetime(2026, 3, 7, 1, 44, 40, tzinfo=UTC)
    limits = RecordLimits(max_value_bytes=1 << 20, max_record_bytes=1 << 22)
    insert.prepare(moment, 100, limits)
    _, records = insert.records(moment, 100, limits, dictionary=renamed)
    assert b'"LABEL"' in records[0].value and b'"NAME"' not in records[0].value
    _, records = insert.records(moment, 100, limits)
    assert b'"NAME"' in records[0].value
    assert insert.info(moment, dictionary=renamed).changes_total == 1


def test_set_dictionary_decodes_later_commits_with_the_new_version() -> None:
    core = ThreadCore(free23(), options(include_unknown=False))
    core.open(NativeRedoFile(LOG15, name="t.arc"), ReadState())
    while not (batch := core.read(1_000_000)).system:
        assert not batch.ended
    renamed = CoreDictionary(_renamed(free23(), TEST_CDC, "NAME", "LABEL"))
    core.set_dictionary(renamed)
    assert core.dictionary is renamed
    commits, _ = read_all_open(core)
    insert = by_xid(commits, INSERT_XID)
    assert insert.prepared_with(renamed)
    assert json.loads(insert.change_lines()[0])["after"] == {"ID": "1", "LABEL": "hello world"}


def test_a_possibly_new_object_is_kept_then_decoded_or_dropped() -> None:
    # a dictionary taken before TEST_CDC existed: it does not know the table, and its
    # highest object number is below it
    before = free23()
    before.tables = {o: t for o, t in before.tables.items() if o != TEST_CDC}
    kept_core = ThreadCore(dataclasses.replace(before, max_obj=TEST_CDC - 1),
                           options(include_unknown=False))
    kept, _ = read_all(kept_core)
    insert = by_xid(kept, INSERT_XID)  # kept: its commit is there, decoding nothing yet
    assert insert.changes_total == 0
    assert kept_core.counters()["skipped_unknown_object"] >= 1
    # a later version that knows it as captured decodes it
    knows = CoreDictionary(free23())
    lines = [json.loads(line) for line in insert.change_lines(dictionary=knows)]
    assert [(c["table"], c["after"]) for c in lines] == [
        ("TEST_CDC", {"ID": "1", "NAME": "hello world"})]
    # the primary key's index SYS_C008586 (72727) is above max_obj too: its undo (10.22,
    # not decoded) is kept, and no table of any version knows it: dropped, counted
    assert insert.dropped(knows) == {"undecoded_unknown_object": 1}
    # one that knows it as not captured, or still does not know it, drops it, counted
    filtered = CoreDictionary(free23(), wanted=lambda owner, name: name != "TEST_CDC")
    assert insert.change_lines(dictionary=filtered) == []
    assert insert.dropped(filtered) == {"skipped_filtered": 1, "undecoded_unknown_object": 1}
    unknown = CoreDictionary(before)
    assert insert.change_lines(dictionary=unknown) == []
    assert insert.dropped(unknown) == {"skipped_unknown_object": 1,
                                       "undecoded_unknown_object": 1}
    # without max_obj the unknown object is skipped at once, as before
    plain, _ = read_all(ThreadCore(before, options(include_unknown=False)))
    assert INSERT_XID not in [str(c.xid) for c in plain]
    # an object at or below max_obj is not kept either (only the index 72727 is here)
    below, _ = read_all(ThreadCore(dataclasses.replace(before, max_obj=TEST_CDC),
                                   options(include_unknown=False)))
    assert by_xid(below, INSERT_XID).change_lines(dictionary=knows) == []


FB_C_H_F_L = 0x40 | 0x20 | 0x08 | 0x04  # clustered, head, first, last: a whole row


def _tab_update(fb: int = FB_C_H_F_L, supp: list[list[Any]] | None = None) -> dict[str, Any]:
    """A piece (the open state's JSON) updating FILE# of TEST_CDC's TAB$ row, as
    9.24.598 does, with the supplemental columns ``supp`` (the key OBJ# by default)."""
    return {"kind": "row", "rba": "0x00000f.00000239.00bc", "scn": 0x229A34, "sub_scn": 1,
            "con_id": 3, "obj": 4, "data_obj": 2, "redo_code": 5, "undo_code": 5,
            "bdba": 0x543E, "slot": 3, "fb": fb, "supp_type": 1, "supp_fb": 0x0C,
            "row": None, "before": [[4, "80"]], "after": [[4, "c119"]],
            "supp": [[1, "c3081c1b"]] if supp is None else supp, "rows": [], "slots": [],
            "ddl": None, "compressed": False, "before_rest": None, "after_rest": None,
            "lob": None}


def _commit_pieces(*pieces: dict[str, Any]) -> list[NativeCommit]:
    core = ThreadCore(free23(), options(include_unknown=False))
    core.import_state({"version": 2, "thread": 1, "transactions": [
        {"xid": DDL_XID, "start_scn": 0x229A34, "start_rba": "0x00000f.00000239.00bc",
         "pieces": list(pieces)}]})
    return core.commit_open(0x229A35, "0x00000f.0000023f.01bc")


def test_a_clustered_row_with_its_key_from_the_supplemental_columns() -> None:
    (commit,) = _commit_pieces(_tab_update())
    assert commit.changes_total == 0
    assert commit.system_changes() == [SystemChange(
        "TAB$", "update", "AAAAACAAAAAAFQ+AAD", {"OBJ#": "72726", "FILE#": "24"})]


def test_a_clustered_row_without_its_key_is_refused() -> None:
    with pytest.raises(UndecodableChange, match="cluster key") as caught:
        _commit_pieces(_tab_update(supp=[]))
    text = str(caught.value)
    assert "SYS.TAB$" in text and "AAAAACAAAAAAFQ+AAD" in text and "OBJ#" in text
    assert str(0x229A34) in text  # the change's SCN


def test_a_dictionary_row_in_several_pieces_is_refused() -> None:
    with pytest.raises(UndecodableChange, match="more than one row piece") as caught:
        _commit_pieces(_tab_update(fb=FB_C_H_F_L & ~0x04))  # no L: goes on elsewhere
    assert "SYS.TAB$" in str(caught.value)


def test_cluster_key_entries_are_no_rows() -> None:
    key_entry = _tab_update(fb=0x80 | 0x20 | 0x08 | 0x04)  # K-H-FL--
    (commit,) = _commit_pieces(key_entry, _tab_update())
    assert [c.table for c in commit.system_changes()] == ["TAB$"]
