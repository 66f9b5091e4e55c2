"""Names (renames, case policy, patterns) and exact value conversions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from drapply.adapters.postgresql import pg_converter, pg_type
from drapply.errors import ValueNotStorable
from drapply.naming import Naming, fold, matches
from drapply.settings import IdentifierCase, RenameSettings, TargetKind
from drapply.typemap import (
    INT64_MAX,
    INT64_MIN,
    Family,
    classify,
    float_or_nan_text,
    hex_bytes,
    integer_or_text,
    interval_for_postgres,
)
from drcommon.model import ColumnInfo, InvalidText, Unsupported
from hypothesis import given
from hypothesis import strategies as st


def test_case_policy_folds_only_names_oracle_folded() -> None:
    assert fold("TEST_CDC", IdentifierCase.LOWER) == "test_cdc"
    assert fold("MixedCase", IdentifierCase.LOWER) == "MixedCase"
    assert fold("TEST_CDC", IdentifierCase.PRESERVE) == "TEST_CDC"
    postgres = Naming(RenameSettings(), IdentifierCase.AUTO, TargetKind.POSTGRESQL)
    sqlite = Naming(RenameSettings(), IdentifierCase.AUTO, TargetKind.SQLITE)
    assert str(postgres.table("OLR_TEST", "TEST_CDC")) == "olr_test.test_cdc"
    assert str(sqlite.table("OLR_TEST", "TEST_CDC")) == "OLR_TEST.TEST_CDC"


def test_renames_are_verbatim() -> None:
    renames = RenameSettings(
        schemas={"HR": "People"},
        tables={"HR.EMPLOYEES": "Staff"},
        columns={"HR.EMPLOYEES.SSN": "national_id"},
    )
    naming = Naming(renames, IdentifierCase.LOWER, TargetKind.POSTGRESQL)
    assert str(naming.table("HR", "EMPLOYEES")) == "People.Staff"
    assert str(naming.table("HR", "JOBS")) == "People.jobs"
    assert naming.column("HR", "EMPLOYEES", "SSN") == "national_id"
    assert naming.column("HR", "EMPLOYEES", "NAME") == "name"


def test_patterns() -> None:
    assert matches(["HR.*"], "HR", "EMPLOYEES")
    assert matches(["HR"], "HR", "EMPLOYEES")
    assert not matches(["HR.E*"], "HR", "JOBS")
    assert matches(["*.*"], "ANY", "THING")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("-17", -17),
        (str(INT64_MAX), INT64_MAX),
        (str(INT64_MIN), INT64_MIN),
        (str(INT64_MAX + 1), str(INT64_MAX + 1)),  # would not fit: exact text
        ("12.50", "12.50"),
        ("-0", "-0"),
        ("0.1", "0.1"),
        ("123456789012345678901234567890.123456789", "123456789012345678901234567890.123456789"),
        (None, None),
    ],
)
def test_number_for_sqlite_never_becomes_a_float(text: str | None, expected: object) -> None:
    assert integer_or_text(text) == expected


@given(st.decimals(allow_nan=False, allow_infinity=False, places=None))
def test_number_round_trips_exactly(value: Decimal) -> None:
    text = format(value, "f")
    stored = integer_or_text(text)
    assert not isinstance(stored, float)
    assert Decimal(str(stored)) == Decimal(text)


def test_other_conversions() -> None:
    assert hex_bytes("00FF10") == b"\x00\xff\x10"
    assert float_or_nan_text("NaN") == "NaN"
    assert float_or_nan_text("-Infinity") == float("-inf")
    assert float_or_nan_text("0.1") == 0.1
    assert interval_for_postgres("P1Y2M") == "P1Y2M"
    assert interval_for_postgres("-P3DT4H5M6.5S") == "P-3DT-4H-5M-6.5S"
    assert interval_for_postgres("-P1Y") == "P-1Y"
    with pytest.raises(ValueNotStorable):
        interval_for_postgres("3 days")
    with pytest.raises(ValueNotStorable, match="not valid ZHS16GBK"):
        integer_or_text(InvalidText(hex="FF", charset="ZHS16GBK"))
    with pytest.raises(ValueNotStorable, match="BLOB"):
        integer_or_text(Unsupported(oracle_type="BLOB"))


@pytest.mark.parametrize(
    ("oracle", "scale", "family", "fraction", "pg"),
    [
        ("NUMBER", None, Family.NUMBER, 6, "numeric"),
        ("TIMESTAMP", 3, Family.TIMESTAMP, 3, "timestamp(3)"),
        ("TIMESTAMP(9)", None, Family.TIMESTAMP, 9, "text"),  # PostgreSQL stops at 6 digits
        ("TIMESTAMP(6) WITH TIME ZONE", None, Family.TIMESTAMP_TZ, 6, "text"),
        ("TIMESTAMP WITH LOCAL TIME ZONE", 6, Family.TIMESTAMP_LTZ, 6, "timestamptz(6)"),
        ("DATE", None, Family.DATE, 6, "timestamp(0)"),
        ("INTERVAL DAY TO SECOND", 6, Family.INTERVAL_DS, 6, "interval day to second(6)"),
        ("RAW", None, Family.RAW, 6, "bytea"),
        ("NVARCHAR2", None, Family.TEXT, 6, "text"),
        ("BINARY_DOUBLE", None, Family.BINARY_DOUBLE, 6, "double precision"),
        ("XYZ", None, Family.OTHER, 6, "text"),
    ],
)
def test_classify_and_postgres_types(
    oracle: str, scale: int | None, family: Family, fraction: int, pg: str
) -> None:
    column = classify(ColumnInfo(type=oracle, scale=scale))
    assert (column.family, column.fraction) == (family, fraction)
    assert pg_type(column, tz_native=False) == pg


def test_postgres_native_tz_keeps_the_region_readable() -> None:
    column = classify(ColumnInfo(type="TIMESTAMP WITH TIME ZONE", scale=6))
    assert pg_type(column, tz_native=True) == "timestamptz(6)"
    convert = pg_converter(column, tz_native=True)
    assert convert("2024-01-01T10:00:00[Asia/Shanghai]") == "2024-01-01T10:00:00 Asia/Shanghai"
    assert pg_converter(column, tz_native=False)("2024-01-01T10:00:00+08:00") == (
        "2024-01-01T10:00:00+08:00"
    )
