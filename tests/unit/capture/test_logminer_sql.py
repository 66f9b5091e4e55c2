"""The LogMiner SQL_REDO parser the oracdc facts were read with."""

from __future__ import annotations

import pytest

from tests.unit.capture.logminer_sql import parse_sql_redo


def test_update_splits_set_and_where_and_upper_cases_hex() -> None:
    sql = ('update "UNKNOWN"."OBJ# 4242" set "COL 2" = HEXTORAW(\'c10b\'), "COL 7" = NULL '
           'where "COL 1" = HEXTORAW(\'c102\') and "COL 2" = HEXTORAW(\'c103\') '
           'and "COL 7" IS NULL;')
    parsed = parse_sql_redo(sql)
    assert (parsed.op, parsed.obj) == ("update", 4242)
    assert parsed.set_columns == {2: "C10B", 7: None}
    assert parsed.where_columns == {1: "C102", 2: "C103", 7: None}
    assert parsed.values == {}


def test_delete_accepts_plain_quoted_hex() -> None:
    # Some copies print the raw bytes without HEXTORAW.
    parsed = parse_sql_redo('delete from "UNKNOWN"."OBJ# 9" where "COL 1" = \'80\' '
                            'and "COL 3" IS NULL and "COL 4" = \'4f4b\'')
    assert (parsed.op, parsed.obj) == ("delete", 9)
    assert parsed.where_columns == {1: "80", 3: None, 4: "4F4B"}
    assert parsed.set_columns == {}


def test_insert_pairs_names_with_values() -> None:
    parsed = parse_sql_redo('insert into "UNKNOWN"."OBJ# 77"("COL 1","COL 2","COL 3") '
                            "values (HEXTORAW('c102'),NULL,HEXTORAW(''))")
    assert (parsed.op, parsed.obj) == ("insert", 77)
    assert parsed.values == {1: "C102", 2: None, 3: ""}


@pytest.mark.parametrize("sql", [
    'select * from "UNKNOWN"."OBJ# 1"',
    'update "UNKNOWN"."OBJ# 1" set "COL 1" = NULL',
    'update "UNKNOWN"."OBJ# 1" set "COL 1" = NULL where "COL 1" = NULL',
    'update "UNKNOWN"."OBJ# 1" set "COL 1" = NULL, "COL 1" = NULL where "COL 2" IS NULL',
    'delete from "UNKNOWN"."OBJ# 1" where "COL 1" = HEXTORAW(\'zz\')',
    'insert into "UNKNOWN"."OBJ# 1"("COL 1","COL 2") values (NULL)',
])
def test_refuses_what_it_does_not_understand(sql: str) -> None:
    with pytest.raises(ValueError):
        parse_sql_redo(sql)

