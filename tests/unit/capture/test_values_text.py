"""Character data in Oracle's character sets: known answers, invalid bytes, round trips."""

from __future__ import annotations

import pytest
from drcapture.dictionary.model import Charsets, ColumnDef, OracleType
from drcapture.values import decode_column, encode_column
from drcapture.values.errors import MalformedValue, UnknownCharset
from drcapture.values.text import CHARSETS, charset, decode_text, encode_text
from drcommon.model import InvalidText
from hypothesis import given, settings
from hypothesis import strategies as st

VARCHAR2 = ColumnDef(col_no=1, seg_col=1, name="NAME", type_code=OracleType.VARCHAR2, length=100)
NVARCHAR2 = ColumnDef(
    col_no=2, seg_col=2, name="NNAME", type_code=OracleType.VARCHAR2, charset_form=2
)


@pytest.mark.parametrize(
    ("cs", "raw", "text"),
    [
        # € in AL32UTF8: DUMP(...,16) = e2,82,ac (Oracle support note quoted on
        # nazmulhuda.info, "Why is the euro symbol visible in my application ...").
        ("AL32UTF8", bytes.fromhex("e282ac"), "€"),
        # 朋友 in GB2312/GBK: DUMP = 197,243,211,209 (exchangetuts.com, "write chars
        # into db with correct character set").
        ("ZHS16GBK", bytes([197, 243, 211, 209]), "朋友"),
        ("ZHS32GB18030", bytes([197, 243, 211, 209]), "朋友"),
        ("AL32UTF8", "朋友".encode(), "朋友"),
        ("UTF8", "朋友".encode(), "朋友"),
        ("AL16UTF16", "朋友".encode("utf-16-be"), "朋友"),
        # Oracle UTF8 is CESU-8: U+1F600 as two 3-byte surrogates.
        ("UTF8", bytes.fromhex("eda0bdedb880"), "\U0001f600"),
        ("AL32UTF8", bytes.fromhex("f09f9880"), "\U0001f600"),
        # GBK user-defined area and the GB18030 euro code, which Python's gbk refuses.
        ("ZHS16GBK", bytes.fromhex("aaa1"), "\ue000"),
        ("ZHS16GBK", bytes.fromhex("41a2e3"), "A€"),
        ("WE8MSWIN1252", b"\x80", "€"),
        ("WE8ISO8859P1", b"\x80\xe9", "\x80é"),
        ("US7ASCII", b"hello", "hello"),
    ],
)
def test_known_answers(cs: str, raw: bytes, text: str) -> None:
    assert decode_text(raw, charset(cs)) == text
    assert encode_text(text, charset(cs)) == raw


@pytest.mark.parametrize(
    ("cs", "raw"),
    [
        ("AL32UTF8", b"ab\xff"),
        ("AL32UTF8", bytes.fromhex("eda0bdedb880")),  # CESU-8 is not valid AL32UTF8
        ("UTF8", bytes.fromhex("f09f9880")),  # 4-byte UTF-8 is not valid Oracle UTF8
        ("UTF8", bytes.fromhex("eda0bd")),  # unpaired surrogate
        ("AL16UTF16", bytes.fromhex("d83d0041")),  # unpaired surrogate
        ("AL16UTF16", b"\x00"),  # odd length
        ("US7ASCII", b"caf\xe9"),
        ("WE8MSWIN1252", b"\x81"),
        ("ZHS16GBK", b"\x80"),
        ("ZHS16GBK", b"\xc5"),  # truncated pair
        ("ZHS16GBK", bytes.fromhex("8130d330")),  # a GB18030 4-byte code is not GBK
        ("ZHS32GB18030", b"\xff"),
    ],
)
def test_invalid_bytes_are_kept_verbatim(cs: str, raw: bytes) -> None:
    value = decode_text(raw, charset(cs))
    assert value == InvalidText(hex=raw.hex().upper(), charset=cs)
    assert encode_text(value, charset(cs)) == raw


def test_unknown_charset_names_it() -> None:
    with pytest.raises(UnknownCharset, match="KLINGON8"):
        decode_column(b"x", VARCHAR2, Charsets(database="KLINGON8"))


def test_unencodable_text_raises() -> None:
    with pytest.raises(MalformedValue):
        encode_text("朋友", charset("WE8ISO8859P1"))
    with pytest.raises(MalformedValue):
        encode_text("\U0001f600", charset("ZHS16GBK"))


def test_national_charset_used_for_charset_form_2() -> None:
    sets = Charsets(database="ZHS16GBK", national="AL16UTF16")
    raw = "中文".encode("utf-16-be")
    assert decode_column(raw, NVARCHAR2, sets) == "中文"
    assert decode_column("中文".encode("gbk"), VARCHAR2, sets) == "中文"
    assert encode_column("中文", NVARCHAR2, sets) == raw
    assert decode_column(None, VARCHAR2, sets) is None


def test_gbk_two_byte_table_agrees_with_gb18030() -> None:
    # The fallback looks codes up in GB18030's two-byte table; where Python's gbk has
    # a mapping the two must agree, or decoding would depend on the path taken.
    for lead in range(0x81, 0xFF):
        for trail in [*range(0x40, 0x7F), *range(0x80, 0xFF)]:
            pair = bytes([lead, trail])
            try:
                gbk = pair.decode("gbk")
            except UnicodeDecodeError:
                continue
            assert pair.decode("gb18030") == gbk, pair.hex()


CHINESE = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
ASCII = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
ANY = st.characters(codec="utf-8")

ALPHABETS = {
    "AL32UTF8": ANY,
    "UTF8": ANY,
    "AL16UTF16": ANY,
    "ZHS32GB18030": ANY,
    "ZHS16GBK": st.one_of(ASCII, CHINESE),
    "US7ASCII": ASCII,
    "WE8ISO8859P1": st.characters(max_codepoint=0xFF),
    "WE8MSWIN1252": st.one_of(ASCII, st.sampled_from("€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ é")),
}


@settings(max_examples=60)
@given(st.data())
def test_round_trip_every_charset(data: st.DataObject) -> None:
    for name, alphabet in ALPHABETS.items():
        text = data.draw(st.text(alphabet, max_size=20), label=name)
        cs = CHARSETS[name]
        assert decode_text(encode_text(text, cs), cs) == text


@settings(max_examples=100)
@given(st.binary(max_size=12), st.sampled_from(sorted(CHARSETS)))
def test_any_bytes_decode_to_text_or_invalid_and_back(raw: bytes, name: str) -> None:
    cs = CHARSETS[name]
    value = decode_text(raw, cs)
    assert encode_text(value, cs) == raw
