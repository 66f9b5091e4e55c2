"""The dictionary capture decodes with: tables by object number, their columns and types.

Loaders (an OpenLogReplicator checkpoint, our own JSON snapshot, a live Oracle) all
produce a :class:`Dictionary`; the decoder never sees where it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class OracleType(IntEnum):
    """``COL$.TYPE#`` codes of the column types capture knows by name."""

    VARCHAR2 = 1  # also NVARCHAR2 when charset_form == 2
    NUMBER = 2  # also FLOAT
    LONG = 8
    DATE = 12
    RAW = 23
    LONG_RAW = 24
    ROWID = 69
    CHAR = 96  # also NCHAR when charset_form == 2
    BINARY_FLOAT = 100
    BINARY_DOUBLE = 101
    CLOB = 112  # also NCLOB when charset_form == 2
    BLOB = 113
    BFILE = 114
    JSON = 119
    OBJECT = 121
    NESTED_TABLE = 122
    VARRAY = 123
    TIMESTAMP = 180
    TIMESTAMP_TZ = 181
    INTERVAL_YM = 182
    INTERVAL_DS = 183
    UROWID = 208
    TIMESTAMP_LTZ = 231
    BOOLEAN = 252
    OPAQUE = 58  # XMLTYPE and other opaque types


@dataclass(frozen=True, slots=True)
class ColumnDef:
    """One column of a table.

    ``seg_col`` is the column's position inside a stored row piece (``COL$.SEGCOL#``,
    1-based); 0 means the column is not stored (virtual). ``charset_form`` is 1 for the
    database character set, 2 for the national one.
    """

    col_no: int
    seg_col: int
    name: str
    type_code: int
    length: int = 0
    precision: int | None = None
    scale: int | None = None
    charset_form: int = 0
    charset_id: int = 0
    nullable: bool = True
    hidden: bool = False

    @property
    def type_name(self) -> str:
        """The Oracle type as a user would write it (``NVARCHAR2``, ``TIMESTAMP(6)`` …)."""
        return oracle_type_name(self)


@dataclass(frozen=True, slots=True)
class IotDef:
    """What makes a table index-organized: the segments its rows live in.

    An IOT has no data segment of its own: its rows are the leaf rows of its primary key
    index (``index_obj``, ``IND$.TYPE#`` 4 "iot - top"), and columns past the
    ``INCLUDING`` column or the threshold go to an optional overflow segment
    (``overflow_obj``, ``TAB$.PROPERTY`` 0x200, ``TAB$.BOBJ#`` = the IOT). Redo names
    those objects, never the table's; the dictionary maps both to the table. ``None``
    means the loader could not tell: changes of such a table are refused, not guessed.
    ``key_compressed``: the index uses key (prefix) compression (``IND$.FLAGS`` 0x20),
    whose leaf rows capture does not decode.
    """

    index_obj: int | None
    overflow_obj: int | None = None
    key_compressed: bool = False


@dataclass(frozen=True, slots=True)
class TableDef:
    """A table capture may decode; ``columns`` are ordered by ``seg_col``.

    ``iot`` is set for index-organized tables (their ``seg_col`` order is the leaf row's:
    primary key columns first, in key order, then the others)."""

    obj: int
    owner: str
    name: str
    columns: tuple[ColumnDef, ...]
    pk: tuple[str, ...] = ()
    data_obj: int | None = None
    iot: IotDef | None = None
    # TAB$.CLUCOLS: a table stored in a cluster (the SYS dictionary tables TAB$, COL$,
    # CDEF$ …) keeps its cluster key columns (SEGCOL# 1..n) once per key in the block,
    # not in its rows: a row piece's column i is the column at SEGCOL# n + 1 + i.
    cluster_key_columns: int = 0

    def column_by_seg(self, seg_col: int) -> ColumnDef | None:
        """The stored column at a 1-based row-piece position, if any."""
        for column in self.columns:
            if column.seg_col == seg_col:
                return column
        return None


@dataclass(frozen=True, slots=True)
class Charsets:
    """The database's character sets (names as Oracle spells them, e.g. ``AL32UTF8``)."""

    database: str = "AL32UTF8"
    national: str = "AL16UTF16"


@dataclass(slots=True)
class Dictionary:
    """Tables by object number (partitions map to their table), plus database facts."""

    db_id: int = 0
    db_name: str = ""
    charsets: Charsets = field(default_factory=Charsets)
    scn: int = 0
    tables: dict[int, TableDef] = field(default_factory=dict)
    # The SYS dictionary tables (OBJ$, TAB$, COL$ …) by object number, owner "SYS":
    # capture decodes their changes to keep the dictionary current from the redo.
    system_tables: dict[int, TableDef] = field(default_factory=dict)
    # The highest object number the source had allocated at ``scn`` (0: unknown). An
    # object above it may have been created since: its changes are kept until the
    # dictionary version valid at their commit says whether anyone asked for it.
    max_obj: int = 0

    def table_for(self, obj: int) -> TableDef | None:
        """The table an object number (table, partition, or an IOT's index or overflow
        segment) belongs to."""
        return self.tables.get(obj)

    def add_iot_segments(self) -> None:
        """Map every IOT's index and overflow segment objects to the table (what each
        loader does once it knows them)."""
        for table in list(self.tables.values()):
            if table.iot is None:
                continue
            for obj in (table.iot.index_obj, table.iot.overflow_obj):
                if obj is not None:
                    self.tables[obj] = table


@dataclass(frozen=True, slots=True)
class SystemChange:
    """One committed row change to a SYS dictionary table, as read from the redo.

    ``table`` is the dictionary table's name (``OBJ$``, ``TAB$``, ``COL$`` …), ``op``
    ``insert``, ``update`` or ``delete``, ``rowid`` the row's ROWID as Oracle prints it
    (the key the tracked rows are kept by), ``values`` the columns the change sets (by
    column name, as text: NUMBER in decimal, VARCHAR2 as text, None for NULL; for a
    delete, what the redo holds of the row before)."""

    table: str
    op: str
    rowid: str
    values: dict[str, str | None]


_TYPE_NAMES: dict[tuple[int, int], str] = {
    (OracleType.VARCHAR2, 2): "NVARCHAR2",
    (OracleType.CHAR, 2): "NCHAR",
    (OracleType.CLOB, 2): "NCLOB",
}


def oracle_type_name(column: ColumnDef) -> str:
    """Render a column's type the way Oracle's ``DESCRIBE`` would."""
    special = _TYPE_NAMES.get((column.type_code, column.charset_form))
    if special is not None:
        return special
    try:
        base = OracleType(column.type_code).name
    except ValueError:
        return f"TYPE#{column.type_code}"
    renames = {
        "TIMESTAMP_TZ": "TIMESTAMP WITH TIME ZONE",
        "TIMESTAMP_LTZ": "TIMESTAMP WITH LOCAL TIME ZONE",
        "INTERVAL_YM": "INTERVAL YEAR TO MONTH",
        "INTERVAL_DS": "INTERVAL DAY TO SECOND",
        "LONG_RAW": "LONG RAW",
    }
    return renames.get(base, base)
