"""What "equal" means between the source and a DR copy: the canonical text of values,
the row hash, the report's round trip and the per-schema verdict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from drapply.compare.canonical import LONG_VALUE, Canon, canonical, row_hash
from drapply.compare.dr import position_scn
from drapply.compare.report import CompareReport, KeyDiff, TableResult
from drapply.compare.store import TableVerdict, latest_per_schema
from drapply.typemap import classify
from drcommon.model import ColumnInfo

PLAIN, ORACLE_DR, NATIVE_TZ = Canon(), Canon(empty_is_null=True), Canon(tz_instants=True)


def _c(value: str | None, type_name: str, canon: Canon = PLAIN) -> str | None:
    return canonical(value, classify(ColumnInfo(type=type_name)), type_name, canon)


@pytest.mark.parametrize(
    ("a", "b", "type_name"),
    [
        ("1.50", "1.5", "NUMBER"),
        ("-0", "0", "NUMBER"),
        ("0.000", "0", "NUMBER"),
        ("1E+3", "1000", "NUMBER"),
        ("100", "100.0", "NUMBER"),
        ("0.1", "0.10000000149011612", "BINARY_FLOAT"),
        ("nan", "NaN", "BINARY_DOUBLE"),
        ("2024-02-29T13:05:00", "2024-02-29 13:05:00", "DATE"),
        ("2024-02-29T13:05:00.120000", "2024-02-29T13:05:00.12", "TIMESTAMP(6)"),
        ("2024-02-29T13:05:00.000000000", "2024-02-29T13:05:00", "TIMESTAMP(9)"),
        ("2024-02-29T13:05:00+0800", "2024-02-29T13:05:00+08:00", "TIMESTAMP WITH TIME ZONE"),
        ("2024-02-29T13:05:00Z", "2024-02-29T13:05:00+00:00", "TIMESTAMP WITH TIME ZONE"),
        ("2024-02-29T13:05:00+08:00", "2024-02-29T05:05:00",
         "TIMESTAMP WITH LOCAL TIME ZONE"),
        ("P1Y2M", "P0Y14M", "INTERVAL YEAR TO MONTH"),
        ("P1DT0H0M0S", "PT24H", "INTERVAL DAY TO SECOND"),
        ("-P0DT0H0M1.50S", "-PT1.5S", "INTERVAL DAY TO SECOND"),
        ("ab    ", "ab", "CHAR"),
        ("00ff", "00FF", "RAW"),
        ("1", "true", "BOOLEAN"),
    ],
)
def test_same_value_in_two_forms(a: str, b: str, type_name: str) -> None:
    assert _c(a, type_name) == _c(b, type_name)


@pytest.mark.parametrize(
    ("a", "b", "type_name"),
    [
        ("1.5", "1.6", "NUMBER"),
        ("2024-02-29T13:05:00.1", "2024-02-29T13:05:00.01", "TIMESTAMP(6)"),
        ("2024-02-29T13:05:00+08:00", "2024-02-29T05:05:00+00:00", "TIMESTAMP WITH TIME ZONE"),
        ("ab ", "ab", "VARCHAR2"),  # only CHAR is blank-padded
        ("a", "A", "VARCHAR2"),
    ],
)
def test_different_values_stay_different(a: str, b: str, type_name: str) -> None:
    assert _c(a, type_name) != _c(b, type_name)


def test_time_zone_instants_when_the_dr_keeps_instants_only() -> None:
    tz = "TIMESTAMP WITH TIME ZONE"
    assert _c("2024-02-29T13:05:00+08:00", tz, NATIVE_TZ) == _c("2024-02-29T05:05:00+00:00",
                                                                 tz, NATIVE_TZ)  # fmt: skip
    assert _c("2024-07-01T12:00:00[Asia/Shanghai]", tz, NATIVE_TZ) == "2024-07-01T04:00:00"


def test_empty_string_is_null_only_on_an_oracle_copy() -> None:
    assert _c("", "VARCHAR2") == "" and _c("", "VARCHAR2") is not None
    assert _c("", "VARCHAR2", ORACLE_DR) is None
    assert _c("", "CLOB", ORACLE_DR) is None
    assert _c("   ", "CHAR", ORACLE_DR) is None
    assert _c("", "BLOB", ORACLE_DR) == ""  # an empty BLOB is not NULL


def test_long_values_are_hashed() -> None:
    text = "x" * (LONG_VALUE + 1)
    found = _c(text, "CLOB")
    assert found is not None and found.startswith(f"sha256:{LONG_VALUE + 1}:")
    assert _c(text + "y", "CLOB") != found
    assert _c("ab" * (LONG_VALUE // 2 + 1), "BLOB") == _c("AB" * (LONG_VALUE // 2 + 1), "BLOB")


def test_row_hash_separates_null_empty_and_column_boundaries() -> None:
    assert row_hash((None,)) != row_hash(("",))
    assert row_hash(("ab", "c")) != row_hash(("a", "bc"))
    assert row_hash(("王", None)) == row_hash(("王", None))
    assert 0 <= row_hash(("x",)) < 2**64


def test_position_scn() -> None:
    assert position_scn(None, None) is None
    assert position_scn(10, None) == 10
    assert position_scn(10, 25) == 25


def test_report_round_trips() -> None:
    table = TableResult("SI.PERSON", "si.person", key=("ID",), missing=1, different=1,
                        scn_min=5, scn_max=9, source_rows=10, dr_rows=9,
                        differences=[KeyDiff("missing", ("3",), 9),
                                     KeyDiff("different", ("4",), 9, ("NAME",))])  # fmt: skip
    report = CompareReport("r1", "compare", "alice", datetime(2024, 1, 1, tzinfo=UTC),
                           datetime(2024, 1, 1, 0, 1, tzinfo=UTC), [table])  # fmt: skip
    back = CompareReport.from_document(report.document())
    assert back == report
    assert back.differences == 2
    assert "1 missing, 0 extra, 1 different" in report.summary()
    assert "SI.PERSON different key=4 (NAME)" in report.summary()


def test_latest_per_schema() -> None:
    now = datetime(2024, 1, 2, tzinfo=UTC)

    def verdict(table: str, hours: float, differences: int) -> TableVerdict:
        return TableVerdict(table, table.split(".")[0], "r", "verify",
                            now - timedelta(hours=hours), 5, 100 - int(hours), 10, 10,
                            differences, "compared", True)  # fmt: skip

    found = latest_per_schema([verdict("SI.A", 1, 0), verdict("SI.B", 30, 2),
                               verdict("HIS.C", 2, 0)], now, max_age=86_400)  # fmt: skip
    assert found["SI"]["differences"] == 2 and found["SI"]["tables_differing"] == ["SI.B"]
    assert found["SI"]["stale"] is True and found["SI"]["age_seconds"] == 3600
    assert found["SI"]["scn"] == 99
    assert found["HIS"]["differences"] == 0 and found["HIS"]["stale"] is False
