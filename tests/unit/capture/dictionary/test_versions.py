"""Dictionary versions by commit SCN on the real Oracle 23 Free checkpoint (TEST_CDC is
object 72726, owner OLR_TEST; the checkpoint is at SCN 2266634, its highest object 72727)."""

from __future__ import annotations

from drcapture.dictionary.model import Dictionary, SystemChange
from drcapture.dictionary.olr import load_olr_checkpoint
from drcapture.dictionary.system import DictionaryChangeSet, SystemRows
from drcapture.dictionary.versions import (
    DictionaryTrackingError,
    DictionaryVersions,
    effective_changes,
)

from tests.unit.capture.dictionary.test_system import (
    CHECKPOINT,
    COL_NAME,
    OBJ_ROW,
    TAB_ROW,
    TEST_CDC,
    col,
    rowid,
    upd,
)

BASE_SCN = 2266634


def versions(wanted: tuple[str, ...] = ("OLR_TEST",)) -> DictionaryVersions[Dictionary]:
    """Versions whose core handle is the dictionary itself (what the test can look at)."""
    return DictionaryVersions(SystemRows.from_sections(CHECKPOINT), load_olr_checkpoint(CHECKPOINT),
                              lambda d: d, lambda owner, _: owner in wanted)


def names(dictionary: Dictionary, obj: int = TEST_CDC) -> list[str]:
    table = dictionary.tables.get(obj)
    assert table is not None
    return [c.name for c in table.columns]


def add_mobile(scn: int) -> DictionaryChangeSet:
    """ALTER TABLE TEST_CDC ADD (MOBILE VARCHAR2(20)): a COL$ row, TAB$ and OBJ$ touched."""
    return DictionaryChangeSet(scn=scn, xid="3.4.5", changes=(
        col(rowid(2, 0x543E, 9), TEST_CDC, 3, "MOBILE", 1, 20),
        upd("TAB$", TAB_ROW, OBJ_=TEST_CDC, FLAGS=1073741825),
        upd("OBJ$", OBJ_ROW, OBJ_=TEST_CDC, NAME="TEST_CDC"),
    ))


def test_a_version_is_valid_from_its_commit_scn_and_knows_the_new_column() -> None:
    tracked = versions()
    assert tracked.current.scn == BASE_SCN
    assert names(tracked.current.dictionary) == ["ID", "NAME"]
    entry = tracked.effective(add_mobile(2267000))
    assert entry is not None
    version = tracked.advance(entry)
    assert version.scn == 2267000 and tracked.current is version
    assert names(version.dictionary) == ["ID", "NAME", "MOBILE"]
    assert version.core is version.dictionary  # built once, for the core
    assert version.changed_tables == {TEST_CDC}
    assert version.dictionary.max_obj == tracked.current.dictionary.max_obj == 72727


def test_updates_that_set_untracked_or_unchanged_columns_make_no_version() -> None:
    tracked = versions()
    # What the real log holds: the first insert created TEST_CDC's segment, and TAB$ got
    # FILE# and BLOCK# (untracked) with OBJ# (the cluster key, unchanged).
    segment = DictionaryChangeSet(scn=2267699, xid="9.24.598", changes=(
        SystemChange("TAB$", "update", TAB_ROW, {"OBJ#": "72726", "FILE#": "24",
                                                  "BLOCK#": "10"}),
        SystemChange("IND$", "update", rowid(2, 0x543E, 4), {"OBJ#": "72727"}),
    ))
    assert tracked.effective(segment) is None
    assert effective_changes(SystemRows.from_sections(CHECKPOINT), segment.changes) == []


def test_changes_the_configured_dictionary_already_holds_are_left_out() -> None:
    tracked = versions()
    assert tracked.effective(add_mobile(BASE_SCN)) is None  # taken at that very SCN
    assert tracked.effective(add_mobile(BASE_SCN + 1)) is not None


def test_a_rename_of_a_column_changes_the_table_not_the_captured_set() -> None:
    tracked = versions()
    before = tracked.current
    entry = DictionaryChangeSet(scn=2267001, xid="1.2.3", changes=(
        upd("COL$", COL_NAME, OBJ_=TEST_CDC, NAME="FULL_NAME"),))
    after = tracked.advance(entry)
    assert names(after.dictionary) == ["ID", "FULL_NAME"]
    assert tracked.newly_captured(before, after) == set()


def test_a_table_renamed_into_the_filter_asks_for_a_reread() -> None:
    tracked = versions(wanted=("OLR_TEST",))
    # A filter on the table name: TEST_CDC renamed to PEOPLE comes into capture.
    by_name = DictionaryVersions(SystemRows.from_sections(CHECKPOINT),
                                 load_olr_checkpoint(CHECKPOINT), lambda d: d,
                                 lambda _, name: name == "PEOPLE")
    before = by_name.current
    after = by_name.advance(DictionaryChangeSet(scn=2267002, xid="1.2.4", changes=(
        upd("OBJ$", OBJ_ROW, OBJ_=TEST_CDC, NAME="PEOPLE"),)))
    assert by_name.newly_captured(before, after) == {TEST_CDC}
    assert by_name.came_into_capture(before, after) == {TEST_CDC}  # its older rows: never
    # The other way round (renamed out of the filter) needs nothing read again.
    back = by_name.advance(DictionaryChangeSet(scn=2267003, xid="1.2.5", changes=(
        upd("OBJ$", OBJ_ROW, OBJ_=TEST_CDC, NAME="TEST_CDC"),)))
    assert by_name.newly_captured(after, back) == set()
    assert by_name.came_into_capture(after, back) == set()
    assert tracked.current.scn == BASE_SCN  # the other instance is untouched


def test_a_new_object_above_max_obj_needs_no_reread() -> None:
    tracked = versions()
    before = tracked.current
    new_obj = 72730
    after = tracked.advance(DictionaryChangeSet(scn=2267004, xid="1.2.6", changes=(
        SystemChange("OBJ$", "insert", rowid(18, 0x1DD0, 40), {
            "OBJ#": str(new_obj), "DATAOBJ#": str(new_obj), "OWNER#": "136",
            "NAME": "NEWT", "TYPE#": "2", "FLAGS": "0"}),
        SystemChange("TAB$", "insert", rowid(2, 0x5440, 1), {
            "OBJ#": str(new_obj), "DATAOBJ#": str(new_obj), "TS#": "6", "CLUCOLS": None,
            "FLAGS": "1073741825", "PROPERTY": "0"}),
        col(rowid(2, 0x5440, 2), new_obj, 1, "A", 2, 22),
    )))
    assert names(after.dictionary, new_obj) == ["A"]
    assert tracked.newly_captured(before, after) == set()  # the core kept its changes
    assert tracked.came_into_capture(before, after) == set()  # created: no older rows


def test_out_of_order_and_unfitting_changes_are_refused_with_where() -> None:
    tracked = versions()
    tracked.advance(add_mobile(2267010))
    try:
        tracked.advance(add_mobile(2267005))
    except DictionaryTrackingError as exc:
        assert exc.where["scn"] == 2267005 and exc.where["current_version_scn"] == 2267010
    else:
        raise AssertionError("an older change set was applied")
    unknown = DictionaryChangeSet(scn=2267020, xid="7.7.7", changes=(
        upd("COL$", rowid(2, 0x7777, 1), NAME="X"),))
    try:
        tracked.advance(unknown)
    except DictionaryTrackingError as exc:
        assert exc.where["xid"] == "7.7.7" and exc.where["table"] == "COL$"
        assert "unknown ROWID" in exc.message
    else:
        raise AssertionError("an update of an unknown row was applied")


def test_a_restart_replays_the_published_change_sets_into_one_version() -> None:
    first = versions()
    first.advance(add_mobile(2267000))
    rename = DictionaryChangeSet(scn=2267001, xid="1.2.3", changes=(
        upd("COL$", COL_NAME, OBJ_=TEST_CDC, NAME="FULL_NAME"),))
    first.advance(rename)
    again = versions()
    again.replay([add_mobile(2267000), rename])
    assert again.current.scn == 2267001
    assert names(again.current.dictionary) == names(first.current.dictionary) == [
        "ID", "FULL_NAME", "MOBILE"]
    assert [e.scn for e in again.applied] == [2267000, 2267001]
    # change sets at or before the configured dictionary's SCN are in it already
    older = versions()
    older.replay([add_mobile(BASE_SCN)])
    assert older.applied == [] and names(older.current.dictionary) == ["ID", "NAME"]


def test_ddl_on_objects_the_dictionary_does_not_hold_makes_no_version() -> None:
    tracked = versions()
    other_user, other_obj = 99, 80001
    elsewhere = DictionaryChangeSet(scn=2267030, xid="2.2.2", changes=(
        SystemChange("OBJ$", "insert", rowid(18, 0x1DD0, 41), {
            "OBJ#": str(other_obj), "DATAOBJ#": str(other_obj), "OWNER#": str(other_user),
            "NAME": "ELSEWHERE", "TYPE#": "2"}),
        col(rowid(2, 0x6000, 1), other_obj, 1, "A", 2, 22),
        SystemChange("TAB$", "update", rowid(2, 0x6000, 0), {"OBJ#": "70000", "FLAGS": "1"}),
        SystemChange("OBJ$", "delete", rowid(18, 0x1DD0, 42), {}),
    ))
    assert tracked.effective(elsewhere) is None


def test_a_change_to_an_unheld_row_of_a_held_table_is_refused() -> None:
    tracked = versions()
    stray = DictionaryChangeSet(scn=2267040, xid="4.4.4", changes=(
        SystemChange("COL$", "update", rowid(2, 0x543E, 30), {"OBJ#": str(TEST_CDC),
                                                               "NAME": "X"}),))
    entry = tracked.effective(stray)
    assert entry is not None and len(entry.changes) == 1
    try:
        tracked.advance(entry)
    except DictionaryTrackingError as exc:
        assert exc.where["rowid"] == rowid(2, 0x543E, 30) and exc.where["scn"] == 2267040
    else:
        raise AssertionError("a change to a row capture never held was applied")
