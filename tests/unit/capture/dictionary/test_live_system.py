"""The live export of the SYS dictionary tables' rows: statements and row mapping (no
Oracle runs here; the statements are checked for what they read and bind)."""

from __future__ import annotations

from decimal import Decimal

from drcapture.dictionary.live_system import (
    DICTIONARY_TABLES,
    system_rows,
    system_rows_sql,
    table_binds,
)
from drcapture.dictionary.system import TRACKED


def test_every_tracked_table_is_read_with_its_rowid_as_of_the_scn() -> None:
    assert set(DICTIONARY_TABLES) == set(TRACKED)
    for table in DICTIONARY_TABLES:
        sql, columns = system_rows_sql(table)
        assert sql.startswith("SELECT ROWIDTOCHAR(t.rowid), ")
        assert "AS OF SCN :scn t" in sql
        assert all(f"t.{c.lower()}" in sql for c in columns)
    assert "sys.drcapture_users AS OF SCN :scn t" in system_rows_sql("USER$")[0]
    assert "user$" not in system_rows_sql("USER$")[0].replace("drcapture_users", "")
    assert "t.bo# IN (" in system_rows_sql("TABPART$")[0]
    assert "t.pobj# IN (SELECT p.obj# FROM sys.tabcompart$" in system_rows_sql("TABSUBPART$")[0]


def test_the_dictionary_tables_themselves_are_bound_by_name() -> None:
    clause, binds = table_binds()
    assert clause.split(", ")[0] == ":t0" and set(binds.values()) == set(TRACKED)
    sql = system_rows_sql("COL$")[0].format(owners=":o0", tables=clause)
    assert "o.owner# = 0 AND o.type# = 2 AND o.name IN (:t0" in sql
    assert "u.name IN (:o0)" in sql


def test_fetched_rows_become_checkpoint_rows_by_rowid() -> None:
    _, columns = system_rows_sql("TAB$")
    assert columns == ("OBJ#", "DATAOBJ#", "TS#", "CLUCOLS", "FLAGS", "PROPERTY")
    _, obj_columns = system_rows_sql("OBJ$")
    rows = system_rows({
        "TAB$": [("AAAAACAAAAAAFQ+AAD", 72726, 72726.0, 6, None, Decimal(1073741825),
                  (1 << 64) + 5)],
        "OBJ$": [("AAAAASAAAAAAHdNAAV", *(
            {"OBJ#": 72726, "DATAOBJ#": 72726, "OWNER#": 136, "NAME": "TEST_CDC",
             "TYPE#": 2, "FLAGS": 0}[c] for c in obj_columns))],
    })
    tab = rows.row("TAB$", "AAAAACAAAAAAFQ+AAD")
    assert tab == {"obj": 72726, "data-obj": 72726, "ts": 6, "clu-cols": None,
                   "flags": [1073741825, 0], "property": [5, 1]}
    assert rows.row("OBJ$", "AAAAASAAAAAAHdNAAV") == {
        "obj": 72726, "data-obj": 72726, "owner": 136, "name": "TEST_CDC", "type": 2,
        "flags": [0, 0]}
