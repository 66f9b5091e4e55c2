"""The Oracle source: flashback query ``AS OF SCN`` through python-oracledb (thin mode).

* **SCN.** ``--scn now`` reads the open transactions first (``gv$transaction``), then
  ``v$database.current_scn``: every transaction open at that SCN was open (or began
  after) the first read, so the start point is ``min(oldest start, S)``. For an SCN in
  the past, transactions that were open at it and have committed since are no longer in
  ``gv$transaction``: the start point is then only as good as what is still open
  (docs/OPERATIONS.md §9 says to load at ``now``).
* **Chunks.** By ROWID ranges built from the table's extents (``DBA_EXTENTS`` with
  ``DBMS_ROWID.ROWID_CREATE``; no scan of the table), grouped to about
  ``rows_per_chunk`` rows with the optimizer statistics (rows per block); a table
  without extents (empty, or no privilege on ``DBA_EXTENTS``) falls back to primary-key
  ranges (``row_number()`` over the flashback query). Rows do not move between blocks
  without DDL, and DDL since the SCN fails the query (ORA-01466), so today's extents
  hold every row as of the SCN.
* **Values.** NUMBER as ``Decimal``; CLOB/NCLOB/BLOB as whole ``str``/``bytes``
  (``DB_TYPE_LONG``/``DB_TYPE_LONG_RAW`` fetch, no locator round trips); TIMESTAMP
  beyond 6 digits, WITH TIME ZONE (offset or ``[Region]``) and intervals as exact text or
  numbers built in SQL. The session pins UTC, ISO formats and binary sorting
  (``NLS_SORT``/``NLS_COMP = BINARY``), so key ranges compare in byte order.
* **Errors.** ORA-01555/08180/08181/01466 mean the SCN cannot be read (undo no longer
  covers it, or the table changed since): not retriable, with that explanation.

The SQL is built by pure functions (tested for their text); the reader runs wherever an
Oracle is reachable (tests with ``DR_TEST_ORACLE_DSN``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import oracledb
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

KEYS_PER_QUERY = 500
SESSION = (
    "ALTER SESSION SET TIME_ZONE = 'UTC'",
    "ALTER SESSION SET NLS_DATE_FORMAT = 'YYYY-MM-DD\"T\"HH24:MI:SS'",
    "ALTER SESSION SET NLS_TIMESTAMP_FORMAT = 'YYYY-MM-DD\"T\"HH24:MI:SS.FF9'",
    "ALTER SESSION SET NLS_NUMERIC_CHARACTERS = '.,'",
    "ALTER SESSION SET NLS_SORT = BINARY",
    "ALTER SESSION SET NLS_COMP = BINARY",
)
_RETRIABLE = {60, 1013, 3113, 3114, 3135, 12170, 12514, 12541, 12543, 25408, 30006}
_TOO_OLD = {
    1555: "undo no longer holds the data as of this SCN (snapshot too old): raise "
    "UNDO_RETENTION or copy at a newer SCN",
    8180: "no snapshot found for this SCN",
    8181: "this is not a valid SCN of the source",
    1466: "the table's definition changed after this SCN: copy at a newer SCN",
}
ISO_SECONDS = 'YYYY-MM-DD"T"HH24:MI:SS'

TABLES_SQL = (
    "SELECT c.owner, c.table_name, c.column_name, c.data_type, c.data_length, "
    "c.data_precision, c.data_scale, c.nullable, k.position "
    "FROM all_tab_columns c JOIN all_tables t ON t.owner = c.owner "
    "AND t.table_name = c.table_name "
    "LEFT JOIN (SELECT cc.owner, cc.table_name, cc.column_name, cc.position "
    "FROM all_constraints pk JOIN all_cons_columns cc ON cc.owner = pk.owner "
    "AND cc.constraint_name = pk.constraint_name WHERE pk.constraint_type = 'P') k "
    "ON k.owner = c.owner AND k.table_name = c.table_name AND k.column_name = c.column_name "
    "WHERE c.owner IN ({owners}) AND t.temporary = 'N' AND t.nested = 'NO' "
    "AND (t.iot_type IS NULL OR t.iot_type = 'IOT') "
    "ORDER BY c.owner, c.table_name, c.column_id"
)
OWNERS_SQL = "SELECT username FROM all_users ORDER BY username"
OPEN_SQL = (
    "SELECT COUNT(*), MIN(t.start_scn), MIN(t.xidusn || '.' || t.xidslot || '.' || t.xidsqn) "
    "KEEP (DENSE_RANK FIRST ORDER BY t.start_scn) FROM gv$transaction t "
    "WHERE t.start_scn <= :scn"
)
CURRENT_SQL = "SELECT current_scn FROM v$database"
EXTENTS_SQL = (
    "SELECT DBMS_ROWID.ROWID_CREATE(1, o.data_object_id, e.relative_fno, e.block_id, 0), "
    "DBMS_ROWID.ROWID_CREATE(1, o.data_object_id, e.relative_fno, "
    "e.block_id + e.blocks - 1, 32767), e.blocks "
    "FROM dba_extents e JOIN dba_objects o ON o.owner = e.owner "
    "AND o.object_name = e.segment_name "
    "AND NVL(o.subobject_name, '-') = NVL(e.partition_name, '-') "
    "WHERE e.owner = :owner AND e.segment_name = :name AND o.data_object_id IS NOT NULL "
    "AND e.segment_type IN ('TABLE', 'TABLE PARTITION', 'TABLE SUBPARTITION') "
    "ORDER BY o.data_object_id, e.relative_fno, e.block_id"
)
STATS_SQL = "SELECT num_rows, blocks FROM all_tables WHERE owner = :owner AND table_name = :name"


def like_pattern(pattern: str) -> str:
    """A shell pattern (``SI*``) as a LIKE pattern with ``\\`` escapes."""
    out = []
    for ch in pattern:
        if ch in "%_\\":
            out.append("\\" + ch)
        elif ch == "*":
            out.append("%")
        elif ch == "?":
            out.append("_")
        else:
            out.append(ch)
    return "".join(out)


def select_expr(column: str, kind: ColumnType) -> str:
    """How a column is selected so :func:`to_wire` can make it exact."""
    col = quote(column)
    family = kind.family
    if family is Family.TIMESTAMP and kind.fraction > 6:
        return f"TO_CHAR({col}, '{ISO_SECONDS}.FF9')"
    if family is Family.TIMESTAMP_TZ:
        zone = (f"CASE WHEN EXTRACT(TIMEZONE_REGION FROM {col}) = 'UNKNOWN' "
                f"THEN TO_CHAR({col}, 'TZH:TZM') "
                f"ELSE '[' || EXTRACT(TIMEZONE_REGION FROM {col}) || ']' END")  # fmt: skip
        return f"TO_CHAR({col}, '{ISO_SECONDS}.FF9') || {zone}"
    if family is Family.TIMESTAMP_LTZ:
        return f"TO_CHAR({col}, '{ISO_SECONDS}.FF9')"
    if family is Family.INTERVAL_YM:
        return f"(EXTRACT(YEAR FROM {col}) * 12 + EXTRACT(MONTH FROM {col}))"
    if family is Family.INTERVAL_DS:
        return (f"(EXTRACT(DAY FROM {col}) * 86400 + EXTRACT(HOUR FROM {col}) * 3600 "
                f"+ EXTRACT(MINUTE FROM {col}) * 60 + EXTRACT(SECOND FROM {col}))")  # fmt: skip
    return col


def flashback_sql(owner: str, table: str, select: str, where: str, order: str | None) -> str:
    """``SELECT … FROM owner.table AS OF SCN :scn WHERE … [ORDER BY …]``."""
    sql = f"SELECT {select} FROM {quote(owner)}.{quote(table)} AS OF SCN :scn WHERE {where}"
    return sql + (f" ORDER BY {order}" if order else "")


def split_keys_sql(owner: str, table: str, keys: Sequence[str]) -> str:
    """Every ``:every``-th key as of ``:scn`` before the last row (``:total`` rows): the
    ends of primary-key chunks."""
    cols = ", ".join(quote(k) for k in keys)
    inner = (f"SELECT {cols}, ROW_NUMBER() OVER (ORDER BY {cols}) dr_rn "
             f"FROM {quote(owner)}.{quote(table)} AS OF SCN :scn")  # fmt: skip
    return (f"SELECT {cols} FROM ({inner}) WHERE MOD(dr_rn, :every) = 0 AND dr_rn < :total "
            "ORDER BY dr_rn")


def count_sql(owner: str, table: str) -> str:
    return f"SELECT COUNT(*) FROM {quote(owner)}.{quote(table)} AS OF SCN :scn"


def group_extents(extents: Sequence[tuple[str, str, int]], rows_per_block: float,
                  rows_per_chunk: int) -> list[Chunk]:  # fmt: skip
    """Consecutive extents (lo ROWID, hi ROWID, blocks) grouped into ROWID-range chunks
    of about ``rows_per_chunk`` rows (never across data objects: partitions)."""
    chunks: list[Chunk] = []
    first: str | None = None
    last = ""
    blocks = 0
    current_object = ""
    for lo, hi, count in extents:
        data_object = lo[:6]  # the extended ROWID's first six characters: the data object
        if first is not None and data_object != current_object:
            chunks.append(Chunk(len(chunks), rowids=(first, last),
                                estimate=int(blocks * rows_per_block)))  # fmt: skip
            first, blocks = None, 0
        if first is None:
            first, current_object = lo, data_object
        last = hi
        blocks += int(count)
        if blocks * rows_per_block >= rows_per_chunk:
            chunks.append(Chunk(len(chunks), rowids=(first, last),
                                estimate=int(blocks * rows_per_block)))  # fmt: skip
            first, blocks = None, 0
    if first is not None:
        chunks.append(Chunk(len(chunks), rowids=(first, last),
                            estimate=int(blocks * rows_per_block)))  # fmt: skip
    return chunks


def bind_key(kind: ColumnType, value: WireValue) -> Any:
    """A wire key value as an oracledb parameter."""
    if value is None:
        return None
    family = kind.family
    if family is Family.NUMBER:
        return Decimal(value)
    if family in (Family.RAW, Family.BLOB):
        return bytes.fromhex(value)
    if family in (Family.DATE, Family.TIMESTAMP) and kind.fraction <= 6:
        return datetime.fromisoformat(value)
    return value


def _output_handler(cursor: Any, metadata: Any) -> Any:
    """NUMBER as Decimal, LOBs as whole str/bytes."""
    kind = metadata.type_code
    if kind is oracledb.DB_TYPE_NUMBER:
        return cursor.var(Decimal, arraysize=cursor.arraysize)
    if kind in (oracledb.DB_TYPE_CLOB, oracledb.DB_TYPE_NCLOB):
        return cursor.var(oracledb.DB_TYPE_LONG, arraysize=cursor.arraysize)
    if kind is oracledb.DB_TYPE_BLOB:
        return cursor.var(oracledb.DB_TYPE_LONG_RAW, arraysize=cursor.arraysize)
    return None


class OracleFlashbackReader:
    """Reads an Oracle database as of an SCN (see the module docstring)."""

    kind = "oracle"

    def __init__(self, settings: SourceDbSettings) -> None:
        params: dict[str, Any] = {"dsn": settings.dsn}
        if settings.user:
            params["user"] = settings.user
        password = settings.secret(key="source_db.password")
        if password:
            params["password"] = password
        try:
            self._conn = oracledb.connect(**params)
        except (oracledb.Error, OSError) as exc:
            raise RetriableSnapshotError(f"source Oracle is unreachable: {exc}") from exc
        if settings.statement_timeout_seconds:
            self._conn.call_timeout = int(settings.statement_timeout_seconds * 1000)
        self._conn.outputtypehandler = _output_handler
        self._array_size = settings.array_size
        for statement in SESSION:
            self._query(statement, fetch=False)

    def close(self) -> None:
        self._conn.close()

    def _run(self, call: Any) -> Any:
        try:
            return call()
        except oracledb.Error as exc:
            code = getattr(exc.args[0], "code", 0) if exc.args else 0
            if code in _TOO_OLD:
                raise SnapshotError(f"source Oracle: {_TOO_OLD[code]} ({exc})") from exc
            if code in _RETRIABLE or isinstance(exc, oracledb.InterfaceError):
                raise RetriableSnapshotError(f"source Oracle: {exc}") from exc
            raise SnapshotError(f"source Oracle: {exc}") from exc

    def _query(self, sql: str, params: Any = None, *, fetch: bool = True) -> list[Any]:
        def run() -> list[Any]:
            with self._conn.cursor() as cursor:
                cursor.arraysize = self._array_size
                cursor.execute(sql, params or {})
                return list(cursor.fetchall()) if fetch else []

        rows: list[Any] = self._run(run)
        return rows

    # -- SCNs --------------------------------------------------------------------------------
    def current_scn(self) -> int:
        return int(self._query(CURRENT_SQL)[0][0])

    def start_point(self, scn: int) -> StartPoint:
        count, start, xid = self._query(OPEN_SQL, {"scn": scn})[0]
        if not count:
            return StartPoint(scn, scn)
        return StartPoint(scn, min(int(start), scn), int(count), str(xid))

    def now(self) -> StartPoint:
        """Open transactions first, then the SCN (see the module docstring)."""
        count, start, xid = self._query(OPEN_SQL, {"scn": 2**63 - 1})[0]
        scn = self.current_scn()
        if not count:
            return StartPoint(scn, scn)
        return StartPoint(scn, min(int(start), scn), int(count), str(xid))

    # -- catalog -----------------------------------------------------------------------------
    def tables(self, owners: Sequence[str]) -> list[SourceTable]:
        names = [u for (u,) in self._query(OWNERS_SQL)
                 if any(fnmatch.fnmatchcase(u, p) for p in owners)]  # fmt: skip
        if not names:
            return []
        binds = {f"o{i}": n for i, n in enumerate(names)}
        rows = self._query(TABLES_SQL.format(owners=", ".join(f":{k}" for k in binds)), binds)
        grouped: dict[tuple[str, str], list[Any]] = {}
        for row in rows:
            grouped.setdefault((row[0], row[1]), []).append(row)
        out = []
        for (owner, name), cols in grouped.items():
            infos = tuple(
                (str(c[2]), ColumnInfo(type=str(c[3]), length=c[4], precision=c[5],
                                       scale=c[6], nullable=c[7] != "N"))
                for c in cols
            )  # fmt: skip
            key = tuple(str(c[2]) for c in sorted((c for c in cols if c[8]), key=lambda c: c[8]))
            out.append(SourceTable(str(owner), str(name), infos, key))
        return sorted(out, key=lambda t: (t.owner, t.name))

    # -- chunks ------------------------------------------------------------------------------
    def split(self, table: SourceTable, scn: int, rows_per_chunk: int) -> list[Chunk]:
        where = {"owner": table.owner, "name": table.name}
        try:
            extents = [(str(a), str(b), int(c)) for a, b, c in self._query(EXTENTS_SQL, where)]
        except SnapshotError:
            extents = []  # no privilege on DBA_EXTENTS: key ranges instead
        if extents:
            stats = self._query(STATS_SQL, where)
            rows, blocks = (stats[0] if stats else (None, None))
            per_block = float(rows) / float(blocks) if rows and blocks else 50.0
            return group_extents(extents, max(per_block, 1.0), rows_per_chunk)
        return self.split_keys(table, scn, rows_per_chunk)

    def split_keys(self, table: SourceTable, scn: int, rows_per_chunk: int) -> list[Chunk]:
        """Primary-key ranges of about ``rows_per_chunk`` rows as of ``scn``."""
        total = int(self._query(count_sql(table.owner, table.name), {"scn": scn})[0][0])
        if not table.key or total <= rows_per_chunk:
            return [Chunk(0, KeyRange(), estimate=total)]
        kinds = self._kinds(table)
        key_kinds = [kinds[table.column_names.index(k)] for k in table.key]
        rows = self._query(split_keys_sql(table.owner, table.name, table.key),
                           {"scn": scn, "every": rows_per_chunk, "total": total})  # fmt: skip
        chunks, lo = [], None
        for number, row in enumerate(rows):
            hi = tuple(to_wire(v, k) for v, k in zip(row, key_kinds, strict=True))
            chunks.append(Chunk(number, KeyRange(lo, hi), estimate=rows_per_chunk))
            lo = hi
        chunks.append(Chunk(len(chunks), KeyRange(lo, None),
                            estimate=total - rows_per_chunk * len(chunks)))  # fmt: skip
        return chunks

    # -- rows --------------------------------------------------------------------------------
    @staticmethod
    def _kinds(table: SourceTable) -> list[ColumnType]:
        return [classify(info) for _n, info in table.columns]

    def _select(self, table: SourceTable) -> tuple[str, list[ColumnType]]:
        kinds = self._kinds(table)
        select = ", ".join(select_expr(n, k) for n, k in zip(table.column_names, kinds,
                                                              strict=True))  # fmt: skip
        return select, kinds

    def _params(self, table: SourceTable, kinds: list[ColumnType]) -> Params:
        key_kinds = [kinds[table.column_names.index(k)] for k in table.key]
        return Params(lambda i: f":k{i}", lambda i, v: bind_key(key_kinds[i], v))

    def read(self, table: SourceTable, scn: int, chunk: Chunk) -> Iterator[list[WireRow]]:
        if chunk.rowids is None:
            return self.read_range(table, scn, chunk.keys or KeyRange())
        select, kinds = self._select(table)
        sql = flashback_sql(table.owner, table.name, select, "ROWID BETWEEN :lo AND :hi", None)
        return self._stream(sql, {"scn": scn, "lo": chunk.rowids[0], "hi": chunk.rowids[1]},
                            kinds)  # fmt: skip

    def read_range(self, table: SourceTable, scn: int, keys: KeyRange) -> Iterator[list[WireRow]]:
        select, kinds = self._select(table)
        params = self._params(table, kinds)
        exprs = [quote(k) for k in table.key]
        where = range_where(exprs, keys, params) if table.key else "1 = 1"
        sql = flashback_sql(table.owner, table.name, select, where, ", ".join(exprs) or None)
        binds = {"scn": scn, **{f"k{i}": v for i, v in enumerate(params.values)}}
        return self._stream(sql, binds, kinds)

    def _stream(self, sql: str, binds: dict[str, Any],
                kinds: list[ColumnType]) -> Iterator[list[WireRow]]:  # fmt: skip
        cursor = self._conn.cursor()
        try:
            cursor.arraysize = self._array_size
            cursor.prefetchrows = self._array_size
            self._run(lambda: cursor.execute(sql, binds))
            while True:
                batch = self._run(lambda: cursor.fetchmany())
                if not batch:
                    return
                yield [tuple(to_wire(v, k) for v, k in zip(row, kinds, strict=True))
                       for row in batch]  # fmt: skip
        finally:
            cursor.close()

    def read_keys(self, table: SourceTable, scn: int, keys: Sequence[WireRow]) -> list[WireRow]:
        if not table.key:
            raise SnapshotError("rows of a table without a primary key cannot be read by key",
                                table=table.full_name)  # fmt: skip
        select, kinds = self._select(table)
        exprs = [quote(k) for k in table.key]
        out: list[WireRow] = []
        for part in batched(keys, KEYS_PER_QUERY):
            params = self._params(table, kinds)
            where = keys_where(exprs, part, params)
            binds = {"scn": scn, **{f"k{i}": v for i, v in enumerate(params.values)}}
            rows = self._query(flashback_sql(table.owner, table.name, select, where, None), binds)
            out.extend(tuple(to_wire(v, k) for v, k in zip(row, kinds, strict=True))
                       for row in rows)  # fmt: skip
        return out
