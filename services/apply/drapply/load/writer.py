"""Writing a source table's rows into its target table, batch by batch.

The target table is created like apply creates it (``target.create_tables``: the column
types from the source catalog, the primary key) and its values are converted by the
converters apply binds changes with, so a loaded row and an applied row are stored
alike. PostgreSQL gets ``COPY``; SQLite and Oracle batched inserts (``executemany``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from drcommon.model import Operation

from drapply.adapters.base import BoundChange
from drapply.adapters.rawsql import SqlSession
from drapply.adapters.sqlbase import qualified
from drapply.naming import Naming, TableRef
from drapply.snapshot.model import SourceTable, WireRow
from drapply.typemap import Converter, as_text


class TableWriter:
    """One source table's target: names, converters, the insert statement."""

    def __init__(self, table: SourceTable, naming: Naming) -> None:
        self.table = table
        self.ref: TableRef = naming.table(table.owner, table.name)
        self.columns = tuple(naming.column(table.owner, table.name, c) for c in table.column_names)
        self.key = tuple(naming.column(table.owner, table.name, k) for k in table.key)
        self._converters: list[tuple[int, Converter]] | None = None

    def shape_change(self) -> BoundChange:
        """An empty insert carrying the table's shape, for ``prepare_table``."""
        infos = tuple(zip(self.columns, (i for _n, i in self.table.columns), strict=True))
        return BoundChange(Operation.INSERT, self.ref, self.table.owner, self.table.name,
                           self.key, (), self.columns, (), None, infos, bool(self.key))  # fmt: skip

    def prepare(self, session: SqlSession) -> None:
        """Create the table (or refuse a missing one, as apply does); learn converters."""
        session.ensure_schema(self.ref.schema)
        session.prepare_table(self.shape_change())
        self._converters = [
            (i, convert)
            for i, (_name, info) in enumerate(self.table.columns)
            if (convert := session.converter(info)) is not as_text
        ]

    def convert(self, rows: Sequence[WireRow]) -> list[Sequence[Any]]:
        """Wire rows as the target binds them (only the columns whose converter changes
        strings are touched)."""
        converters = self._converters
        assert converters is not None, "prepare() first"
        if not converters:
            return list(rows)
        out: list[Sequence[Any]] = []
        for row in rows:
            values: list[Any] = list(row)
            for index, convert in converters:
                values[index] = convert(values[index])
            out.append(values)
        return out

    def write(self, session: SqlSession, rows: Sequence[WireRow]) -> None:
        """Write a batch inside the caller's transaction."""
        if not rows:
            return
        values = self.convert(rows)
        if session.kind == "postgresql":
            session.copy_rows(self.ref, self.columns, values)
        else:
            session.execute_many(session.insert_sql(self.ref, self.columns, ignore=False), values)

    def is_empty(self, session: SqlSession) -> bool:
        limit = " FETCH FIRST 1 ROWS ONLY" if session.kind == "oracle" else " LIMIT 1"
        return not session.query(f"SELECT 1 FROM {qualified(self.ref)}{limit}")

    def empty(self, session: SqlSession) -> None:
        """Remove every row (a re-seed), inside the caller's transaction. PostgreSQL
        truncates (apply created and owns the table); SQLite and Oracle delete (Oracle's
        TRUNCATE would commit by itself and needs more than apply's writer is granted)."""
        if session.kind == "postgresql":
            session.execute(f"TRUNCATE TABLE {qualified(self.ref)}")
        else:
            session.execute(f"DELETE FROM {qualified(self.ref)}")
