"""Oracle target (python-oracledb, thin mode): MERGE for upserts, array DML for batches.

Values are bound as exact strings (NUMBER as ``Decimal``) and converted by the session's
NLS formats, which this session pins to ISO 8601, so nothing depends on the server's
defaults. Target tables must exist (apply does not create Oracle tables); apply's own
tables are created in ``target.control_schema`` if missing.

CLOB/NCLOB/BLOB values bind as plain strings/bytes while they fit VARCHAR2/RAW in SQL
(the fast way); a statement where one is longer binds that position as a LOB
(``setinputsizes`` with ``DB_TYPE_CLOB``/``NCLOB``/``BLOB``: a temporary LOB, no
4,000/32,767-byte limit, in MERGE too) — see :func:`lob_binds`. In-place writes run as
one PL/SQL block per column: ``SELECT … FOR UPDATE`` on the row's locator, then
``DBMS_LOB.COPY`` (which pads as ``DBMS_LOB.WRITE`` does), ``TRIM`` or a padding
``WRITE`` for the final length — see :func:`oracle_lob_block`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

import oracledb
from drcommon.dbtls import oracle_params
from drcommon.model import ColumnInfo, ImageValue

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
from drapply.errors import RetriableSinkError, TargetError, ValueNotStorable
from drapply.lobs import LobEdit, LobKind
from drapply.naming import TableRef
from drapply.settings import TargetSettings
from drapply.typemap import (
    DURATION,
    Converter,
    Family,
    as_text,
    classify,
    float_or_nan_text,
    hex_bytes,
    storable,
)

# Errors that pass by themselves (reconnect and retry from the checkpoint).
_RETRIABLE_CODES = {
    60,  # ORA-00060 deadlock detected while waiting for resource
    1013,  # ORA-01013 user requested cancel of current operation (timeouts)
    3113,  # ORA-03113 end-of-file on communication channel
    3114,  # ORA-03114 not connected to ORACLE
    3135,  # ORA-03135 connection lost contact
    8177,  # ORA-08177 can't serialize access for this transaction
    12170,  # ORA-12170 TNS connect timeout
    12514,  # ORA-12514 listener does not currently know of service
    12541,  # ORA-12541 TNS no listener
    12543,  # ORA-12543 TNS destination host unreachable
    25408,  # ORA-25408 can not safely replay call (RAC failover)
    30006,  # ORA-30006 resource busy; acquire with WAIT timeout expired
}
_EXISTS = 955  # ORA-00955 name is already used by an existing object
_SESSION_FORMATS = (
    "ALTER SESSION SET NLS_DATE_FORMAT = 'YYYY-MM-DD\"T\"HH24:MI:SS'",
    "ALTER SESSION SET NLS_TIMESTAMP_FORMAT = 'YYYY-MM-DD\"T\"HH24:MI:SS.FF9'",
    "ALTER SESSION SET NLS_TIMESTAMP_TZ_FORMAT = 'YYYY-MM-DD\"T\"HH24:MI:SS.FF9 TZR'",
    "ALTER SESSION SET NLS_NUMERIC_CHARACTERS = '.,'",
    "ALTER SESSION SET TIME_ZONE = 'UTC'",
)
_ZONE = re.compile(r"(?:\[([^\]]+)\]|([+-]\d\d:\d\d)|Z)$")


def _number(value: ImageValue) -> object:
    text = storable(value)
    return None if text is None else Decimal(text)


def _tz(value: ImageValue) -> object:
    """``…+08:00`` / ``…[Asia/Shanghai]`` -> ``… +08:00`` / ``… Asia/Shanghai`` (TZR)."""
    text = storable(value)
    if text is None:
        return None
    found = _ZONE.search(text)
    if found is None:
        return text
    zone = found.group(1) or found.group(2) or "UTC"
    return text[: found.start()] + " " + zone


def _interval(value: ImageValue) -> object:
    """ISO 8601 duration -> Oracle's SQL form (``-3 04:05:06.5`` or ``1-2``)."""
    text = storable(value)
    if text is None:
        return None
    found = DURATION.fullmatch(text)
    if found is None:
        raise ValueNotStorable("interval is not an ISO 8601 duration")
    sign = "-" if found.group("sign") else ""
    parts = {k: found.group(k) or "0" for k in ("Y", "M", "D", "H", "MI", "S")}
    if found.group("Y") or (found.group("M") and not found.group("D")):
        return f"{sign}{parts['Y']}-{parts['M']}"
    return f"{sign}{parts['D']} {parts['H']}:{parts['MI']}:{parts['S']}"


# Longest values bound inline (MAX_STRING_SIZE = STANDARD): VARCHAR2 holds 4,000 bytes
# and RAW 2,000 in SQL; a longer string would bind as LONG, which MERGE refuses.
INLINE_TEXT_BYTES = 4000
INLINE_RAW_BYTES = 2000
_LOB_TYPES = {
    LobKind.CLOB: oracledb.DB_TYPE_CLOB,
    LobKind.NCLOB: oracledb.DB_TYPE_NCLOB,
    LobKind.BLOB: oracledb.DB_TYPE_BLOB,
}


class LobBind(NamedTuple):
    """A CLOB/NCLOB/BLOB value as its converter hands it to the session, with the LOB
    type to bind it as when it is too long to bind inline (see :func:`lob_binds`)."""

    value: object
    db_type: Any


def _lob(convert: Converter, kind: LobKind) -> Converter:
    db_type = _LOB_TYPES[kind]

    def bind(value: ImageValue) -> object:
        return LobBind(convert(value), db_type)

    return bind


def _too_long(value: object) -> bool:
    if isinstance(value, str):
        return len(value) * 4 > INLINE_TEXT_BYTES and len(value.encode()) > INLINE_TEXT_BYTES
    return isinstance(value, bytes) and len(value) > INLINE_RAW_BYTES


def lob_binds(rows: Sequence[Sequence[Any]]) -> tuple[list[Any] | None, list[list[Any]]]:
    """The rows' parameters with :class:`LobBind` values unwrapped, and the input sizes
    for ``setinputsizes``: the LOB type at each position where some row's value is too
    long to bind inline, None at the others; None instead of the list when no value is
    (plain binding, the fast way). The rows of one statement share their shape, so the
    first row tells which positions hold LOBs."""
    plain = [list(row) for row in rows]
    if not plain:
        return None, plain
    positions = [i for i, value in enumerate(plain[0]) if isinstance(value, LobBind)]
    if not positions:
        return None, plain
    sizes: list[Any] = [None] * len(plain[0])
    for out in plain:
        for index in positions:
            bind = out[index]
            if not isinstance(bind, LobBind):
                continue
            out[index] = bind.value
            if sizes[index] is None and _too_long(bind.value):
                sizes[index] = bind.db_type
    return (sizes if any(s is not None for s in sizes) else None), plain


def oracle_lob_block(
    ref: TableRef, edit: LobEdit, key: LobRowKey
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The PL/SQL block that performs ``edit`` on the row ``key`` finds, its named
    parameters and their input sizes (write data binds as a temporary LOB).

    A NULL LOB is made empty first (``EMPTY_CLOB()``/``EMPTY_BLOB()``); each write is a
    ``DBMS_LOB.COPY`` at offset + 1 (Oracle pads a gap with spaces or zero bytes); a
    write of no data pads up to its offset; the final length trims or pads.
    """
    col, table = quote(edit.column), qualified(ref)
    where = " AND ".join(
        f"DECODE({quote(c)}, :k{i}, 1, 0) = 1" if key.null_safe else f"{quote(c)} = :k{i}"
        for i, c in enumerate(key.cols)
    )
    binary = edit.kind.binary
    empty = "EMPTY_BLOB()" if binary else "EMPTY_CLOB()"
    pad = "HEXTORAW('00')" if binary else "' '"
    lines = [
        f"DECLARE l {edit.kind.value}; n INTEGER;",
        "BEGIN",
        f"UPDATE {table} SET {col} = {empty} WHERE {where} AND {col} IS NULL;",
        f"SELECT {col} INTO l FROM {table} WHERE {where} FOR UPDATE;",
    ]
    params: dict[str, Any] = {
        f"k{i}": v.value if isinstance(v, LobBind) else v for i, v in enumerate(key.vals)
    }
    sizes: dict[str, Any] = {}
    for i, (offset, data) in enumerate(edit.writes):
        if data:
            lines.append(f"DBMS_LOB.COPY(l, :d{i}, DBMS_LOB.GETLENGTH(:d{i}), :o{i}, 1);")
            params[f"d{i}"], params[f"o{i}"] = data, offset + 1
            sizes[f"d{i}"] = _LOB_TYPES[edit.kind]
        else:
            lines.append(f"n := :o{i};")
            lines.append(
                f"IF DBMS_LOB.GETLENGTH(l) < n THEN DBMS_LOB.WRITE(l, 1, n, {pad}); END IF;"
            )
            params[f"o{i}"] = offset
    if edit.length is not None:
        lines.append("n := :new_length;")
        lines.append("IF DBMS_LOB.GETLENGTH(l) > n THEN DBMS_LOB.TRIM(l, n);")
        lines.append(f"ELSIF DBMS_LOB.GETLENGTH(l) < n THEN DBMS_LOB.WRITE(l, 1, n, {pad});")
        lines.append("END IF;")
        params["new_length"] = edit.length
    lines.append("END;")
    return "\n".join(lines), params, sizes


_CONVERTERS: dict[Family, Converter] = {
    Family.CLOB: _lob(as_text, LobKind.CLOB),
    Family.NCLOB: _lob(as_text, LobKind.NCLOB),
    Family.BLOB: _lob(hex_bytes, LobKind.BLOB),
    Family.NUMBER: _number,
    Family.BINARY_FLOAT: float_or_nan_text,
    Family.BINARY_DOUBLE: float_or_nan_text,
    Family.RAW: hex_bytes,
    Family.TIMESTAMP_TZ: _tz,
    Family.INTERVAL_YM: _interval,
    Family.INTERVAL_DS: _interval,
}


class OracleTarget:
    """Opens Oracle sessions for one ``[target]`` section."""

    kind = "oracle"

    def __init__(self, settings: TargetSettings) -> None:
        self.settings = settings

    def connect(self, *, admin: bool = False) -> OracleSession:
        return OracleSession(self.settings)


class OracleSession(SqlControl, SqlRows):
    """One oracledb connection; transactions are implicit, ended by commit/rollback."""

    kind = "oracle"
    text_type = "VARCHAR2(4000)"
    long_text_type = "CLOB"
    int_type = "NUMBER(19)"
    ts_type = "TIMESTAMP(6) WITH TIME ZONE"

    def __init__(self, settings: TargetSettings) -> None:
        SqlRows.__init__(self)
        self.create_tables = False  # apply does not create Oracle tables
        self._control = settings.control_schema
        assert settings.dsn is not None
        params = oracle_params(
            settings.dsn, settings.tls, key="target.tls", user=settings.user,
            password=settings.secret(key="target.password"),
        )
        try:
            self._conn = oracledb.connect(params=params)
        except (oracledb.Error, OSError) as exc:
            # Thin mode lets socket errors (socket.gaierror for an unknown host) through.
            raise RetriableSinkError(f"Oracle is unreachable at {settings.dsn}: {exc}") from exc
        self._cur = self._conn.cursor()
        for statement in _SESSION_FORMATS:
            self.execute(statement)
        self.stream_tables_ddl(None)
        self.global_tables_ddl()

    def close(self) -> None:
        self._conn.close()

    def _run(self, method: Any, *args: Any) -> Any:
        try:
            return method(*args)
        except oracledb.Error as exc:
            code = getattr(exc.args[0], "code", 0) if exc.args else 0
            if code in _RETRIABLE_CODES or isinstance(exc, oracledb.InterfaceError):
                raise RetriableSinkError(f"Oracle: {exc}") from exc
            raise TargetError(f"Oracle: {exc}") from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        sizes, rows = lob_binds([params])
        if sizes is None:
            self._run(self._cur.execute, sql, rows[0])
            return max(self._cur.rowcount or 0, 0)
        return self._with_sizes(
            lambda c: c.setinputsizes(*sizes), lambda c: c.execute(sql, rows[0])
        )

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        sizes, plain = lob_binds(rows)
        if sizes is None:
            self._run(self._cur.executemany, sql, plain)
            return max(self._cur.rowcount or 0, 0)
        return self._with_sizes(
            lambda c: c.setinputsizes(*sizes), lambda c: c.executemany(sql, plain)
        )

    def _with_sizes(self, size: Callable[[Any], Any], run: Callable[[Any], Any]) -> int:
        """Run on a cursor of its own, so input sizes never linger on the shared one."""
        cursor = self._conn.cursor()
        try:
            size(cursor)
            self._run(run, cursor)
            return max(cursor.rowcount or 0, 0)
        finally:
            cursor.close()

    def edit_lob(self, ref: TableRef, edit: LobEdit, key: LobRowKey) -> None:
        sql, params, sizes = oracle_lob_block(ref, edit, key)
        self._with_sizes(lambda c: c.setinputsizes(**sizes), lambda c: c.execute(sql, params))

    def column_names(self, table: str) -> set[str]:
        self._run(self._cur.execute, f"SELECT * FROM {table} WHERE 1 = 0")
        return {str(d[0]).lower() for d in self._cur.description or ()}

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._run(self._cur.execute, sql, list(params))
        return list(self._cur.fetchall())

    def create_if_missing(self, table: str, ddl: str) -> None:
        try:
            self._cur.execute(f"CREATE TABLE {table} ({ddl})")
        except oracledb.DatabaseError as exc:
            if getattr(exc.args[0], "code", 0) != _EXISTS:
                raise TargetError(f"Oracle: {exc}") from exc

    def start(self) -> None:
        """Oracle opens a transaction with the first statement."""

    def commit(self) -> None:
        self._run(self._conn.commit)
        self._created.clear()

    def rollback(self) -> None:
        self._run(self._conn.rollback)
        self.forget_created()

    def ph(self, index: int) -> str:
        return f":{index + 1}"

    def null_safe_eq(self, column: str, placeholder: str) -> str:
        return f"DECODE({column}, {placeholder}, 1, 0) = 1"

    def control_table(self, name: str, schema: str | None) -> str:
        return f"{quote(self._control)}.{quote(name.upper())}"

    def ts_param(self, value: datetime | None) -> Any:
        return value

    def _merge(
        self, ref: TableRef, columns: Sequence[str], key: Sequence[str], update: bool
    ) -> str:
        source = ", ".join(f"{self.ph(i)} AS {quote(c)}" for i, c in enumerate(columns))
        on = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in key)
        rest = [c for c in columns if c not in key]
        matched = (
            " WHEN MATCHED THEN UPDATE SET "
            + ", ".join(f"t.{quote(c)} = s.{quote(c)}" for c in rest)
            if update and rest
            else ""
        )
        cols = ", ".join(quote(c) for c in columns)
        values = ", ".join(f"s.{quote(c)}" for c in columns)
        return (
            f"MERGE INTO {qualified(ref)} t USING (SELECT {source} FROM dual) s ON ({on})"
            f"{matched} WHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({values})"
        )

    def upsert_sql(self, ref: TableRef, columns: Sequence[str], key: Sequence[str]) -> str:
        return self._merge(ref, columns, key, update=True)

    def _statement(self, kind: str, change: BoundChange) -> str:
        if kind == "insert_ignore":
            # No ON CONFLICT in Oracle: an insert-only MERGE reports 0 rows for a dup key.
            return self._merge(change.table, change.set_cols, change.key_cols, update=False)
        return super()._statement(kind, change)

    def ensure_schema(self, schema: str) -> None:
        """Oracle schemas are users; they must exist."""

    def prepare_stream(self, stream: Stream) -> None:
        """Nothing to attach or create per stream."""

    def column_type(self, info: ColumnInfo) -> str:
        return info.type

    def converter(self, info: ColumnInfo | None) -> Converter:
        return _CONVERTERS.get(classify(info).family, as_text)

    def describe(self, ref: TableRef) -> TableShape | None:
        rows = self.query(
            "SELECT column_name, data_type FROM all_tab_columns WHERE owner = :1 "
            "AND table_name = :2 ORDER BY column_id",
            (ref.schema, ref.table),
        )
        if not rows:
            return None
        keys = self.query(
            "SELECT i.index_name, c.column_name FROM all_indexes i JOIN all_ind_columns c "
            "ON c.index_owner = i.owner AND c.index_name = i.index_name "
            "WHERE i.table_owner = :1 AND i.table_name = :2 AND i.uniqueness = 'UNIQUE'",
            (ref.schema, ref.table),
        )
        unique: dict[str, set[str]] = {}
        for index, column in keys:
            unique.setdefault(str(index), set()).add(str(column))
        return TableShape(
            {str(r[0]): str(r[1]) for r in rows}, tuple(frozenset(v) for v in unique.values())
        )

    def checkpoints(self) -> list[Checkpoint]:
        return self.stream_checkpoints(None)

    def parked(self, state: str | None = None) -> list[ParkedRow]:
        return self.stream_parked(None, state)

    def ddl_log(self, schema: str | None) -> list[DdlLogRow]:
        rows = self.stream_ddl_log(None)
        return rows if schema is None else [r for r in rows if r.schema == schema]
