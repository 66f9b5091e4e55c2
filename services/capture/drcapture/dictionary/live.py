"""Load a :class:`Dictionary` from a live Oracle database through ``oracledb``.

Every query reads the SYS dictionary tables ``AS OF SCN`` so the dictionary matches the
redo position capture starts from. The reader account (deploy/sql/oracle/
capture_reader.sql) holds SELECT and FLASHBACK on exactly the tables named here: OBJ$,
COL$, CDEF$, CCOL$, TABPART$, TABCOMPART$, TABSUBPART$, and for index-organized tables
TAB$, IND$, INDPART$, INDCOMPART$, INDSUBPART$. Owner names come from the view
SYS.DRCAPTURE_USERS (USER#, NAME of USER$ and nothing else), never from USER$ itself,
whose other columns hold password hashes. This cannot run in unit tests; it is imported
lazily.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Protocol

from drcommon.config import TlsSettings
from drcommon.dbtls import oracle_params
from drcommon.errors import SourceError

from drcapture.dictionary.live_system import (
    DICTIONARY_TABLES,
    SQL_MAX_OBJ,
    system_rows,
    system_rows_sql,
    table_binds,
)
from drcapture.dictionary.model import Charsets, ColumnDef, Dictionary, IotDef, TableDef
from drcapture.dictionary.system import SystemRows

OBJ_TYPE_TABLE = 2
CDEF_PRIMARY_KEY = 2
COL_PROPERTY_HIDDEN = 0x20
COL_PROPERTY_VIRTUAL = 0x10000
# TAB$.PROPERTY bits (dcore.bsq comments; OLR src/metadata/SysTab.h): 0x40 index-only
# table (IOT), 0x200 IOT overflow segment (TAB$.BOBJ# then names the IOT).
TAB_PROPERTY_IOT = 0x40
TAB_PROPERTY_IOT_OVERFLOW = 0x200
IND_TYPE_IOT_TOP = 4  # IND$.TYPE#: "iot - top", the index holding an IOT's rows
IND_FLAGS_KEY_COMPRESSED = 0x20  # IND$.FLAGS: key compression enabled

# Bind :scn on each; the owners filter is a bind list built at run time.
SQL_DB = "SELECT d.dbid, d.name, d.current_scn FROM v$database d"
SQL_CHARSETS = (
    "SELECT parameter, value FROM nls_database_parameters "
    "WHERE parameter IN ('NLS_CHARACTERSET', 'NLS_NCHAR_CHARACTERSET')"
)
SQL_TABLES = (
    "SELECT o.obj#, o.dataobj#, u.name, o.name FROM sys.obj$ AS OF SCN :scn o "
    "JOIN sys.drcapture_users AS OF SCN :scn u ON u.user# = o.owner# "
    "WHERE o.type# = 2 AND u.name IN ({owners})"
)
SQL_COLUMNS = (
    "SELECT c.obj#, c.col#, c.segcol#, c.intcol#, c.name, c.type#, c.length, c.precision#, "
    "c.scale, c.charsetform, c.charsetid, c.null$, c.property "
    "FROM sys.col$ AS OF SCN :scn c WHERE c.obj# IN "
    "(SELECT o.obj# FROM sys.obj$ AS OF SCN :scn o JOIN sys.drcapture_users AS OF SCN :scn u "
    "ON u.user# = o.owner# WHERE o.type# = 2 AND u.name IN ({owners}))"
)
SQL_PRIMARY_KEYS = (
    "SELECT cd.obj#, cc.intcol#, cc.pos# FROM sys.cdef$ AS OF SCN :scn cd "
    "JOIN sys.ccol$ AS OF SCN :scn cc ON cc.con# = cd.con# WHERE cd.type# = 2"
)
_OWNED_TABLES = (
    "SELECT o.obj# FROM sys.obj$ AS OF SCN :scn o JOIN sys.drcapture_users AS OF SCN :scn u "
    "ON u.user# = o.owner# WHERE o.type# = 2 AND u.name IN ({owners})"
)
# Index-organized tables and overflow segments of the owners (0x40 + 0x200 = 576).
SQL_IOTS = (
    "SELECT t.obj#, t.bobj#, t.property FROM sys.tab$ AS OF SCN :scn t "
    f"WHERE BITAND(t.property, 576) != 0 AND t.obj# IN ({_OWNED_TABLES})"
)
# The "iot - top" index of each IOT: its object holds the rows and is what redo names.
SQL_IOT_INDEXES = (
    "SELECT i.obj#, i.bo#, i.flags FROM sys.ind$ AS OF SCN :scn i "
    f"WHERE i.type# = 4 AND i.bo# IN ({_OWNED_TABLES})"
)
SQL_INDEX_PARTITIONS = (
    "SELECT obj#, bo# FROM sys.indpart$ AS OF SCN :scn "
    "UNION ALL SELECT obj#, bo# FROM sys.indcompart$ AS OF SCN :scn "
    "UNION ALL SELECT obj#, pobj# FROM sys.indsubpart$ AS OF SCN :scn"
)
SQL_PARTITIONS = (
    "SELECT obj#, bo# FROM sys.tabpart$ AS OF SCN :scn "
    "UNION ALL SELECT obj#, bo# FROM sys.tabcompart$ AS OF SCN :scn "
    "UNION ALL SELECT obj#, pobj# FROM sys.tabsubpart$ AS OF SCN :scn"
)


class Cursor(Protocol):
    """The part of an ``oracledb`` cursor this loader uses."""

    def execute(self, statement: str, parameters: dict[str, Any] | None = None) -> Any:
        """Run a statement."""
        ...

    def fetchall(self) -> list[tuple[Any, ...]]:
        """All rows of the last statement."""
        ...


def _owners_clause(owners: list[str]) -> tuple[str, dict[str, Any]]:
    names = {f"o{i}": owner.upper() for i, owner in enumerate(owners)}
    return ", ".join(f":{k}" for k in names), names


def load_live(cursor: Cursor, owners: list[str], scn: int | None = None) -> Dictionary:
    """Read the tables of ``owners`` as of ``scn`` (default: the current SCN)."""
    if not owners:
        raise SourceError("no schema owners given for the dictionary")
    try:
        cursor.execute(SQL_DB)
        db_id, db_name, current_scn = cursor.fetchall()[0]
        scn = int(scn if scn is not None else current_scn)
        cursor.execute(SQL_CHARSETS)
        params = dict(cursor.fetchall())
        clause, binds = _owners_clause(owners)
        cursor.execute(SQL_TABLES.format(owners=clause), {"scn": scn, **binds})
        table_rows = cursor.fetchall()
        cursor.execute(SQL_COLUMNS.format(owners=clause), {"scn": scn, **binds})
        column_rows = cursor.fetchall()
        cursor.execute(SQL_PRIMARY_KEYS, {"scn": scn})
        pk_rows = cursor.fetchall()
        cursor.execute(SQL_PARTITIONS, {"scn": scn})
        part_rows = cursor.fetchall()
        iot = _read_iots(cursor, clause, {"scn": scn, **binds})
    except Exception as exc:  # oracledb raises its own DatabaseError family
        raise SourceError("reading the Oracle dictionary failed", scn=scn, error=str(exc)) from exc
    return _build(int(db_id), str(db_name), scn, params, table_rows, column_rows, pk_rows,
                  part_rows, iot)


IotRows = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]


def _read_iots(cursor: Cursor, clause: str, binds: dict[str, Any]) -> IotRows:
    """(IOT and overflow rows, their top indexes, index partitions)."""
    cursor.execute(SQL_IOTS.format(owners=clause), binds)
    iot_rows = cursor.fetchall()
    if not iot_rows:
        return [], [], []
    cursor.execute(SQL_IOT_INDEXES.format(owners=clause), binds)
    index_rows = cursor.fetchall()
    cursor.execute(SQL_INDEX_PARTITIONS, {"scn": binds["scn"]})
    return iot_rows, index_rows, cursor.fetchall()


def _iot_defs(iot: IotRows) -> tuple[dict[int, IotDef], dict[int, int]]:
    """IotDef per IOT table, and every index-partition object mapped to its IOT."""
    iot_rows, index_rows, index_part_rows = iot
    overflow = {int(bobj): int(obj) for obj, bobj, prop in iot_rows
                if int(prop) & TAB_PROPERTY_IOT_OVERFLOW and bobj is not None}
    top = {int(bo): (int(obj), int(flags or 0)) for obj, bo, flags in index_rows}
    defs: dict[int, IotDef] = {}
    for obj, _, prop in iot_rows:
        if not int(prop) & TAB_PROPERTY_IOT:
            continue
        index_obj, flags = top.get(int(obj), (None, 0))
        defs[int(obj)] = IotDef(index_obj=index_obj, overflow_obj=overflow.get(int(obj)),
                                key_compressed=bool(flags & IND_FLAGS_KEY_COMPRESSED))
    table_of_index = {d.index_obj: t for t, d in defs.items() if d.index_obj is not None}
    parent = {int(obj): int(up) for obj, up in index_part_rows}
    parts: dict[int, int] = {}
    for obj, up in parent.items():
        while up in parent and up not in table_of_index:
            up = parent[up]
        if up in table_of_index:
            parts[obj] = table_of_index[up]
    return defs, parts


def _build(db_id: int, db_name: str, scn: int, params: dict[str, str],
           table_rows: list[tuple[Any, ...]], column_rows: list[tuple[Any, ...]],
           pk_rows: list[tuple[Any, ...]], part_rows: list[tuple[Any, ...]],
           iot: IotRows = ([], [], [])) -> Dictionary:
    columns: dict[int, list[ColumnDef]] = defaultdict(list)
    int_names: dict[tuple[int, int], str] = {}
    for (obj, col, segcol, intcol, name, type_code, length, precision, scale, form, csid,
         null, prop) in column_rows:
        prop = int(prop or 0)
        stored = 0 if prop & COL_PROPERTY_VIRTUAL else int(segcol or 0)
        column = ColumnDef(col_no=int(col), seg_col=stored,
                           name=str(name), type_code=int(type_code), length=int(length or 0),
                           precision=None if precision is None else int(precision),
                           scale=None if scale is None else int(scale),
                           charset_form=int(form or 0), charset_id=int(csid or 0),
                           nullable=int(null or 0) == 0, hidden=bool(prop & COL_PROPERTY_HIDDEN))
        columns[int(obj)].append(column)
        int_names[(int(obj), int(intcol))] = column.name
    pk: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for obj, intcol, pos in pk_rows:
        name = int_names.get((int(obj), int(intcol)))
        if name is not None:
            pk[int(obj)].append((int(pos or 0), name))
    iots, index_parts = _iot_defs(iot)
    tables: dict[int, TableDef] = {}
    for obj, data_obj, owner, name in table_rows:
        cols = tuple(sorted((c for c in columns.get(int(obj), []) if c.seg_col > 0),
                            key=lambda c: c.seg_col))
        tables[int(obj)] = TableDef(obj=int(obj), owner=str(owner), name=str(name), columns=cols,
                                    pk=tuple(n for _, n in sorted(pk.get(int(obj), []))),
                                    data_obj=None if data_obj is None else int(data_obj),
                                    iot=iots.get(int(obj)))
    dictionary = Dictionary(tables=tables)
    dictionary.add_iot_segments()  # the overflow segment's own entry gives way to the IOT
    for obj, table_obj in index_parts.items():
        if table_obj in tables:
            tables[obj] = tables[table_obj]
    parent = {int(obj): int(up) for obj, up in part_rows}
    for obj, up in parent.items():
        while up in parent and up not in tables:
            up = parent[up]
        if up in tables:
            tables[obj] = tables[up]
    return Dictionary(db_id=db_id, db_name=db_name, scn=scn, tables=tables,
                      charsets=Charsets(database=params.get("NLS_CHARACTERSET", "AL32UTF8"),
                                        national=params.get("NLS_NCHAR_CHARACTERSET",
                                                            "AL16UTF16")))


def load_live_system(cursor: Cursor, owners: list[str], scn: int) -> tuple[SystemRows, int]:
    """The SYS dictionary tables' rows (for a snapshot's ``system``) and the highest
    object number, as of ``scn`` (see :mod:`drcapture.dictionary.live_system`)."""
    clause, binds = _owners_clause(owners)
    tables, table_names = table_binds()
    fetched: dict[str, list[tuple[Any, ...]]] = {}
    try:
        for table in DICTIONARY_TABLES:
            sql, _ = system_rows_sql(table)
            cursor.execute(sql.format(owners=clause, tables=tables),
                           {"scn": scn, **binds, **table_names})
            fetched[table] = cursor.fetchall()
        cursor.execute(SQL_MAX_OBJ, {"scn": scn})
        max_obj = int(cursor.fetchall()[0][0] or 0)
    except Exception as exc:  # oracledb raises its own DatabaseError family
        raise SourceError("reading the Oracle dictionary tables' rows failed", scn=scn,
                          error=str(exc)) from exc
    return system_rows(fetched), max_obj


def load_live_dsn(dsn: str, user: str, password: str, owners: list[str],
                  scn: int | None = None, *, tls: TlsSettings | None = None) -> Dictionary:
    """Connect with ``oracledb`` (thin mode, ``tcps`` when ``tls`` is enabled) and load
    the dictionary."""
    dictionary, _ = export_live_dsn(dsn, user, password, owners, scn, tls=tls,
                                    with_system=False)
    return dictionary


def export_live_dsn(dsn: str, user: str, password: str, owners: list[str],
                    scn: int | None = None, *, tls: TlsSettings | None = None,
                    with_system: bool = True) -> tuple[Dictionary, SystemRows | None]:
    """The dictionary and (``with_system``) the SYS tables' rows, read in one session
    at one SCN; the dictionary records the highest object number then."""
    import oracledb

    params = oracle_params(dsn, tls or TlsSettings(), key="dictionary.tls", user=user,
                           password=password)
    try:
        with oracledb.connect(params=params) as conn, \
                conn.cursor() as cursor:
            dictionary = load_live(cursor, owners, scn)
            if not with_system:
                return dictionary, None
            rows, dictionary.max_obj = load_live_system(cursor, owners, dictionary.scn)
            return dictionary, rows
    except oracledb.Error as exc:
        raise SourceError("cannot connect to Oracle for the dictionary", dsn=dsn,
                          error=str(exc)) from exc
