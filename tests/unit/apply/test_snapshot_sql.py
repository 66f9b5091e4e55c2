"""The source readers' SQL text (Oracle runs only where DR_TEST_ORACLE_DSN is set, so its
statements are held to their text here and parsed as Oracle SQL) and the value
conversions back to the wire format."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlglot
from drapply.snapshot import oracle, postgres
from drapply.snapshot.model import Chunk, KeyRange
from drapply.snapshot.sql import Params, keys_where, range_where
from drapply.snapshot.values import months_to_iso, seconds_to_iso, to_wire
from drapply.typemap import ColumnType, Family, classify
from drcommon.model import ColumnInfo


def _params() -> Params:
    return Params(lambda i: f":k{i}", lambda _pos, value: value)


def test_range_where_is_lexicographic_and_half_open() -> None:
    params = _params()
    sql = range_where(['"A"', '"B"'], KeyRange(("1", "x"), ("5", "y")), params)
    assert sql == (
        '(("A" > :k0) OR ("A" = :k1 AND "B" > :k2)) AND '
        '(("A" < :k3) OR ("A" = :k4 AND "B" < :k5) OR ("A" = :k6 AND "B" = :k7))'
    )
    assert params.values == ["1", "1", "x", "5", "5", "y", "5", "y"]


def test_range_where_open_ends() -> None:
    assert range_where(['"A"'], KeyRange(), _params()) == "1 = 1"
    params = _params()
    assert range_where(['"A"'], KeyRange(None, ("9",)), params) == '(("A" < :k0) OR ("A" = :k1))'
    assert params.values == ["9", "9"]


def test_keys_where_in_list_and_composite() -> None:
    params = _params()
    assert keys_where(['"A"'], [("1",), ("2",)], params) == '"A" IN (:k0, :k1)'
    params = _params()
    sql = keys_where(['"A"', '"B"'], [("1", "x"), ("2", "y")], params)
    assert sql == '(("A" = :k0 AND "B" = :k1) OR ("A" = :k2 AND "B" = :k3))'
    assert keys_where(['"A"'], [], _params()) == "1 = 0"


def _kind(type_name: str, scale: int | None = None) -> ColumnType:
    return classify(ColumnInfo(type=type_name, scale=scale))


@pytest.mark.parametrize(
    ("type_name", "expected"),
    [
        ("NUMBER", '"C"'),
        ("VARCHAR2", '"C"'),
        ("TIMESTAMP(9)", 'TO_CHAR("C", \'YYYY-MM-DD"T"HH24:MI:SS.FF9\')'),
        ("TIMESTAMP(6) WITH LOCAL TIME ZONE", 'TO_CHAR("C", \'YYYY-MM-DD"T"HH24:MI:SS.FF9\')'),
        ("INTERVAL YEAR(2) TO MONTH", '(EXTRACT(YEAR FROM "C") * 12 + EXTRACT(MONTH FROM "C"))'),
    ],
)
def test_oracle_select_expressions(type_name: str, expected: str) -> None:
    assert oracle.select_expr("C", _kind(type_name)) == expected


def test_oracle_statements_parse_as_oracle_sql() -> None:
    kinds = {c: _kind(t) for c, t in
             [("ID", "NUMBER"), ("TZ", "TIMESTAMP(3) WITH TIME ZONE"),
              ("DS", "INTERVAL DAY(2) TO SECOND(6)"), ("NAME", "VARCHAR2")]}  # fmt: skip
    select = ", ".join(oracle.select_expr(c, k) for c, k in kinds.items())
    params = _params()
    where = range_where(['"ID"'], KeyRange(("10",), ("20",)), params)
    statements = [
        oracle.flashback_sql("SI", "PERSON", select, where, '"ID"'),
        oracle.flashback_sql("SI", "PERSON", select, "ROWID BETWEEN :lo AND :hi", None),
        oracle.split_keys_sql("SI", "PERSON", ["ID", "NAME"]),
        oracle.count_sql("SI", "PERSON"),
        oracle.TABLES_SQL.format(owners=":o0, :o1"),
        oracle.OPEN_SQL,
        oracle.EXTENTS_SQL,
        oracle.STATS_SQL,
        oracle.CURRENT_SQL,
    ]
    for sql in statements:
        sqlglot.parse_one(sql, read="oracle")  # raises on a syntax error
    flashback = statements[0]
    assert 'FROM "SI"."PERSON" AS OF SCN :scn WHERE' in flashback
    assert flashback.endswith('ORDER BY "ID"')
    assert "EXTRACT(TIMEZONE_REGION FROM \"TZ\")" in select
    assert "MOD(dr_rn, :every) = 0 AND dr_rn < :total" in statements[2]
    assert "gv$transaction" in oracle.OPEN_SQL and "start_scn <= :scn" in oracle.OPEN_SQL
    assert "DBMS_ROWID.ROWID_CREATE(1, o.data_object_id" in oracle.EXTENTS_SQL
    assert any("NLS_SORT = BINARY" in s for s in oracle.SESSION)


def test_like_pattern_escapes() -> None:
    assert oracle.like_pattern("SI*") == "SI%"
    assert oracle.like_pattern("A_B?") == "A\\_B_"


def test_extents_group_into_rowid_chunks_per_data_object() -> None:
    extents = [
        ("AAAXYZAAEAAAACAAA", "AAAXYZAAEAAAAJH//", 8),
        ("AAAXYZAAEAAAAKAAA", "AAAXYZAAEAAAARH//", 8),
        ("AAAXYZAAEAAAASAAA", "AAAXYZAAEAAAAZH//", 8),
        ("AAAXZZAAEAAABCAAA", "AAAXZZAAEAAABJH//", 8),  # another partition
    ]
    chunks = oracle.group_extents(extents, rows_per_block=100.0, rows_per_chunk=1500)
    assert [c.rowids for c in chunks] == [
        ("AAAXYZAAEAAAACAAA", "AAAXYZAAEAAAARH//"),
        ("AAAXYZAAEAAAASAAA", "AAAXYZAAEAAAAZH//"),
        ("AAAXZZAAEAAABCAAA", "AAAXZZAAEAAABJH//"),
    ]
    assert [c.number for c in chunks] == [0, 1, 2]
    assert chunks[0].estimate == 1600


def test_chunk_round_trips_through_json() -> None:
    for chunk in (Chunk(3, KeyRange(("1", None), ("9", "x")), estimate=7),
                  Chunk(0, rowids=("AAA", "BBB"))):  # fmt: skip
        assert Chunk.from_json(chunk.to_json()) == chunk


def test_oracle_key_binds() -> None:
    assert oracle.bind_key(_kind("NUMBER"), "12.50") == Decimal("12.50")
    assert oracle.bind_key(_kind("RAW"), "0A0B") == b"\n\x0b"
    assert oracle.bind_key(_kind("DATE"), "2024-02-29T13:05:00") == datetime(2024, 2, 29, 13, 5)
    assert oracle.bind_key(_kind("VARCHAR2"), "王芳") == "王芳"


def test_postgres_pieces() -> None:
    assert postgres.key_expr("NAME", _kind("VARCHAR2")) == '"NAME" COLLATE "C"'
    assert postgres.key_expr("ID", _kind("NUMBER")) == '"ID"'
    assert postgres.select_expr("I", _kind("INTERVAL YEAR TO MONTH")).startswith("(extract(year")
    assert postgres.bind_key(_kind("BLOB"), "FF00") == b"\xff\x00"
    assert any("dr_transactions" in s for s in postgres.catalog_ddl("src"))


@pytest.mark.parametrize(
    ("value", "type_name", "wire"),
    [
        (Decimal("1.50"), "NUMBER", "1.50"),
        (Decimal("1E+3"), "NUMBER", "1000"),
        (7, "NUMBER", "7"),
        (0.1, "BINARY_FLOAT", "0.1"),
        (0.1, "BINARY_DOUBLE", "0.1"),
        (float("nan"), "BINARY_DOUBLE", "NaN"),
        (float("-inf"), "BINARY_FLOAT", "-Infinity"),
        (datetime(2024, 2, 29, 13, 5, 0, 120000), "DATE", "2024-02-29T13:05:00"),
        (datetime(2024, 2, 29, 13, 5, 0, 120000), "TIMESTAMP(6)", "2024-02-29T13:05:00.120000"),
        (datetime(2024, 2, 29, 13, 5), "TIMESTAMP(6)", "2024-02-29T13:05:00"),
        (datetime(2024, 2, 29, 5, 5, tzinfo=UTC), "TIMESTAMP(6) WITH LOCAL TIME ZONE",
         "2024-02-29T05:05:00"),
        (date(2024, 2, 29), "DATE", "2024-02-29T00:00:00"),
        (b"\x00\xff", "RAW", "00FF"),
        (memoryview(b"\x01"), "BLOB", "01"),
        (True, "BOOLEAN", "true"),
        (14, "INTERVAL YEAR TO MONTH", "P1Y2M"),
        (Decimal("-273906.5"), "INTERVAL DAY TO SECOND", "-P3DT4H5M6.5S"),
        (timedelta(days=1, seconds=1), "INTERVAL DAY TO SECOND", "P1DT0H0M1S"),
        ("text", "VARCHAR2", "text"),
        (None, "NUMBER", None),
    ],
)
def test_to_wire(value: object, type_name: str, wire: str | None) -> None:
    assert to_wire(value, _kind(type_name)) == wire


def test_interval_text() -> None:
    assert months_to_iso(-14) == "-P1Y2M"
    assert seconds_to_iso(Decimal(0)) == "P0DT0H0M0S"
    assert _kind("TIMESTAMP(3)").family is Family.TIMESTAMP


def test_the_source_verifier_grants_what_the_oracle_reader_reads() -> None:
    from pathlib import Path

    grants = (Path(__file__).resolve().parents[3] / "deploy" / "sql" / "oracle"
              / "source_verifier.sql").read_text(encoding="utf-8").lower()  # fmt: skip
    statements = " ".join([oracle.OPEN_SQL, oracle.CURRENT_SQL, oracle.EXTENTS_SQL]).lower()
    for view, granted in (("v$database", "sys.v_$database"),
                          ("gv$transaction", "sys.gv_$transaction"),
                          ("dba_extents", "sys.dba_extents"), ("dba_objects", "sys.dba_objects")):
        assert view in statements and f"grant select on {granted} to drverify" in grants
    assert "grant select, flashback on" in grants
