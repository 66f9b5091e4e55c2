"""What SQL targets share: statements for row changes, batched and one at a time.

A subclass supplies the connection, the dialect details (placeholders, upsert syntax,
type names, value converters, error classes, in-place LOB writes) and table
introspection. Statements are built once per (table, operation, column set) and cached.

An update with in-place LOB writes (``BoundChange.lob_edits``) runs its update
statement first (which finds the row: a missing row is a conflict like any update's),
then the target's :meth:`SqlRows.edit_lob` for each written column, on the row's key
after the update. Such updates are not batched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from drcommon.model import ColumnInfo, Operation

from drapply.adapters.base import BoundChange, TableShape
from drapply.errors import AmbiguousRow, BatchMismatch, UnconfiguredTable
from drapply.lobs import LobEdit
from drapply.naming import TableRef
from drapply.typemap import Converter

log = logging.getLogger(__name__)


def quote(name: str) -> str:
    """A delimited identifier; names are always quoted so any spelling survives."""
    return '"' + name.replace('"', '""') + '"'


def qualified(ref: TableRef) -> str:
    return f"{quote(ref.schema)}.{quote(ref.table)}"


class LobRowKey(NamedTuple):
    """How a LOB edit finds its row: key columns and values (after the update), and
    whether they compare null-safely (a table without a key)."""

    cols: tuple[str, ...]
    vals: tuple[Any, ...]
    null_safe: bool


def lob_row_key(change: BoundChange) -> LobRowKey:
    """The row a change's LOB edits apply to: its key after the update; on a table
    without a key, the edited columns themselves do not take part (they change)."""
    vals = change.new_key if change.new_key is not None else change.key_vals
    written = {e.column for e in change.lob_edits}
    pairs = [(c, v) for c, v in zip(change.key_cols, vals, strict=True) if c not in written]
    if not pairs:
        pairs = list(zip(change.key_cols, vals, strict=True))
    return LobRowKey(tuple(c for c, _v in pairs), tuple(v for _c, v in pairs), not change.has_pk)


class SqlRows:
    """Row-change statements over a DB-API cursor; subclasses fill in the dialect."""

    create_tables: bool = True
    copy_threshold: int = 0

    def __init__(self) -> None:
        self._shapes: dict[TableRef, TableShape] = {}
        self._created: set[TableRef] = set()
        self._sql: dict[tuple[object, ...], str] = {}

    # -- dialect hooks ---------------------------------------------------------------------
    def ph(self, index: int) -> str:
        """The placeholder for parameter ``index`` (0-based)."""
        raise NotImplementedError

    def null_safe_eq(self, column: str, placeholder: str) -> str:
        raise NotImplementedError

    def column_type(self, info: ColumnInfo) -> str:
        raise NotImplementedError

    def converter(self, info: ColumnInfo | None) -> Converter:
        raise NotImplementedError

    def describe(self, ref: TableRef) -> TableShape | None:
        raise NotImplementedError

    def ensure_schema(self, schema: str) -> None:
        raise NotImplementedError

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the row count. Errors become Target/Retriable errors."""
        raise NotImplementedError

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run one statement per row in a batch; returns the summed row count."""
        raise NotImplementedError

    def execute_many_expecting(self, sql: str, rows: Sequence[Sequence[Any]], what: str) -> None:
        """Run a batch whose summed row count must equal ``len(rows)`` (else BatchMismatch).

        Targets that pipeline may check at commit instead of now."""
        done = self.execute_many(sql, rows)
        if done != len(rows):
            raise BatchMismatch(f"{what} batch matched {done} of {len(rows)} rows")

    def copy_rows(self, ref: TableRef, columns: Sequence[str], rows: Sequence[Any]) -> None:
        """Bulk-load rows (PostgreSQL COPY); only called when ``copy_threshold`` > 0."""
        raise NotImplementedError

    def edit_lob(self, ref: TableRef, edit: LobEdit, key: LobRowKey) -> None:
        """Perform in-place writes on the LOB column of the one row ``key`` finds, with the
        semantics of :func:`drapply.lobs.edited`."""
        raise NotImplementedError

    def upsert_sql(self, ref: TableRef, columns: Sequence[str], key: Sequence[str]) -> str:
        """INSERT … ON CONFLICT (key) DO UPDATE (MERGE on Oracle)."""
        cols = ", ".join(quote(c) for c in columns)
        values = ", ".join(self.ph(i) for i in range(len(columns)))
        rest = [c for c in columns if c not in key]
        action = (
            "DO UPDATE SET " + ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in rest)
            if rest
            else "DO NOTHING"
        )
        target = ", ".join(quote(k) for k in key)
        return (
            f"INSERT INTO {qualified(ref)} ({cols}) VALUES ({values}) "
            f"ON CONFLICT ({target}) {action}"
        )

    def insert_sql(self, ref: TableRef, columns: Sequence[str], *, ignore: bool) -> str:
        """INSERT; with ``ignore`` a duplicate key inserts nothing instead of failing."""
        cols = ", ".join(quote(c) for c in columns)
        values = ", ".join(self.ph(i) for i in range(len(columns)))
        tail = " ON CONFLICT DO NOTHING" if ignore else ""
        return f"INSERT INTO {qualified(ref)} ({cols}) VALUES ({values}){tail}"

    def forget_created(self) -> None:
        """After a rollback, tables created in that transaction are gone again."""
        for ref in self._created:
            self._shapes.pop(ref, None)
        self._created.clear()

    def forget_table(self, ref: TableRef) -> None:
        """Describe the table again next time (a DDL may have changed it)."""
        self._shapes.pop(ref, None)
        for key in [k for k in self._sql if k[1] == ref]:
            del self._sql[key]

    # -- tables ----------------------------------------------------------------------------
    def prepare_table(self, change: BoundChange) -> TableShape:
        shape = self._shapes.get(change.table)
        if shape is None:
            shape = self.describe(change.table)
            if shape is None:
                shape = self._create(change)
            self._shapes[change.table] = shape
        used = set(change.set_cols) | set(change.key_cols) | set(change.image or ())
        missing = used - shape.columns.keys()
        if missing:
            shape = self._add_columns(change, shape, sorted(missing))
        return shape

    def _create(self, change: BoundChange) -> TableShape:
        if not self.create_tables:
            raise UnconfiguredTable(
                "target table does not exist (target.create_tables is off)",
                table=str(change.table),
                source=change.source,
            )
        if not change.columns:
            raise UnconfiguredTable(
                "target table does not exist and the change carries no column types",
                table=str(change.table),
                source=change.source,
            )
        self.ensure_schema(change.table.schema)
        defs = [f"{quote(name)} {self.column_type(info)}" for name, info in change.columns]
        if change.has_pk and change.key_cols:
            defs.append("PRIMARY KEY (" + ", ".join(quote(k) for k in change.key_cols) + ")")
        self.execute(self.create_table_sql(change.table, defs))
        log.info("created target table", extra={"table": str(change.table)})
        self._created.add(change.table)
        shape = self.describe(change.table)
        if shape is None:
            raise UnconfiguredTable("created table is not visible", table=str(change.table))
        return shape

    def create_table_sql(self, ref: TableRef, defs: list[str]) -> str:
        return f"CREATE TABLE {qualified(ref)} ({', '.join(defs)})"

    def _add_columns(
        self, change: BoundChange, shape: TableShape, missing: list[str]
    ) -> TableShape:
        types = dict(change.columns)
        if not self.create_tables or any(name not in types for name in missing):
            raise UnconfiguredTable(
                "target table lacks column(s) " + ", ".join(missing),
                table=str(change.table),
                source=change.source,
            )
        for name in missing:
            self.execute(
                f"ALTER TABLE {qualified(change.table)} ADD {quote(name)} "
                f"{self.column_type(types[name])}"
            )
            log.info("added target column", extra={"table": str(change.table), "column": name})
        self._created.add(change.table)
        refreshed = self.describe(change.table)
        assert refreshed is not None
        self._shapes[change.table] = refreshed
        return refreshed

    # -- statements ------------------------------------------------------------------------
    def _where(self, keys: Sequence[str], start: int, null_safe: bool) -> str:
        parts = []
        for offset, key in enumerate(keys):
            placeholder = self.ph(start + offset)
            if null_safe:
                parts.append(self.null_safe_eq(quote(key), placeholder))
            else:
                parts.append(f"{quote(key)} = {placeholder}")
        return " AND ".join(parts)

    def _statement(self, kind: str, change: BoundChange) -> str:
        cache_key = (kind, change.table, change.set_cols, change.key_cols, change.has_pk)
        sql = self._sql.get(cache_key)
        if sql is not None:
            return sql
        table = qualified(change.table)
        if kind == "update":
            cols = change.set_cols or change.key_cols[:1]
            sets = ", ".join(f"{quote(c)} = {self.ph(i)}" for i, c in enumerate(cols))
            where = self._where(change.key_cols, len(cols), not change.has_pk)
            sql = f"UPDATE {table} SET {sets} WHERE {where}"
        elif kind == "delete":
            sql = f"DELETE FROM {table} WHERE {self._where(change.key_cols, 0, not change.has_pk)}"
        elif kind == "insert":
            sql = self.insert_sql(change.table, change.set_cols, ignore=False)
        elif kind == "insert_ignore":
            sql = self.insert_sql(change.table, change.set_cols, ignore=True)
        else:
            raise ValueError(kind)
        self._sql[cache_key] = sql
        return sql

    @staticmethod
    def _update_params(change: BoundChange) -> tuple[Any, ...]:
        values = change.set_vals if change.set_cols else change.key_vals[:1]
        return (*values, *change.key_vals)

    def execute_run(self, changes: Sequence[BoundChange], *, overwrite: bool) -> None:
        first = changes[0]
        shape = self.prepare_table(first)
        unique = shape.has_unique(first.key_cols)
        if first.op is Operation.INSERT:
            self._insert_run(changes, unique)
            return
        if first.lob_edits:
            for change in changes:  # each finds its row, then writes into its LOBs
                done = self.update(change)
                if done != 1:
                    raise BatchMismatch(f"update matched {done} rows", key=change.key_text())
            return
        if first.op not in (Operation.UPDATE, Operation.DELETE):
            raise ValueError(f"cannot batch {first.op}")
        kind = "update" if first.op is Operation.UPDATE else "delete"
        sql = self._statement(kind, first)
        params: Callable[[BoundChange], tuple[Any, ...]] = (
            self._update_params if kind == "update" else lambda c: c.key_vals
        )
        if unique:
            # Each statement can touch at most one row, so the sum tells all.
            self.execute_many_expecting(sql, [params(c) for c in changes], kind)
            return
        for change in changes:
            done = self.execute(sql, params(change))
            if done != 1:
                raise BatchMismatch(f"{kind} matched {done} rows", key=change.key_text())

    def _insert_run(self, changes: Sequence[BoundChange], unique: bool) -> None:
        first = changes[0]
        rows = [c.set_vals for c in changes]
        if unique and self.copy_threshold and len(changes) >= self.copy_threshold:
            self.copy_rows(first.table, first.set_cols, rows)  # a duplicate raises
            return
        if not unique:
            self.execute_many(self._statement("insert", first), rows)
            return
        self.execute_many_expecting(self._statement("insert_ignore", first), rows, "insert")

    # -- one change at a time (exact mode) -------------------------------------------------
    def insert(self, change: BoundChange, *, upsert: bool) -> int:
        shape = self.prepare_table(change)
        unique = shape.has_unique(change.key_cols)
        if not upsert:
            kind = "insert_ignore" if unique else "insert"
            return self.execute(self._statement(kind, change), change.set_vals)
        return self._write_row(change.table, change.set_cols, change.set_vals, change, unique)

    def insert_image(self, change: BoundChange) -> int:
        assert change.image is not None
        shape = self.prepare_table(change)
        cols = tuple(change.image)
        values = tuple(change.image.values())
        return self._write_row(
            change.table, cols, values, change, shape.has_unique(change.key_cols)
        )

    def _write_row(
        self,
        ref: TableRef,
        cols: Sequence[str],
        values: Sequence[Any],
        change: BoundChange,
        unique: bool,
    ) -> int:
        """Insert or replace one row by key: an upsert where a unique key allows it."""
        if unique:
            return max(1, self.execute(self.upsert_sql(ref, cols, change.key_cols), values))
        key_values = [values[cols.index(k)] for k in change.key_cols]
        sets = ", ".join(f"{quote(c)} = {self.ph(i)}" for i, c in enumerate(cols))
        where = self._where(change.key_cols, len(cols), not change.has_pk)
        matched = self.execute(
            f"UPDATE {qualified(ref)} SET {sets} WHERE {where}", (*values, *key_values)
        )
        if matched > 1:
            raise AmbiguousRow("upsert matched more than one row", key=change.key_text())
        if matched == 1:
            return 1
        return self.execute(self.insert_sql(ref, cols, ignore=False), values)

    def update(self, change: BoundChange) -> int:
        self.prepare_table(change)
        done = self.execute(self._statement("update", change), self._update_params(change))
        if done == 1 and change.lob_edits:
            key = lob_row_key(change)
            for edit in change.lob_edits:
                self.edit_lob(change.table, edit, key)
        return done

    def delete(self, change: BoundChange) -> int:
        self.prepare_table(change)
        return self.execute(self._statement("delete", change), change.key_vals)
