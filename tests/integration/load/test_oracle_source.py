"""The Oracle source reader on a real Oracle (``DR_TEST_ORACLE_DSN``, a user that may
create a table in its own schema and read ``v$database``): rows read as of an SCN after
later changes are the rows at that SCN, in the wire format, every type the canonical
form knows; chunks cover each row once; reads by key. Skipped without an Oracle."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from drapply.compare.canonical import Canon, RowCanon
from drapply.settings import SourceDbKind, SourceDbSettings
from drapply.snapshot.model import KeyRange
from drapply.snapshot.oracle import OracleFlashbackReader
from drapply.typemap import classify

ORACLE_DSN = os.environ.get("DR_TEST_ORACLE_DSN")
pytestmark = [
    pytest.mark.oracle,
    pytest.mark.skipif(ORACLE_DSN is None, reason="DR_TEST_ORACLE_DSN is not set (no Oracle here)"),
]
DDL = ("(ID NUMBER(10) PRIMARY KEY, TXT VARCHAR2(100), AMOUNT NUMBER, D DATE, "
       "TS9 TIMESTAMP(9), TZ TIMESTAMP(6) WITH TIME ZONE, C CLOB, B BLOB, CH CHAR(5), "
       "IYM INTERVAL YEAR(2) TO MONTH, IDS INTERVAL DAY(2) TO SECOND(6), F BINARY_DOUBLE)")
FIRST = [
    (1, "王芳", "12.50", "2024-02-29 13:05:00", "2024-02-29 13:05:00.123456789",
     "2024-01-01 10:00:00.5 +08:00", "x" * 70_000, "00FF", "ab", "1-2", "3 04:05:06.5", 0.1),
    (2, None, "-0.000000001", None, None, None, None, None, None, None, None, None),
]  # fmt: skip


@pytest.fixture
def oracle(unique: str) -> Iterator[tuple[Any, str]]:
    import oracledb

    conn = oracledb.connect(dsn=ORACLE_DSN)
    table = f"DRSRC_{unique.upper()}"
    cur = conn.cursor()
    cur.execute(f"CREATE TABLE {table} {DDL}")
    yield conn, table
    cur.execute(f"DROP TABLE {table} PURGE")
    conn.close()


def test_rows_as_of_an_scn_survive_later_changes(oracle: tuple[Any, str]) -> None:
    conn, table = oracle
    cur = conn.cursor()
    cur.execute("ALTER SESSION SET NLS_DATE_FORMAT = 'YYYY-MM-DD HH24:MI:SS'")
    cur.execute("ALTER SESSION SET NLS_TIMESTAMP_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF9'")
    cur.execute("ALTER SESSION SET NLS_TIMESTAMP_TZ_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF TZH:TZM'")
    for row in FIRST:
        cur.execute(
            f"INSERT INTO {table} VALUES (:1, :2, TO_NUMBER(:3), :4, :5, :6, :7, "
            "HEXTORAW(:8), :9, TO_YMINTERVAL(:10), TO_DSINTERVAL(:11), :12)", row)
    conn.commit()
    owner = cur.execute("SELECT USER FROM dual").fetchone()[0]
    reader = OracleFlashbackReader(SourceDbSettings(kind=SourceDbKind.ORACLE, dsn=ORACLE_DSN,
                                                    array_size=1))
    try:
        scn = reader.current_scn()
        cur.execute(f"UPDATE {table} SET TXT = 'later', C = 'y' WHERE ID = 1")
        cur.execute(f"DELETE FROM {table} WHERE ID = 2")
        cur.execute(f"INSERT INTO {table} (ID) VALUES (3)")
        conn.commit()
        found = next(t for t in reader.tables([owner]) if t.name == table)
        assert found.key == ("ID",) and found.column_names[:3] == ("ID", "TXT", "AMOUNT")
        rows = [r for c in reader.split(found, scn, 1) for b in reader.read(found, scn, c)
                for r in b]  # fmt: skip
        assert sorted(r[0] for r in rows if r[0]) == ["1", "2"]
        one = next(r for r in rows if r[0] == "1")
        canon = RowCanon(tuple(classify(i) for _n, i in found.columns),
                         tuple(i.type for _n, i in found.columns), Canon())  # fmt: skip
        assert canon.row(one)[:6] == ("1", "王芳", "12.5", "2024-02-29T13:05:00",
                                      "2024-02-29T13:05:00.123456789",
                                      "2024-01-01T10:00:00.5+08:00")  # fmt: skip
        assert one[6] == "x" * 70_000 and one[7] == "00FF" and canon.row(one)[8] == "ab"
        assert canon.row(one)[9:] == ("14", "273906.5", "0.1")
        by_key = reader.read_keys(found, scn, [("1",), ("3",)])
        assert [r[0] for r in by_key] == ["1"]
        ranged = [r for b in reader.read_range(found, scn, KeyRange(("1",), None)) for r in b]
        assert [r[0] for r in ranged] == ["2"]
        assert reader.start_point(scn).scn == scn
    finally:
        reader.close()
