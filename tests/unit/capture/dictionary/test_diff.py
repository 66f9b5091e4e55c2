"""``drcapture dictionary diff``: the check of a redo-tracked dictionary against another
(a live export at the same SCN), on the real Oracle 23 Free checkpoint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from drcapture.dictionary.diff import differences
from drcapture.dictionary.olr import load_olr_checkpoint
from drcapture.dictionary.system import SystemRows

from tests.unit.capture.dictionary.test_system import (
    CHECKPOINT,
    COL_NAME,
    FACTS,
    OBJ_ROW,
    TAB_ROW,
    TEST_CDC,
    col,
    rowid,
    upd,
)

DRCAPTURE = Path(sys.executable).parent / "drcapture"


def _changed(*changes: object) -> SystemRows:
    rows = SystemRows.from_sections(CHECKPOINT)
    for change in changes:
        rows.apply(change)  # type: ignore[arg-type]
    return rows


def test_equal_dictionaries_have_no_difference() -> None:
    base = load_olr_checkpoint(CHECKPOINT)
    assert differences(base, SystemRows.from_sections(CHECKPOINT).dictionary(FACTS)) == []


def test_each_difference_names_the_table_and_what_differs() -> None:
    base = load_olr_checkpoint(CHECKPOINT)
    other = _changed(
        col(rowid(2, 0x543E, 9), TEST_CDC, 3, "MOBILE", 1, 20),
        upd("COL$", COL_NAME, OBJ_=TEST_CDC, NAME="FULL_NAME"),
        upd("OBJ$", OBJ_ROW, OBJ_=TEST_CDC, DATAOBJ_=72800),  # a TRUNCATE
    ).dictionary(FACTS)
    assert differences(base, other, lambda owner, _: owner == "OLR_TEST") == [
        "OLR_TEST.TEST_CDC (object 72726): column at position 2: "
        "(2, 'NAME', 'VARCHAR2', 100, None, None, 1, True) != "
        "(2, 'FULL_NAME', 'VARCHAR2', 100, None, None, 1, True)",
        "OLR_TEST.TEST_CDC (object 72726): column MOBILE (VARCHAR2) at position 3 only on "
        "the right",
        "OLR_TEST.TEST_CDC (object 72726): data object 72726 != 72800",
    ]
    assert differences(base, other, lambda owner, _: owner == "HR") == []


def test_the_command_exits_1_on_a_difference_and_0_without(tmp_path: Path) -> None:
    left = tmp_path / "left.json"
    left.write_text(json.dumps(CHECKPOINT))
    same = subprocess.run([str(DRCAPTURE), "dictionary", "diff", str(left), str(left)],
                          capture_output=True, text=True, check=False)
    assert same.returncode == 0 and "0 difference(s)" in same.stdout
    changed = dict(CHECKPOINT)
    changed["sys-col"] = [dict(r, name="FULL_NAME") if r["row-id"] == COL_NAME else r
                          for r in CHECKPOINT["sys-col"]]
    right = tmp_path / "right.json"
    right.write_text(json.dumps(changed))
    found = subprocess.run([str(DRCAPTURE), "dictionary", "diff", str(left), str(right),
                            "--include", "OLR_TEST.*"], capture_output=True, text=True,
                           check=False)
    assert found.returncode == 1, found.stderr
    assert "OLR_TEST.TEST_CDC (object 72726): column at position 2" in found.stdout
    assert "1 difference(s)" in found.stdout


def test_import_keeps_the_dictionary_rows_for_tracking(tmp_path: Path) -> None:
    source = tmp_path / "olr.json"
    source.write_text(json.dumps(CHECKPOINT))
    out = tmp_path / "snapshot.json"
    done = subprocess.run([str(DRCAPTURE), "dictionary", "import", str(source), str(out)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    system = json.loads(out.read_text())["system"]
    assert {r["row-id"] for r in system["sys-tab"]} >= {TAB_ROW}
