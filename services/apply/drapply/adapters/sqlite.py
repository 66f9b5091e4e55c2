"""SQLite target: one database file per source schema, attached under the schema's name.

``target.path`` (``dr.sqlite``) is the main file: audit and service state. Each schema
lives in ``dr.<SCHEMA>.sqlite`` beside it with its tables *and* its checkpoint and parked
rows, so a commit touches one file and stays atomic in WAL mode (SQLite makes a
transaction spanning attached files atomic only with a rollback journal). A data
session opens an in-memory main database and attaches only its own schema's file, so
``BEGIN IMMEDIATE`` locks that file and nothing else: schemas apply in parallel.
Opened by hand (``ATTACH 'dr.OLR_TEST.sqlite' AS OLR_TEST``),
``SELECT * FROM OLR_TEST.TEST_CDC`` works; ``drapply sql`` attaches every schema.

Tables apply creates are ``STRICT``; NUMBER columns are ``ANY`` and hold an INTEGER when
the value is integral and fits 64 bits, else the exact decimal text — never a REAL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from drcommon.model import ColumnInfo
from drcommon.topics import escape_name, unescape_name

from drapply.adapters.base import Checkpoint, DdlLogRow, ParkedRow, Stream, TableShape
from drapply.adapters.control import SqlControl
from drapply.adapters.sqlbase import LobRowKey, SqlRows, qualified, quote
from drapply.errors import RetriableSinkError, TargetError, UnconfiguredTable
from drapply.lobs import LobEdit, edited
from drapply.naming import TableRef
from drapply.settings import TargetSettings
from drapply.typemap import (
    Converter,
    Family,
    as_text,
    classify,
    float_or_nan_text,
    hex_bytes,
    integer_or_text,
)

_CONTROL_PREFIX = "_drapply_"

_STORAGE = {
    Family.NUMBER: "ANY",
    Family.BINARY_FLOAT: "ANY",
    Family.BINARY_DOUBLE: "ANY",
    Family.RAW: "BLOB",
    Family.BLOB: "BLOB",
    Family.OTHER: "ANY",
    Family.BOOLEAN: "ANY",
}
_CONVERTERS: dict[Family, Converter] = {
    Family.NUMBER: integer_or_text,
    Family.BINARY_FLOAT: float_or_nan_text,
    Family.BINARY_DOUBLE: float_or_nan_text,
    Family.RAW: hex_bytes,
    Family.BLOB: hex_bytes,
}


def schema_file(main: Path, schema: str) -> Path:
    """``dr.sqlite`` + ``OLR_TEST`` -> ``dr.OLR_TEST.sqlite`` (names escaped for files)."""
    return main.with_name(f"{main.stem}.{escape_name(schema)}{main.suffix or '.sqlite'}")


def schema_files(main: Path) -> dict[str, Path]:
    """Every schema file beside ``main``, by schema name."""
    suffix = main.suffix or ".sqlite"
    found = {}
    for path in sorted(main.parent.glob(f"{main.stem}.*{suffix}")):
        middle = path.name[len(main.stem) + 1 : len(path.name) - len(suffix)]
        if middle and "." not in middle:
            found[unescape_name(middle)] = path
    return found


class SqliteTarget:
    """Opens SQLite sessions for one ``[target]`` section."""

    kind = "sqlite"

    def __init__(self, settings: TargetSettings) -> None:
        self.settings = settings
        self.main = settings.path

    def connect(self, *, admin: bool = False) -> SqliteSession:
        return SqliteSession(self.settings, admin=admin)


class SqliteSession(SqlControl, SqlRows):
    """One SQLite connection; see the module docstring for the file layout."""

    kind = "sqlite"
    for_update = ""

    def __init__(self, settings: TargetSettings, *, admin: bool) -> None:
        SqlRows.__init__(self)
        self.create_tables = settings.create_tables
        self._settings = settings
        self._main = settings.path
        self._admin = admin
        self._main.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            str(self._main) if admin else ":memory:",
            isolation_level=None,
            check_same_thread=False,
            timeout=settings.busy_timeout_seconds,
        )
        self._cur = self._conn.cursor()
        self._attached: set[str] = set()
        if admin:
            self._pragmas("main")
            self.global_tables_ddl()
            for schema in schema_files(self._main):
                self._attach(schema)

    def close(self) -> None:
        self._conn.close()

    # -- connection plumbing ---------------------------------------------------------------
    def _pragmas(self, schema: str) -> None:
        self._cur.execute(f"PRAGMA {quote(schema)}.journal_mode=WAL")
        self._cur.execute(f"PRAGMA {quote(schema)}.synchronous={self._settings.sqlite_synchronous}")

    def _attach(self, schema: str) -> None:
        if schema in self._attached:
            return
        if self._conn.in_transaction:
            raise UnconfiguredTable(
                "a schema file can only be attached outside a transaction", schema=schema
            )
        path = schema_file(self._main, schema)
        self._cur.execute("ATTACH DATABASE ? AS " + quote(schema), (str(path),))
        self._attached.add(schema)
        self._pragmas(schema)
        self.stream_tables_ddl(schema)

    def prepare_stream(self, stream: Stream) -> None:
        self._attach(stream.schema)

    def ensure_schema(self, schema: str) -> None:
        if schema not in self._attached:
            self._attach(schema)

    def control_table(self, name: str, schema: str | None) -> str:
        if schema is None:
            if not self._admin:
                raise TargetError(f"control table {name} needs an admin session")
            return quote("main") + "." + quote(_CONTROL_PREFIX + name)
        return quote(schema) + "." + quote(_CONTROL_PREFIX + name)

    def ph(self, index: int) -> str:
        return "?"

    def null_safe_eq(self, column: str, placeholder: str) -> str:
        return f"{column} IS {placeholder}"

    def start(self) -> None:
        self._run(self._cur.execute, "BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._run(self._cur.execute, "COMMIT")
        self._created.clear()

    def rollback(self) -> None:
        if self._conn.in_transaction:
            self._cur.execute("ROLLBACK")
        self.forget_created()

    def _run(self, method: Any, *args: Any) -> Any:
        try:
            return method(*args)
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                raise RetriableSinkError(f"SQLite: {text}") from exc
            raise TargetError(f"SQLite: {text}") from exc
        except sqlite3.DatabaseError as exc:
            raise TargetError(f"SQLite: {exc}") from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self._run(self._cur.execute, sql, tuple(params))
        return max(self._cur.rowcount, 0)

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        self._run(self._cur.executemany, sql, rows)
        return max(self._cur.rowcount, 0)

    def column_names(self, table: str) -> set[str]:
        self._run(self._cur.execute, f"SELECT * FROM {table} WHERE 0")
        return {str(d[0]).lower() for d in self._cur.description or ()}

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._run(self._cur.execute, sql, tuple(params))
        return list(self._cur.fetchall())

    def edit_lob(self, ref: TableRef, edit: LobEdit, key: LobRowKey) -> None:
        """Read, write in Python (:func:`drapply.lobs.edited`), write back: the database
        is local and the transaction holds the file's write lock (``BEGIN IMMEDIATE``)."""
        where = " AND ".join(
            f"{quote(c)} IS ?" if key.null_safe else f"{quote(c)} = ?" for c in key.cols
        )
        col = quote(edit.column)
        rows = self.query(f"SELECT {col} FROM {qualified(ref)} WHERE {where}", key.vals)
        if len(rows) != 1:
            raise TargetError(f"a LOB write found {len(rows)} rows", table=str(ref),
                              column=edit.column)  # fmt: skip
        value = edited(rows[0][0], edit)
        self.execute(f"UPDATE {qualified(ref)} SET {col} = ? WHERE {where}", (value, *key.vals))

    # -- types and tables --------------------------------------------------------------------
    def column_type(self, info: ColumnInfo) -> str:
        return _STORAGE.get(classify(info).family, "TEXT")

    def converter(self, info: ColumnInfo | None) -> Converter:
        return _CONVERTERS.get(classify(info).family, as_text)

    def create_table_sql(self, ref: TableRef, defs: list[str]) -> str:
        return super().create_table_sql(ref, defs) + " STRICT"

    def describe(self, ref: TableRef) -> TableShape | None:
        if ref.schema not in self._attached:
            self.ensure_schema(ref.schema)
        schema = quote(ref.schema)
        info = self.query(f"PRAGMA {schema}.table_info({quote(ref.table)})")
        if not info:
            return None
        columns = {str(r[1]): str(r[2]) for r in info}
        pk = frozenset(str(r[1]) for r in info if r[5])
        uniques = [pk] if pk else []
        for index in self.query(f"PRAGMA {schema}.index_list({quote(ref.table)})"):
            if index[2]:
                cols = self.query(f"PRAGMA {schema}.index_info({quote(str(index[1]))})")
                uniques.append(frozenset(str(c[2]) for c in cols))
        return TableShape(columns, tuple(uniques))

    # -- views over every schema (admin sessions) ----------------------------------------------
    def checkpoints(self) -> list[Checkpoint]:
        out: list[Checkpoint] = []
        for schema in sorted(self._attached):
            out.extend(self.stream_checkpoints(schema))
        return out

    def parked(self, state: str | None = None) -> list[ParkedRow]:
        out: list[ParkedRow] = []
        for schema in sorted(self._attached):
            out.extend(self.stream_parked(schema, state))
        return sorted(out, key=lambda p: p.parked_at)

    def ddl_log(self, schema: str | None) -> list[DdlLogRow]:
        rows = [row for s in sorted(self._attached) for row in self.stream_ddl_log(s)]
        return rows if schema is None else [r for r in rows if r.schema == schema]
