"""Reading the DR copy: a chunk of rows together with its stream's applied SCN, in one
snapshot of the DR database.

The checkpoint row moves in the same transaction as the rows (apply's exactly-once), so a
snapshot that reads both sees rows that are exactly the source's as of the applied SCN:
``max(commit_scn, watermark_scn)`` of the checkpoint (the watermark says no transaction
of the schema came between). Snapshots: PostgreSQL ``REPEATABLE READ READ ONLY``,
SQLite a deferred read transaction (WAL), Oracle ``SET TRANSACTION READ ONLY``.
Chunks are pages in the DR key order (text keys in code point order) after the previous
chunk's last key; values come back in the wire format.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from drcommon.errors import DRError
from drcommon.model import ColumnInfo

from drapply.adapters.base import Stream
from drapply.adapters.rawsql import SqlSession
from drapply.adapters.sqlbase import qualified, quote
from drapply.naming import TableRef
from drapply.snapshot import oracle as oracle_sql
from drapply.snapshot import postgres as postgres_sql
from drapply.snapshot.model import KeyRange, WireRow, WireValue
from drapply.snapshot.sql import Params, batched, keys_where, range_where
from drapply.snapshot.values import to_wire
from drapply.typemap import ColumnType, Family, classify

KEYS_PER_QUERY = 500
_BEGIN = {
    "postgresql": "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    "sqlite": "BEGIN",
    "oracle": "SET TRANSACTION READ ONLY",
}


class CompareError(DRError):
    """A table cannot be compared as asked (no position, not at the SCN asked for …)."""


@dataclass(frozen=True, slots=True)
class DrTable:
    """A source table's DR side: target names, the columns both sides have, the key."""

    ref: TableRef
    stream: Stream
    columns: tuple[str, ...]  # target column names, in source column order
    infos: tuple[ColumnInfo, ...]
    key: tuple[str, ...]  # target names of the key columns
    key_positions: tuple[int, ...]

    @property
    def kinds(self) -> tuple[ColumnType, ...]:
        return tuple(classify(i) for i in self.infos)


@dataclass(frozen=True, slots=True)
class DrChunk:
    """One page of DR rows and the source SCN they equal."""

    scn: int
    rows: list[WireRow]
    hi: WireRow | None  # the last row's key; None when the table ended in this page


def select_expr(kind: str, column: str, column_type: ColumnType) -> str:
    if kind == "postgresql":
        return postgres_sql.select_expr(column, column_type)
    if kind == "oracle":
        if column_type.family is Family.NUMBER:
            return f"TO_CHAR({quote(column)}, 'TM9')"
        return oracle_sql.select_expr(column, column_type)
    return quote(column)


def key_expr(kind: str, column: str, column_type: ColumnType) -> str:
    if kind == "postgresql":
        return postgres_sql.key_expr(column, column_type)
    return quote(column)


def limit(kind: str, rows: int) -> str:
    return f" FETCH FIRST {rows} ROWS ONLY" if kind == "oracle" else f" LIMIT {rows}"


def position_scn(commit_scn: Any, watermark_scn: Any) -> int | None:
    """The source SCN the DR copy of a schema equals (None: nothing applied yet)."""
    known = [int(v) for v in (commit_scn, watermark_scn) if v is not None]
    return max(known) if known else None


class DrReader:
    """Reads DR rows in snapshots (see the module docstring)."""

    def __init__(self, session: SqlSession, at_scn: int | None = None) -> None:
        self.session = session
        self.kind = session.kind
        self.at_scn = at_scn

    def _begin(self) -> None:
        self.session.execute(_BEGIN[self.kind])

    def _position(self, table: DrTable) -> int:
        s = self.session
        checkpoint = s.control_table("checkpoint", table.ref.schema)
        rows = s.query(
            f"SELECT commit_scn, watermark_scn FROM {checkpoint}"
            f" WHERE topic = {s.ph(0)} AND partition_no = {s.ph(1)}",
            (table.stream.topic, table.stream.partition),
        )
        scn = position_scn(*rows[0]) if rows else None
        if scn is None:
            raise CompareError("the schema's stream has applied nothing yet (no checkpoint SCN)",
                               topic=table.stream.topic)  # fmt: skip
        if self.at_scn is None:
            return scn
        commit = int(rows[0][0]) if rows[0][0] is not None else 0
        if not commit <= self.at_scn <= scn:
            raise CompareError(
                f"the DR copy is not at SCN {self.at_scn} (applied up to {commit}, known "
                f"complete to {scn}): hold apply there first (POST /api/v1/hold)",
                topic=table.stream.topic,
            )
        return self.at_scn

    def _params(self, table: DrTable) -> Params:
        converters = [self.session.converter(table.infos[i]) for i in table.key_positions]

        def bind(position: int, value: WireValue) -> Any:
            bound = converters[position](value)
            return getattr(bound, "value", bound)  # an Oracle LobBind: its plain value

        return Params(self.session.ph, bind)

    def _select(self, table: DrTable) -> str:
        return ", ".join(select_expr(self.kind, c, k) for c, k in zip(table.columns, table.kinds,
                                                                       strict=True))  # fmt: skip

    def _key_exprs(self, table: DrTable) -> list[str]:
        kinds = table.kinds
        return [key_expr(self.kind, table.columns[i], kinds[i]) for i in table.key_positions]

    def _wire(self, table: DrTable, rows: Sequence[Sequence[Any]]) -> list[WireRow]:
        kinds = table.kinds
        return [
            tuple(v if v is None or v.__class__ is str else to_wire(v, k)
                  for v, k in zip(row, kinds, strict=True))
            for row in rows
        ]  # fmt: skip

    def page(self, table: DrTable, after: WireRow | None, rows: int) -> DrChunk:
        """Up to ``rows`` rows after the key ``after``, with the SCN they equal."""
        exprs = self._key_exprs(table)
        params = self._params(table)
        where = range_where(exprs, KeyRange(after, None), params) if exprs else "1 = 1"
        order = f" ORDER BY {', '.join(exprs)}" if exprs else ""
        paged = limit(self.kind, rows) if exprs else ""
        source = qualified(table.ref)
        sql = f"SELECT {self._select(table)} FROM {source} WHERE {where}{order}{paged}"
        self._begin()
        try:
            scn = self._position(table)
            found = self._wire(table, self.session.query(sql, params.values))
        finally:
            self.session.rollback()
        hi = None
        if exprs and len(found) >= rows:
            hi = tuple(found[-1][i] for i in table.key_positions)
        return DrChunk(scn, found, hi)

    def by_keys(self, table: DrTable, keys: Sequence[WireRow]) -> tuple[int, list[WireRow]]:
        """The rows with these keys, and the SCN they equal (one snapshot)."""
        self._begin()
        try:
            scn = self._position(table)
            return scn, self.fetch_keys(table, keys)
        finally:
            self.session.rollback()

    def fetch_keys(self, table: DrTable, keys: Sequence[WireRow]) -> list[WireRow]:
        """The rows with these keys, inside the caller's transaction."""
        exprs = self._key_exprs(table)
        select = self._select(table)
        out: list[WireRow] = []
        for part in batched(keys, KEYS_PER_QUERY):
            params = self._params(table)
            where = keys_where(exprs, part, params)
            sql = f"SELECT {select} FROM {qualified(table.ref)} WHERE {where}"
            out.extend(self._wire(table, self.session.query(sql, params.values)))
        return out

    def count(self, table: DrTable) -> int:
        rows = self.session.query(f"SELECT COUNT(*) FROM {qualified(table.ref)}")
        return int(rows[0][0])
