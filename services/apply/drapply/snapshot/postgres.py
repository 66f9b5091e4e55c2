"""The PostgreSQL source: a database that keeps every row version with the SCN range it
was valid for, so "as of SCN X" is a real query (the tests' and benchmarks' source, fed
from the same workload the redo writer turns into redo; also any source that can keep
such a history).

The layout, in ``source_db.history_schema`` (:func:`catalog_ddl` creates the catalog):

* ``dr_clock (scn)`` — one row: the source's current SCN;
* ``dr_transactions (xid, thread, start_scn, end_scn, committed)`` — every transaction,
  ``end_scn`` NULL while it is open (for the start point of a copy);
* ``dr_tables (owner, table_name, history_table)`` and ``dr_columns (owner, table_name,
  column_name, column_id, data_type, data_length, data_precision, data_scale, nullable,
  key_position)`` — the Oracle catalog (``ALL_TAB_COLUMNS`` and the primary key);
* one history table per source table: the columns in the PostgreSQL types apply's
  PostgreSQL target uses, plus ``dr_from_scn`` (the commit SCN that wrote the version)
  and ``dr_to_scn`` (the commit SCN that replaced or deleted it, NULL while current).
  A version is visible as of X when ``dr_from_scn <= X < dr_to_scn``.

Text keys compare with ``COLLATE "C"`` (code point order, as Oracle's binary order of
AL32UTF8). Intervals are read as total months / total seconds (psycopg's ``timedelta``
turns ``1 year 2 months`` into 425 days).
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from drcommon.model import ColumnInfo

from drapply.settings import SourceDbSettings
from drapply.snapshot.model import (
    Chunk,
    KeyRange,
    RetriableSnapshotError,
    SnapshotError,
    SourceTable,
    StartPoint,
    WireRow,
    WireValue,
)
from drapply.snapshot.sql import Params, batched, keys_where, quote, range_where
from drapply.snapshot.values import to_wire
from drapply.typemap import ColumnType, Family, classify

log = logging.getLogger(__name__)
KEYS_PER_QUERY = 500
_TEXT_FAMILIES = frozenset({Family.TEXT, Family.CLOB, Family.NCLOB, Family.OTHER,
                            Family.TIMESTAMP_TZ})  # fmt: skip
_BINARY_FAMILIES = frozenset({Family.RAW, Family.BLOB})


def catalog_ddl(schema: str) -> list[str]:
    """The statements that create the history layout's catalog tables."""
    s = quote(schema)
    return [
        f"CREATE SCHEMA IF NOT EXISTS {s}",
        f"CREATE TABLE IF NOT EXISTS {s}.dr_clock (scn bigint NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {s}.dr_transactions (xid text PRIMARY KEY, thread int, "
        "start_scn bigint NOT NULL, end_scn bigint, committed boolean)",
        f"CREATE INDEX IF NOT EXISTS dr_transactions_open ON {s}.dr_transactions "
        "(start_scn, end_scn)",
        f"CREATE TABLE IF NOT EXISTS {s}.dr_tables (owner text, table_name text, "
        "history_table text NOT NULL, PRIMARY KEY (owner, table_name))",
        f"CREATE TABLE IF NOT EXISTS {s}.dr_columns (owner text, table_name text, "
        "column_name text, column_id int NOT NULL, data_type text NOT NULL, "
        "data_length int, data_precision int, data_scale int, nullable boolean, "
        "key_position int, PRIMARY KEY (owner, table_name, column_name))",
    ]


def select_expr(column: str, kind: ColumnType) -> str:
    """How a column is selected so :func:`to_wire` can make it exact."""
    col = quote(column)
    if kind.family is Family.INTERVAL_YM:
        return f"(extract(year from {col})::bigint * 12 + extract(month from {col})::bigint)"
    if kind.family is Family.INTERVAL_DS and kind.fraction <= 6:
        return f"extract(epoch from {col})"
    return col


def key_expr(column: str, kind: ColumnType) -> str:
    """A key column as compared and ordered: text in code point order."""
    if kind.family in _TEXT_FAMILIES or (kind.family is Family.TIMESTAMP and kind.fraction > 6):
        return f'{quote(column)} COLLATE "C"'
    return quote(column)


def bind_key(kind: ColumnType, value: WireValue) -> Any:
    """A wire key value as a psycopg parameter (PostgreSQL casts the text)."""
    if value is not None and kind.family in _BINARY_FAMILIES:
        return bytes.fromhex(value)
    return value


def connect_options(settings: SourceDbSettings) -> dict[str, Any]:
    """psycopg keyword options: user, password (env/file only) and TLS."""
    options: dict[str, Any] = {"connect_timeout": 10}
    if settings.user:
        options["user"] = settings.user
    password = settings.secret(key="source_db.password")
    if password:
        options["password"] = password
    tls = settings.tls
    if tls.enabled:
        options["sslmode"] = "verify-full" if tls.check_hostname else "verify-ca"
        if tls.ca_file:
            options["sslrootcert"] = str(tls.ca_file)
        if tls.cert_file:
            options["sslcert"] = str(tls.cert_file)
        if tls.key_file:
            options["sslkey"] = str(tls.key_file)
    return options


class _Shape:
    """A table's SQL pieces, built once."""

    def __init__(self, schema: str, history: str, table: SourceTable) -> None:
        self.table = table
        self.kinds = [classify(info) for _name, info in table.columns]
        self.source = f"{quote(schema)}.{quote(history)}"
        self.select = ", ".join(
            select_expr(name, kind) for (name, _i), kind in zip(table.columns, self.kinds,
                                                                 strict=True)
        )  # fmt: skip
        names = table.column_names
        self.key_kinds = [self.kinds[names.index(k)] for k in table.key]
        self.key_exprs = [key_expr(k, kind) for k, kind in zip(table.key, self.key_kinds,
                                                                strict=True)]  # fmt: skip
        self.order = ", ".join(self.key_exprs) if self.key_exprs else "1"

    def params(self) -> Params:
        return Params(lambda _i: "%s", lambda i, v: bind_key(self.key_kinds[i], v))

    def wire(self, row: Sequence[Any]) -> WireRow:
        return tuple(
            v if v is None or isinstance(v, str) else to_wire(v, k)
            for v, k in zip(row, self.kinds, strict=True)
        )


class PostgresHistoryReader:
    """Reads the history layout (see the module docstring) as of an SCN."""

    kind = "postgresql"

    def __init__(self, settings: SourceDbSettings) -> None:
        assert settings.dsn is not None
        self._schema = settings.history_schema
        self._array_size = settings.array_size
        try:
            self._conn = psycopg.connect(settings.dsn, **connect_options(settings))
        except (psycopg.OperationalError, OSError) as exc:
            raise RetriableSnapshotError(f"source PostgreSQL is unreachable: {exc}") from exc
        if settings.statement_timeout_seconds:
            ms = int(settings.statement_timeout_seconds * 1000)
            self._run(lambda: self._conn.execute(f"SET statement_timeout = {ms}"))
        self._run(self._conn.commit)
        self._shapes: dict[tuple[str, str], _Shape] = {}
        self._history: dict[tuple[str, str], str] = {}

    def close(self) -> None:
        self._conn.close()

    def _run(self, call: Any) -> Any:
        try:
            return call()
        except psycopg.OperationalError as exc:
            raise RetriableSnapshotError(f"source PostgreSQL: {exc}".strip()) from exc
        except psycopg.Error as exc:
            raise SnapshotError(f"source PostgreSQL: {exc}".strip()) from exc

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        def run() -> list[tuple[Any, ...]]:
            try:
                return self._conn.execute(sql, tuple(params) or None).fetchall()
            finally:
                self._conn.rollback()

        rows: list[tuple[Any, ...]] = self._run(run)
        return rows

    # -- SCNs --------------------------------------------------------------------------------
    def current_scn(self) -> int:
        rows = self._query(f"SELECT max(scn) FROM {quote(self._schema)}.dr_clock")
        if not rows or rows[0][0] is None:
            raise SnapshotError("the source's history layout has no clock row",
                                schema=self._schema)  # fmt: skip
        return int(rows[0][0])

    def now(self) -> StartPoint:
        return self.start_point(self.current_scn())

    def _check_scn(self, scn: int) -> None:
        now = self.current_scn()
        if scn > now:
            raise SnapshotError(f"SCN {scn} is in the source's future (current SCN {now})")

    def start_point(self, scn: int) -> StartPoint:
        self._check_scn(scn)
        rows = self._query(
            f"SELECT xid, start_scn FROM {quote(self._schema)}.dr_transactions "
            "WHERE start_scn <= %s AND (end_scn IS NULL OR end_scn > %s) ORDER BY start_scn",
            (scn, scn),
        )
        if not rows:
            return StartPoint(scn, scn)
        return StartPoint(scn, min(int(rows[0][1]), scn), len(rows), str(rows[0][0]))

    # -- catalog -----------------------------------------------------------------------------
    def tables(self, owners: Sequence[str]) -> list[SourceTable]:
        s = quote(self._schema)
        found = self._query(f"SELECT owner, table_name, history_table FROM {s}.dr_tables "
                            "ORDER BY owner, table_name")  # fmt: skip
        columns = self._query(
            f"SELECT owner, table_name, column_name, data_type, data_length, data_precision, "
            f"data_scale, nullable, key_position FROM {s}.dr_columns "
            "ORDER BY owner, table_name, column_id"
        )
        out = []
        for owner, name, history in found:
            if not any(fnmatch.fnmatchcase(owner, p) for p in owners):
                continue
            cols = [c for c in columns if c[0] == owner and c[1] == name]
            infos = tuple(
                (str(c[2]), ColumnInfo(type=str(c[3]), length=c[4], precision=c[5], scale=c[6],
                                       nullable=c[7] is not False))
                for c in cols
            )  # fmt: skip
            key = tuple(str(c[2]) for c in sorted((c for c in cols if c[8]), key=lambda c: c[8]))
            table = SourceTable(str(owner), str(name), infos, key)
            self._history[(table.owner, table.name)] = str(history)
            out.append(table)
        return out

    def _shape(self, table: SourceTable) -> _Shape:
        shape = self._shapes.get((table.owner, table.name))
        if shape is None:
            history = self._history.get((table.owner, table.name))
            if history is None:
                self.tables([table.owner])
                history = self._history.get((table.owner, table.name))
            if history is None:
                raise SnapshotError("no such source table", table=table.full_name)
            shape = _Shape(self._schema, history, table)
            self._shapes[(table.owner, table.name)] = shape
        return shape

    # -- rows --------------------------------------------------------------------------------
    @staticmethod
    def _as_of() -> str:
        return "dr_from_scn <= %s AND (dr_to_scn IS NULL OR dr_to_scn > %s)"

    def count(self, table: SourceTable, scn: int) -> int:
        shape = self._shape(table)
        rows = self._query(f"SELECT count(*) FROM {shape.source} WHERE {self._as_of()}",
                           (scn, scn))  # fmt: skip
        return int(rows[0][0])

    def split(self, table: SourceTable, scn: int, rows_per_chunk: int) -> list[Chunk]:
        self._check_scn(scn)
        shape = self._shape(table)
        total = self.count(table, scn)
        if not table.key or total <= rows_per_chunk:
            return [Chunk(0, KeyRange(), estimate=total)]
        keys = ", ".join(shape.key_exprs)
        names = ", ".join(quote(k) for k in table.key)
        rows = self._query(
            f"SELECT {names} FROM (SELECT {keys}, row_number() OVER (ORDER BY {keys}) AS dr_rn "
            f"FROM {shape.source} WHERE {self._as_of()}) s WHERE dr_rn %% %s = 0 "
            f"AND dr_rn < %s ORDER BY dr_rn",
            (scn, scn, rows_per_chunk, total),
        )
        kinds = shape.key_kinds
        bounds = [tuple(to_wire(v, k) for v, k in zip(r, kinds, strict=True)) for r in rows]
        chunks, lo = [], None
        for number, hi in enumerate(bounds):
            chunks.append(Chunk(number, KeyRange(lo, hi), estimate=rows_per_chunk))
            lo = hi
        rest = total - rows_per_chunk * len(bounds)
        chunks.append(Chunk(len(bounds), KeyRange(lo, None), estimate=rest))
        return chunks

    def read(self, table: SourceTable, scn: int, chunk: Chunk) -> Iterator[list[WireRow]]:
        if chunk.keys is None:
            raise SnapshotError("the PostgreSQL source reads key ranges only", chunk=str(chunk))
        return self.read_range(table, scn, chunk.keys)

    def read_range(self, table: SourceTable, scn: int, keys: KeyRange) -> Iterator[list[WireRow]]:
        shape = self._shape(table)
        params = shape.params()
        where = range_where(shape.key_exprs, keys, params)
        sql = (f"SELECT {shape.select} FROM {shape.source} WHERE {self._as_of()} AND {where} "
               f"ORDER BY {shape.order}")  # fmt: skip
        return self._stream(sql, [scn, scn, *params.values], shape)

    def _stream(self, sql: str, params: list[Any], shape: _Shape) -> Iterator[list[WireRow]]:
        """Rows through a server-side cursor, ``array_size`` at a time."""
        cursor = self._conn.cursor(name="dr_snapshot")
        try:
            self._run(lambda: cursor.execute(sql, params))
            while True:
                batch = self._run(lambda: cursor.fetchmany(self._array_size))
                if not batch:
                    return
                yield [shape.wire(r) for r in batch]
        finally:
            try:
                cursor.close()
            finally:
                self._conn.rollback()

    def read_keys(self, table: SourceTable, scn: int, keys: Sequence[WireRow]) -> list[WireRow]:
        shape = self._shape(table)
        if not table.key:
            raise SnapshotError("rows of a table without a primary key cannot be read by key",
                                table=table.full_name)  # fmt: skip
        out: list[WireRow] = []
        for part in batched(keys, KEYS_PER_QUERY):
            params = shape.params()
            where = keys_where(shape.key_exprs, part, params)
            rows = self._query(
                f"SELECT {shape.select} FROM {shape.source} WHERE {self._as_of()} AND {where}",
                [scn, scn, *params.values],
            )
            out.extend(shape.wire(r) for r in rows)
        return out
