"""decode_column/encode_column: dispatch by type, NULL, unsupported types, every type."""

from __future__ import annotations

import pytest
from drcapture.dictionary.model import Charsets, ColumnDef, OracleType
from drcapture.values import decode_column, encode_column
from drcapture.values.errors import MalformedValue
from drcommon.model import InvalidText, Unsupported
from hypothesis import given, settings
from hypothesis import strategies as st


def col(type_code: int, scale: int | None = None, form: int = 1) -> ColumnDef:
    return ColumnDef(
        col_no=1, seg_col=1, name="C", type_code=type_code, scale=scale, charset_form=form
    )


UTF8 = Charsets(database="AL32UTF8", national="AL16UTF16")
GBK = Charsets(database="ZHS16GBK", national="UTF8")

# One sample per supported type: (column, published value).
SAMPLES = [
    (col(OracleType.NUMBER), "-12.5"),
    (col(OracleType.BINARY_FLOAT), "0.1"),
    (col(OracleType.BINARY_DOUBLE), "-1e-300"),
    (col(OracleType.VARCHAR2), "中文 text"),
    (col(OracleType.CHAR), "ab  "),
    (col(OracleType.VARCHAR2, form=2), "國語"),
    (col(OracleType.CHAR, form=2), "\U0001f600"),
    (col(OracleType.LONG), "long text"),
    (col(OracleType.DATE), "2024-02-29T13:05:00"),
    (col(OracleType.TIMESTAMP, 6), "2024-02-29T13:05:00.123456"),
    (col(OracleType.TIMESTAMP_LTZ, 3), "9999-12-31T23:59:59.999"),
    (col(OracleType.TIMESTAMP_TZ, 2), "2024-02-29T13:05:00.12+08:00"),
    (col(OracleType.INTERVAL_YM), "-P1Y2M"),
    (col(OracleType.INTERVAL_DS, 1), "-P3DT4H5M6.5S"),
    (col(OracleType.RAW), "00FF10"),
    (col(OracleType.LONG_RAW), "ABCDEF"),
    (col(OracleType.ROWID), "AAATLnAAFAAAAD9AAB"),
    (col(OracleType.BOOLEAN), "true"),
]


@pytest.mark.parametrize(("column", "value"), SAMPLES, ids=lambda x: getattr(x, "type_name", x))
@pytest.mark.parametrize("charsets", [UTF8, GBK], ids=["AL32UTF8", "ZHS16GBK"])
def test_every_type_round_trips(column: ColumnDef, value: str, charsets: Charsets) -> None:
    raw = encode_column(value, column, charsets)
    assert raw is not None
    assert decode_column(raw, column, charsets) == value


@pytest.mark.parametrize(
    "type_code",
    [
        OracleType.CLOB,
        OracleType.BLOB,
        OracleType.BFILE,
        OracleType.JSON,
        OracleType.OBJECT,
        OracleType.NESTED_TABLE,
        OracleType.VARRAY,
        OracleType.OPAQUE,
        OracleType.UROWID,
        999,
    ],
)
def test_unsupported_types_keep_their_bytes(type_code: int) -> None:
    column = col(type_code)
    value = decode_column(b"\x00\x01\xfe", column, UTF8)
    assert value == Unsupported(oracle_type=column.type_name, hex="0001FE")
    assert encode_column(value, column, UTF8) == b"\x00\x01\xfe"


def test_null_and_invalid_text() -> None:
    assert decode_column(None, col(OracleType.NUMBER), UTF8) is None
    assert encode_column(None, col(OracleType.NUMBER), UTF8) is None
    value = decode_column(b"\xff", col(OracleType.VARCHAR2), UTF8)
    assert value == InvalidText(hex="FF", charset="AL32UTF8")
    assert encode_column(value, col(OracleType.VARCHAR2), UTF8) == b"\xff"


def test_encoding_a_type_without_encoder_is_refused() -> None:
    with pytest.raises(MalformedValue):
        encode_column("x", col(OracleType.CLOB), UTF8)
    with pytest.raises(MalformedValue):
        encode_column(Unsupported(oracle_type="CLOB"), col(OracleType.CLOB), UTF8)


CHINESE = st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), max_size=12)


@settings(max_examples=60)
@given(CHINESE, st.sampled_from(["AL32UTF8", "UTF8", "ZHS16GBK", "ZHS32GB18030"]))
def test_chinese_text_round_trips_in_column(text: str, database: str) -> None:
    charsets = Charsets(database=database, national="AL16UTF16")
    for column in (col(OracleType.VARCHAR2), col(OracleType.VARCHAR2, form=2)):
        assert decode_column(encode_column(text, column, charsets), column, charsets) == text
