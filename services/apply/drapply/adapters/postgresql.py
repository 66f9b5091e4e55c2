"""PostgreSQL target (psycopg 3): Oracle schemas become PostgreSQL schemas.

Apply's own tables live in ``target.control_schema`` (``drapply``). Type mapping, chosen
so nothing is rounded: NUMBER -> unconstrained ``numeric`` (a ``numeric(p,s)`` would
silently round a value that does not fit; Oracle already enforced p and s),
BINARY_FLOAT/DOUBLE -> ``real``/``double precision``, DATE -> ``timestamp(0)``,
TIMESTAMP(f) -> ``timestamp(f)`` up to 6 digits and exact ISO ``text`` beyond (PostgreSQL
stops at microseconds), TIMESTAMP WITH TIME ZONE -> ISO ``text`` keeping the offset or
region (``target.tz_timestamps = "native"`` gives ``timestamptz``, instant only),
INTERVAL -> ``interval``, RAW/BLOB -> ``bytea``, CLOB/NCLOB and character types ->
``text``. In-place LOB writes run as ``overlay`` updates (see :meth:`edit_lob`).
Sessions run in UTC. Long insert runs use ``COPY``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

import psycopg
from drcommon.dbtls import postgres_options
from drcommon.errors import DRError
from drcommon.model import ColumnInfo, ImageValue
from psycopg import errors as pg_errors

from drapply.adapters.base import (
    BoundChange,
    Checkpoint,
    DdlLogRow,
    ParkedRow,
    Stream,
    TableShape,
)
from drapply.adapters.control import SqlControl
from drapply.adapters.sqlbase import LobRowKey, SqlRows, qualified, quote
from drapply.errors import BatchMismatch, RetriableSinkError, TargetError
from drapply.lobs import LobEdit
from drapply.naming import TableRef
from drapply.settings import TargetSettings
from drapply.typemap import (
    ColumnType,
    Converter,
    Family,
    as_text,
    classify,
    hex_bytes,
    interval_for_postgres,
    storable,
)

# Errors that pass by themselves: lost connections, lock and serialization conflicts.
_RETRIABLE = (
    psycopg.OperationalError,
    pg_errors.SerializationFailure,
    pg_errors.DeadlockDetected,
    pg_errors.LockNotAvailable,
)
_DDL_LOCK = 0x44524150  # "DRAP": serializes apply's own CREATE … IF NOT EXISTS
# A statement whose parameters are this large leaves the pipeline: psycopg (3.3) can wait
# forever on a pipeline sync after a single row of tens of MB (the server sits in
# ClientRead); rows up to 8 MB went through in tests, one of 24 MB did not.
PIPELINE_MAX_VALUE_BYTES = 1024 * 1024
_REGION = re.compile(r"\[([^\]]+)\]$")


def _tz_native(value: ImageValue) -> object:
    """``…T10:00:00[Asia/Shanghai]`` -> ``… 10:00:00 Asia/Shanghai`` (PostgreSQL's form)."""
    text = storable(value)
    if text is None:
        return None
    return _REGION.sub(lambda m: " " + m.group(1), text)


def pg_type(column: ColumnType, tz_native: bool) -> str:
    """The PostgreSQL type for an Oracle column type (see the module docstring)."""
    f = column.fraction
    match column.family:
        case Family.NUMBER:
            return "numeric"
        case Family.BINARY_FLOAT:
            return "real"
        case Family.BINARY_DOUBLE:
            return "double precision"
        case Family.DATE:
            return "timestamp(0)"
        case Family.TIMESTAMP:
            return f"timestamp({f})" if f <= 6 else "text"
        case Family.TIMESTAMP_TZ:
            return f"timestamptz({f})" if tz_native and f <= 6 else "text"
        case Family.TIMESTAMP_LTZ:
            return f"timestamptz({f})" if f <= 6 else "text"
        case Family.INTERVAL_YM:
            return "interval year to month"
        case Family.INTERVAL_DS:
            return f"interval day to second({f})" if f <= 6 else "text"
        case Family.RAW | Family.BLOB:
            return "bytea"
        case Family.BOOLEAN:
            return "boolean"
        case _:
            return "text"


def pg_converter(column: ColumnType, tz_native: bool) -> Converter:
    """How a value is bound for :func:`pg_type`'s column (strings are parsed by the server)."""
    if column.family in (Family.RAW, Family.BLOB):
        return hex_bytes
    if column.family is Family.INTERVAL_YM or (
        column.family is Family.INTERVAL_DS and column.fraction <= 6
    ):
        return interval_for_postgres
    if column.family is Family.TIMESTAMP_TZ and tz_native:
        return _tz_native
    return as_text


def _padded_bytea(column: str) -> str:
    """A ``bytea`` column's value (NULL as empty) padded with zero bytes up to the first
    parameter (text pads with ``rpad``, see :func:`pg_lob_steps`)."""
    value = f"coalesce({column}, ''::bytea)"
    return (
        f"({value} || decode(repeat('00', greatest(%s::int - length({value}), 0)), 'hex'))"
    )


def pg_lob_steps(ref: TableRef, edit: LobEdit, key: LobRowKey) -> list[tuple[str, tuple[Any, ...]]]:
    """The statements (and parameters) that perform ``edit`` on the row ``key`` finds:
    one ``overlay`` update per write, padding first (spaces with ``rpad`` for text,
    zero bytes for ``bytea``), then one update for the final length."""
    col = quote(edit.column)
    where = " AND ".join(
        f"{quote(c)} IS NOT DISTINCT FROM %s" if key.null_safe else f"{quote(c)} = %s"
        for c in key.cols
    )
    head = f"UPDATE {qualified(ref)} SET {col} = "
    tail = f" WHERE {where}"
    steps: list[tuple[str, tuple[Any, ...]]] = []
    binary = edit.kind.binary
    for offset, data in edit.writes:
        if binary:
            body = f"overlay({_padded_bytea(col)} placing %s::bytea from %s::int)"
        else:
            text = f"coalesce({col}, '')"
            body = (f"overlay(rpad({text}, greatest(length({text}), %s::int)) "
                    "placing %s::text from %s::int)")  # fmt: skip
        steps.append((head + body + tail, (offset, data, offset + 1, *key.vals)))
    if edit.length is not None:
        if binary:
            body = f"substring({_padded_bytea(col)} from 1 for %s::int)"
            steps.append((head + body + tail, (edit.length, edit.length, *key.vals)))
        else:
            body = f"rpad(coalesce({col}, ''), %s::int)"
            steps.append((head + body + tail, (edit.length, *key.vals)))
    if not steps:  # nothing to write: a NULL still becomes the empty LOB written into
        empty = "''::bytea" if binary else "''"
        steps.append((head + f"coalesce({col}, {empty})" + tail, key.vals))
    return steps


class PostgresTarget:
    """Opens PostgreSQL sessions for one ``[target]`` section."""

    kind = "postgresql"

    def __init__(self, settings: TargetSettings) -> None:
        self.settings = settings

    def connect(self, *, admin: bool = False) -> PostgresSession:
        return PostgresSession(self.settings)


def connect_options(settings: TargetSettings) -> dict[str, Any]:
    """psycopg keyword options: user, password (env/file only) and TLS."""
    options: dict[str, Any] = {"autocommit": True, "connect_timeout": 10}
    if settings.user:
        options["user"] = settings.user
    password = settings.secret(key="target.password")
    if password:
        options["password"] = password
    options.update(postgres_options(settings.tls, key="target.tls"))
    return options


class PostgresSession(SqlControl, SqlRows):
    """One psycopg connection in autocommit mode with explicit BEGIN/COMMIT."""

    kind = "postgresql"
    ts_type = "timestamptz"

    def __init__(self, settings: TargetSettings) -> None:
        SqlRows.__init__(self)
        self.create_tables = settings.create_tables
        self.copy_threshold = settings.copy_threshold
        self._settings = settings
        self._tz_native = settings.tz_timestamps == "native"
        self._control = settings.control_schema
        assert settings.dsn is not None
        try:
            self._conn = psycopg.connect(settings.dsn, **connect_options(settings))
        except (psycopg.OperationalError, OSError) as exc:
            raise RetriableSinkError(f"PostgreSQL is unreachable: {exc}".strip()) from exc
        self._cur = self._conn.cursor()
        self._schemas: set[str] = set()
        self._pipeline: psycopg.Pipeline | None = None
        self._pipeline_manager: AbstractContextManager[psycopg.Pipeline] | None = None
        self._deferred: list[tuple[psycopg.Cursor[Any], int, str]] = []
        self.execute("SET TIME ZONE 'UTC'")
        self._ddl_serialized(self._control_ddl)

    def _control_ddl(self) -> None:
        self.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(self._control)}")
        self.stream_tables_ddl(None)
        self.global_tables_ddl()

    def _ddl_serialized(self, body: Any) -> None:
        """Run DDL under an advisory lock: concurrent CREATE … IF NOT EXISTS can race."""
        self.start()
        try:
            self.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
            body()
            self.commit()
        except BaseException:
            self.rollback()
            raise

    def close(self) -> None:
        self._conn.close()

    def _run(self, method: Any, *args: Any) -> Any:
        try:
            return method(*args)
        except _RETRIABLE as exc:
            raise RetriableSinkError(f"PostgreSQL: {exc}".strip()) from exc
        except psycopg.Error as exc:
            raise TargetError(f"PostgreSQL: {exc}".strip()) from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self._run(self._cur.execute, sql, tuple(params) or None)
        if self._pipeline is not None:
            self._run(self._pipeline.sync)  # the caller needs this row count now
        return max(self._cur.rowcount, 0)

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        self._run(self._cur.executemany, sql, rows)
        if self._pipeline is not None:
            self._run(self._pipeline.sync)
        return max(self._cur.rowcount, 0)

    def execute_many_expecting(self, sql: str, rows: Sequence[Sequence[Any]], what: str) -> None:
        """Queue a batch whose summed row count must equal ``len(rows)``; checked at commit.

        Inside a transaction every statement rides one pipeline: a group of hundreds of
        small transactions costs one round trip instead of one per statement.
        """
        if self._pipeline is None:
            super().execute_many_expecting(sql, rows, what)
            return
        cursor = self._conn.cursor()
        self._run(cursor.executemany, sql, rows)
        self._deferred.append((cursor, len(rows), what))

    def _check_deferred(self) -> None:
        checks, self._deferred = self._deferred, []
        if self._pipeline is not None and checks:
            self._run(self._pipeline.sync)
        for cursor, expected, what in checks:
            if cursor.rowcount != expected:
                raise BatchMismatch(f"{what} batch matched {cursor.rowcount} of {expected} rows")

    def _leave_pipeline(self) -> None:
        manager, self._pipeline_manager = self._pipeline_manager, None
        self._pipeline = None
        if manager is not None:
            self._run(manager.__exit__, None, None, None)

    def column_names(self, table: str) -> set[str]:
        self._run(self._cur.execute, f"SELECT * FROM {table} WHERE false")
        return {str(d[0]).lower() for d in self._cur.description or ()}

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._run(self._cur.execute, sql, tuple(params) or None)
        return list(self._cur.fetchall())

    # -- changes with large values run outside the pipeline (PIPELINE_MAX_VALUE_BYTES) -----
    @contextlib.contextmanager
    def _unpipelined(self, large: bool) -> Iterator[None]:
        if not large or self._pipeline is None:
            yield
            return
        self._check_deferred()
        self._leave_pipeline()
        try:
            yield
        finally:
            self._enter_pipeline()

    def execute_run(self, changes: Sequence[BoundChange], *, overwrite: bool) -> None:
        large = any(c.value_bytes > PIPELINE_MAX_VALUE_BYTES for c in changes)
        with self._unpipelined(large):
            super().execute_run(changes, overwrite=overwrite)

    def insert(self, change: BoundChange, *, upsert: bool) -> int:
        with self._unpipelined(change.value_bytes > PIPELINE_MAX_VALUE_BYTES):
            return super().insert(change, upsert=upsert)

    def insert_image(self, change: BoundChange) -> int:
        with self._unpipelined(change.value_bytes > PIPELINE_MAX_VALUE_BYTES):
            return super().insert_image(change)

    def update(self, change: BoundChange) -> int:
        with self._unpipelined(change.value_bytes > PIPELINE_MAX_VALUE_BYTES):
            return super().update(change)

    def edit_lob(self, ref: TableRef, edit: LobEdit, key: LobRowKey) -> None:
        for sql, params in pg_lob_steps(ref, edit, key):
            done = self.execute(sql, params)
            if done != 1:
                raise TargetError(f"a LOB write matched {done} rows", table=str(ref),
                                  column=edit.column)  # fmt: skip

    def copy_rows(self, ref: TableRef, columns: Sequence[str], rows: Sequence[Any]) -> None:
        cols = ", ".join(quote(c) for c in columns)

        def load() -> None:
            with self._cur.copy(f"COPY {qualified(ref)} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

        # COPY cannot run in pipeline mode: settle the queued batches, copy, re-enter.
        self._check_deferred()
        self._leave_pipeline()
        self._run(load)
        self._enter_pipeline()

    def start(self) -> None:
        self._run(self._cur.execute, "BEGIN")

    def begin(self, stream: Stream, expected_offset: int | None) -> None:
        super().begin(stream, expected_offset)
        self._enter_pipeline()

    def _enter_pipeline(self) -> None:
        if self._pipeline is None:
            manager = self._conn.pipeline()
            self._pipeline = manager.__enter__()
            self._pipeline_manager = manager

    def commit(self) -> None:
        self._check_deferred()
        self._leave_pipeline()
        self._run(self._cur.execute, "COMMIT")
        self._created.clear()

    def rollback(self) -> None:
        self._deferred = []
        # An aborted pipeline reports its error again on exit; rolling back anyway.
        with contextlib.suppress(DRError):
            self._leave_pipeline()
        if self._conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self._run(self._cur.execute, "ROLLBACK")
        self.forget_created()

    def ph(self, index: int) -> str:
        return "%s"

    def null_safe_eq(self, column: str, placeholder: str) -> str:
        return f"{column} IS NOT DISTINCT FROM {placeholder}"

    def control_table(self, name: str, schema: str | None) -> str:
        return f"{quote(self._control)}.{quote(name)}"

    def ts_param(self, value: datetime | None) -> Any:
        return value

    # -- schemas, types, tables --------------------------------------------------------------
    def prepare_stream(self, stream: Stream) -> None:
        if self.create_tables and stream.schema not in self._schemas:
            self._ddl_serialized(lambda: self.ensure_schema(stream.schema))

    def ensure_schema(self, schema: str) -> None:
        if schema not in self._schemas:
            self.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
            self._schemas.add(schema)

    def column_type(self, info: ColumnInfo) -> str:
        return pg_type(classify(info), self._tz_native)

    def converter(self, info: ColumnInfo | None) -> Converter:
        return pg_converter(classify(info), self._tz_native)

    def describe(self, ref: TableRef) -> TableShape | None:
        rows = self.query(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p') "
            "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            (ref.schema, ref.table),
        )
        if not rows:
            return None
        keys = self.query(
            "SELECT array_agg(a.attname::text) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) "
            "WHERE n.nspname = %s AND c.relname = %s AND i.indisunique "
            "AND i.indpred IS NULL AND i.indexprs IS NULL GROUP BY i.indexrelid",
            (ref.schema, ref.table),
        )
        return TableShape(
            {str(r[0]): str(r[1]) for r in rows}, tuple(frozenset(k[0]) for k in keys)
        )

    def checkpoints(self) -> list[Checkpoint]:
        return self.stream_checkpoints(None)

    def parked(self, state: str | None = None) -> list[ParkedRow]:
        return self.stream_parked(None, state)

    def ddl_log(self, schema: str | None) -> list[DdlLogRow]:
        rows = self.stream_ddl_log(None)
        return rows if schema is None else [r for r in rows if r.schema == schema]
