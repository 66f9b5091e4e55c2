"""Compressed rows (basic and OLTP/advanced row compression): the row image format on
hand-built bytes."""

from __future__ import annotations

import pytest
from drcapture.errors import UndecodableChange
from drcapture.redo.ops.common import NotInRedo
from drcapture.redo.ops.compressed import (
    NOT_LOGGED,
    CompressedRow,
    Entry,
    image_values,
    in_compressed_block,
    parse_compressed_row,
)
from drcapture.synth.writer_ops import compressed_row
from hypothesis import given
from hypothesis import strategies as st

HEAD = 0x2C  # --H-FL--
MIGRATED = 0x0C  # ----FL--: first piece of a migrated row, not the head


def _parse(data: bytes) -> CompressedRow:
    return parse_compressed_row(memoryview(data), opcode="11.2", field=2)


# --- the row image format -------------------------------------------------------------


def test_inline_null_and_symbol_entries() -> None:
    row = _parse(bytes([HEAD, 0x01, 0x04, 0x00, 0xCA, 0xC1, 0x12, 0xFF, 0x07]))
    assert (row.fb, row.lb) == (HEAD, 1)
    assert row.entries == (Entry(None, symbol=0), Entry(b"\xc1\x12"), Entry(None),
                           Entry(None, symbol=7))
    assert row.symbols == 2


def test_empty_and_longest_established_inline_values() -> None:
    longest = bytes(range(49))
    row = _parse(bytes([HEAD, 0, 2, 0xC8, 0xF9]) + longest)
    assert row.entries == (Entry(b""), Entry(longest))


def test_a_migrated_piece_leaves_six_bytes_for_the_head_row_id() -> None:
    # Ops_IRP_ORP_BindingTest/002: 0c 00 07, then 00 00 7f 00 00 4b (not the hrid, which
    # the kdo header carries as 0x03400097.2), then the entries.
    row = _parse(bytes([MIGRATED, 0, 1]) + bytes.fromhex("00007f00004b") + b"\xcac\x04")
    assert row.entries == (Entry(b"c\x04"),)


@pytest.mark.parametrize("code", [0xFA, 0xFB, 0xFC, 0xFD, 0xFE])
def test_an_entry_code_not_established_is_refused_with_its_place(code: int) -> None:
    with pytest.raises(UndecodableChange) as err:
        _parse(bytes([HEAD, 0, 2, 0xC9, 0x41, code, 0x41]))
    where = err.value.where
    assert (where["opcode"], where["field"], where["offset"]) == ("11.2", 2, 5)
    assert where["found"] == f"0x{code:02x}"


@pytest.mark.parametrize(("data", "message"), [
    (bytes([HEAD, 0]), "shorter than its header"),
    (bytes([HEAD, 0, 2, 0xC9, 0x41]), "ends before its entries"),
    (bytes([HEAD, 0, 1, 0xCB, 0x41]), "runs past the row image"),
    (bytes([HEAD, 0, 1, 0xC9, 0x41, 0x00]), "do not fill the row image"),
    (bytes([0x28, 0, 1, 0xC9, 0x41]), "without the L flag"),
    (bytes([0x6C, 0, 1, 0xC9, 0x41]), "cluster row"),
])
def test_malformed_or_unknown_layouts_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(UndecodableChange, match=message):
        _parse(data)


def test_only_non_cluster_rows_of_table_1_and_up_are_in_compressed_blocks() -> None:
    assert in_compressed_block(HEAD, 1)
    assert not in_compressed_block(HEAD, 0)
    assert not in_compressed_block(HEAD | 0x40, 1)  # C: a cluster member row


_ENTRIES = st.lists(st.one_of(
    st.builds(Entry, st.binary(max_size=49)),
    st.just(Entry(None)),
    st.builds(lambda n: Entry(None, symbol=n), st.integers(0, 0xC7)),
), max_size=60)


@given(fb=st.sampled_from([HEAD, MIGRATED, 0x24, 0x3C]), lb=st.integers(0, 255),
       entries=_ENTRIES)
def test_round_trip_through_the_writers_encoder(fb: int, lb: int, entries: list[Entry]) -> None:
    row = _parse(compressed_row(fb, lb, entries))
    assert row == CompressedRow(fb=fb, lb=lb, entries=tuple(entries))


# --- values from the supplemental columns -----------------------------------------------

ROW = CompressedRow(HEAD, 0, (Entry(b"a"), Entry(None), Entry(b"b")))


def test_no_supplemental_columns_means_no_value_is_in_the_redo() -> None:
    assert image_values(ROW, ()) == ((), NotInRedo(NOT_LOGGED))


def test_supplemental_columns_listing_every_entry_complete_the_image() -> None:
    supp = ((1, b"b"), (2, b"a"), (3, None))
    assert image_values(ROW, supp) == (supp, None)
    # Extra listed columns may only be NULL (trailing NULLs logged).
    assert image_values(ROW, (*supp, (4, None))) == ((*supp, (4, None)), None)


def test_fewer_listed_columns_leave_the_others_not_in_the_redo() -> None:
    assert image_values(ROW, ((2, b"a"),)) == (((2, b"a"),), NotInRedo(NOT_LOGGED))


def test_with_symbols_unlisted_columns_may_hold_symbol_values() -> None:
    row = CompressedRow(HEAD, 0, (Entry(None, symbol=0), Entry(b"b")))
    supp = ((1, b"x"), (2, b"y"), (3, b"b"))
    assert image_values(row, supp) == (supp, NotInRedo(NOT_LOGGED))


@pytest.mark.parametrize("supp", [
    ((1, b"a"), (2, None), (3, b"c")),  # b is not listed
    ((1, b"a"), (2, None), (3, b"b"), (4, b"d")),  # d is in no entry
    ((1, b"z"),),  # a partial list naming a value the row does not hold
])
def test_supplemental_columns_that_do_not_match_the_image_are_refused(
        supp: tuple[tuple[int, bytes | None], ...]) -> None:
    with pytest.raises(UndecodableChange, match="do not match"):
        image_values(ROW, supp, rba="0x1.2.3")
