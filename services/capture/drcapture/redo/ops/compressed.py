"""Row images in the block format of basic and OLTP/advanced row compression.

A compressed table block holds two tables: table 0 is the block's symbol table, table 1
the rows. A row of table 1 stores *entries* in the block's own column order (a
permutation the block header keeps, not the table's column order): a value inline, a
NULL, or the number of a symbol-table row that holds one or more columns. The redo of a
change to such a row carries the whole row image in one field; it carries neither the
block's column order nor its symbol table. Which column an entry is, and what a symbol
holds, is therefore not in the row image. Oracle logs the row's columns by number as
supplemental data of the same undo record instead; :func:`image_values` takes the
values from there after checking them against the entries.

Layouts and their sources are in docs/REDO_FORMAT.md, "Compressed rows".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from drcapture.errors import UndecodableChange
from drcapture.redo.ops.common import NotInRedo

# --- row header (fixture Op11_2_Test/003 RBA 0x1d2.1b181.10, Ops_IRP_ORP_BindingTest/001-003)
ROW_FB: Final = 0  # u8: row flag byte, the kdo header's fb
ROW_LB: Final = 1  # u8: lock byte (an insert's redo image carries 0; the kdo header the ITL)
ROW_CC: Final = 2  # u8: number of entries stored, the kdo header's cc
ROW_HEADER: Final = 3
ROW_HRID_SIZE: Final = 6  # F without H: 6 bytes for the head row id follow the header; the
# redo leaves them unset (Ops_IRP_ORP_BindingTest/002: 00 00 7f 00 00 4b), kdo carries it

# --- entries (dbatools.net oracle_compress_block02; all fixtures above) -------------------
SYMBOL_MAX: Final = 0xC7  # 0x00..0xC7: a row number of table 0, the symbol table
INLINE_BASE: Final = 0xC8  # 0xC8 + n: n bytes of one column's value follow
INLINE_MAX: Final = 0xF9  # highest length code taken as established (n = 49); see the doc
NULL_ENTRY: Final = 0xFF  # a NULL column

# --- row flags this module looks at (same bits as kdo.FB_*) -------------------------------
_FB_CLUSTER: Final = 0x80 | 0x40  # K, C: a cluster's key or member row
_FB_HEAD: Final = 0x20
_FB_FIRST: Final = 0x08
_FB_LAST: Final = 0x04

Image = tuple[tuple[int, bytes | None], ...]  # (1-based column number, value)


@dataclass(frozen=True, slots=True)
class Entry:
    """One stored entry: ``symbol`` is a symbol-table row number (``value`` None), else
    ``value`` is the column's bytes (None: a NULL column)."""

    value: bytes | None
    symbol: int | None = None


@dataclass(frozen=True, slots=True)
class CompressedRow:
    """A row image of a compressed block's data table, entries in block column order."""

    fb: int
    lb: int
    entries: tuple[Entry, ...]

    @property
    def symbols(self) -> int:
        """How many entries refer to the block's symbol table."""
        return sum(1 for e in self.entries if e.symbol is not None)


def in_compressed_block(fb: int, tabn: int) -> bool:
    """A row of table 1 or higher that is no cluster row lives in the data table of a
    compressed block (a plain heap block has only table 0)."""
    return tabn >= 1 and not fb & _FB_CLUSTER


def parse_compressed_row(data: memoryview, **where: Any) -> CompressedRow:
    """The entries of one whole row image; ``where`` (opcode, field …) goes into errors.

    Refuses, with :class:`UndecodableChange`, what is not established: cluster rows, a
    piece without the L flag (where a next-piece address would go is not known), entry
    codes other than symbol, inline (up to 49 bytes) and NULL, and any image whose
    entries do not end exactly at its end.
    """
    if len(data) < ROW_HEADER:
        raise UndecodableChange("compressed row image shorter than its header",
                                expected=ROW_HEADER, found=len(data), **where)
    fb, lb, count = data[ROW_FB], data[ROW_LB], data[ROW_CC]
    if fb & _FB_CLUSTER:
        raise UndecodableChange("compressed row image of a cluster row", found=f"fb 0x{fb:02x}",
                                **where)
    if not fb & _FB_LAST:
        raise UndecodableChange("compressed row piece without the L flag: where its next-piece"
                                " address goes is not established", found=f"fb 0x{fb:02x}",
                                **where)
    pos = ROW_HEADER
    if fb & _FB_FIRST and not fb & _FB_HEAD:
        pos += ROW_HRID_SIZE
    entries: list[Entry] = []
    for _ in range(count):
        entry, pos = _entry(data, pos, where)
        entries.append(entry)
    if pos != len(data):
        raise UndecodableChange("compressed row entries do not fill the row image",
                                offset=pos, expected=len(data), found=pos, **where)
    return CompressedRow(fb=fb, lb=lb, entries=tuple(entries))


def _entry(data: memoryview, pos: int, where: Mapping[str, Any]) -> tuple[Entry, int]:
    if pos >= len(data):
        raise UndecodableChange("compressed row image ends before its entries",
                                offset=pos, found=len(data), **where)
    code = data[pos]
    if code <= SYMBOL_MAX:
        return Entry(value=None, symbol=code), pos + 1
    if code == NULL_ENTRY:
        return Entry(value=None), pos + 1
    if code > INLINE_MAX:
        raise UndecodableChange("compressed row entry code not established", offset=pos,
                                found=f"0x{code:02x}",
                                expected="0x00-0xc7 symbol, 0xc8-0xf9 inline, 0xff NULL",
                                **where)
    size = code - INLINE_BASE
    end = pos + 1 + size
    if end > len(data):
        raise UndecodableChange("compressed row value runs past the row image", offset=pos,
                                expected=size, found=len(data) - pos - 1, **where)
    return Entry(value=bytes(data[pos + 1 : end])), end


NOT_LOGGED: Final = (
    "compressed row: the block's column order and symbol table are not in the redo, and the "
    "supplemental data does not list this column")


def image_values(row: CompressedRow, supp: Image,
                 **where: Any) -> tuple[Image, NotInRedo | None]:
    """The row's column values (from ``supp``, the supplemental columns of the same undo
    record) and what stands for the columns ``supp`` does not list: None when they are
    known to be trailing NULLs, else :class:`NotInRedo`.

    ``supp`` must be consistent with the entries, else :class:`UndecodableChange`:

    - no supplemental columns: nothing is placed, every column is not in the redo;
    - no symbol entries, ``supp`` lists at least as many columns as there are entries:
      the entries' values are exactly the listed ones (extra listed columns NULL); the
      image is complete;
    - no symbol entries, fewer listed columns: every listed value is one of the entries;
      the other columns are not in the redo;
    - symbol entries: every inline value is one of the listed values; the listed columns
      are the image, and any column not listed may sit in the symbol table.
    """
    if not supp:
        return (), NotInRedo(NOT_LOGGED)
    inline = Counter(e.value for e in row.entries if e.symbol is None)
    listed = Counter(value for _, value in supp)
    if row.symbols:
        values: Counter[bytes | None] = Counter(
            {value: n for value, n in inline.items() if value is not None})
        _require(_within(values, listed), row, supp, where)
        return supp, NotInRedo(NOT_LOGGED)
    if len(supp) >= len(row.entries):
        extra = listed - inline
        _require(_within(inline, listed) and set(extra) <= {None}, row, supp, where)
        return supp, None
    _require(_within(listed, inline), row, supp, where)
    return supp, NotInRedo(NOT_LOGGED)


def _within(part: Counter[bytes | None], whole: Counter[bytes | None]) -> bool:
    return all(whole[key] >= n for key, n in part.items())


def _require(ok: bool, row: CompressedRow, supp: Image, where: Mapping[str, Any]) -> None:
    if not ok:
        raise UndecodableChange(
            "supplemental columns do not match the compressed row image",
            expected=f"{len(row.entries)} entries ({row.symbols} symbols)",
            found=f"{len(supp)} supplemental columns", **where)
