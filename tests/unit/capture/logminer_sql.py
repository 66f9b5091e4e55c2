"""A small parser for LogMiner SQL_REDO texts of objects LogMiner has no dictionary for.

Without a dictionary LogMiner names the table ``"UNKNOWN"."OBJ# n"`` and the columns
``"COL n"``, and prints every value as raw bytes: ``HEXTORAW('c102')`` (or, in some
copies, just ``'c102'``). A NULL is ``"COL n" = NULL`` in a SET list, ``"COL n" IS NULL``
in a WHERE clause and ``NULL`` in a VALUES list. The parser turns such a text into column
number -> upper-case hex (or ``None``), the form our assembler reports values in, and
refuses anything it does not understand rather than guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Columns = dict[int, str | None]
SqlOp = Literal["insert", "update", "delete"]

_HEAD = re.compile(
    r'\s*(?P<verb>update|delete\s+from|insert\s+into)\s+"(?P<owner>[^"]+)"\."OBJ# (?P<obj>\d+)"',
    re.IGNORECASE)
_HEX = r"(?:HEXTORAW\('(?P<{0}>[0-9a-fA-F]*)'\)|'(?P<{0}q>[0-9a-fA-F]*)')"
_SET_ITEM = re.compile(
    r'\s*"COL (?P<col>\d+)"\s*=\s*(?:' + _HEX.format("hex") + r"|(?P<null>NULL))\s*")
_WHERE_ITEM = re.compile(
    r'\s*"COL (?P<col>\d+)"\s*(?:=\s*' + _HEX.format("hex") + r"|(?P<null>IS\s+NULL))\s*")
_VALUE_ITEM = re.compile(r"\s*(?:" + _HEX.format("hex") + r"|(?P<null>NULL))\s*")
_NAME_ITEM = re.compile(r'\s*"COL (?P<col>\d+)"\s*')


@dataclass(frozen=True)
class SqlRedo:
    """One parsed statement: the SET, WHERE and VALUES column sets that apply to it."""

    op: SqlOp
    obj: int
    set_columns: Columns = field(default_factory=dict)
    where_columns: Columns = field(default_factory=dict)
    values: Columns = field(default_factory=dict)


def _value(m: re.Match[str]) -> str | None:
    if m.group("null"):
        return None
    raw = m.group("hex") if m.group("hex") is not None else m.group("hexq")
    return raw.upper()


def _split(text: str, separator: str) -> list[str]:
    parts = re.split(separator, text, flags=re.IGNORECASE)
    if any(not p.strip() for p in parts):
        raise ValueError(f"empty item in {text[:80]!r}")
    return parts


def _pairs(text: str, separator: str, item: re.Pattern[str]) -> Columns:
    out: Columns = {}
    for part in _split(text, separator):
        m = item.fullmatch(part)
        if m is None:
            raise ValueError(f"not a column item: {part.strip()[:80]!r}")
        col = int(m.group("col"))
        if col in out:
            raise ValueError(f"COL {col} twice")
        out[col] = _value(m)
    return out


def _insert(rest: str) -> tuple[Columns, str]:
    m = re.fullmatch(r"\s*\((?P<names>[^)]*)\)\s*values\s*\((?P<values>.*)\)\s*", rest,
                     re.IGNORECASE | re.DOTALL)
    if m is None:
        raise ValueError("insert without a column list and a VALUES list")
    names = [_NAME_ITEM.fullmatch(n) for n in _split(m.group("names"), ",")]
    values = [_VALUE_ITEM.fullmatch(v) for v in _split(m.group("values"), ",")]
    if len(names) != len(values) or not all(names) or not all(values):
        raise ValueError("insert column and value lists do not pair up")
    out: Columns = {}
    for n, v in zip(names, values, strict=True):
        assert n is not None and v is not None
        out[int(n.group("col"))] = _value(v)
    return out, ""


def parse_sql_redo(text: str) -> SqlRedo:
    """Parse one SQL_REDO text; a trailing ``;`` and surrounding blanks are allowed."""
    head = _HEAD.match(text)
    if head is None:
        raise ValueError(f"not an UNKNOWN.OBJ# statement: {text[:80]!r}")
    verb = head.group("verb").split()[0].lower()
    obj = int(head.group("obj"))
    rest = text[head.end():].strip().rstrip(";")
    if verb == "insert":
        values, _ = _insert(rest)
        return SqlRedo("insert", obj, values=values)
    where = re.split(r"(?:^|\s+)where\s+", rest, maxsplit=1, flags=re.IGNORECASE)
    if len(where) != 2:
        raise ValueError(f"{verb} without a WHERE clause")
    where_columns = _pairs(where[1], r"\s+and\s+", _WHERE_ITEM)
    if verb == "delete":
        if where[0].strip():
            raise ValueError(f"unexpected text before WHERE: {where[0][:80]!r}")
        return SqlRedo("delete", obj, where_columns=where_columns)
    set_part = re.fullmatch(r"set\s+(?P<items>.*)", where[0].strip(), re.IGNORECASE | re.DOTALL)
    if set_part is None:
        raise ValueError("update without a SET list")
    return SqlRedo("update", obj, set_columns=_pairs(set_part.group("items"), ",", _SET_ITEM),
                   where_columns=where_columns)
