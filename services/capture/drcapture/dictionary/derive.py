"""The one derivation of a :class:`Dictionary` from rows of the SYS dictionary tables.

Rows come in OpenLogReplicator's checkpoint naming (sections ``sys-obj``, ``sys-tab``,
``sys-col``, ``sys-user``, ``sys-cdef``, ``sys-ccol``, ``sys-tabpart``,
``sys-tabsubpart``, ``sys-tabcompart`` …; fields ``obj``, ``data-obj``, ``seg-col`` …),
whether they were read from a checkpoint file (:mod:`drcapture.dictionary.olr`) or are
the tracked rows kept current from the redo (:mod:`drcapture.dictionary.system`). Only
the data format is read here; no OpenLogReplicator code is involved.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from drcommon.errors import ParseError

from drcapture.dictionary.model import Charsets, ColumnDef, Dictionary, IotDef, TableDef

Sections = Mapping[str, Sequence[Mapping[str, Any]]]

OBJ_TYPE_INDEX = 1
OBJ_TYPE_TABLE = 2
CDEF_PRIMARY_KEY = 2
SYS_USER = 0  # USER$.USER# of SYS, the owner of the dictionary tables
COL_PROPERTY_HIDDEN = 0x20  # COL$.PROPERTY: hidden column
COL_PROPERTY_VIRTUAL = 0x10000  # COL$.PROPERTY: virtual column
TAB_PROPERTY_PARTITIONED = 0x20  # TAB$.PROPERTY (dcore.bsq; OLR src/metadata/SysTab.h)
TAB_PROPERTY_IOT = 0x40  # index-only table
TAB_PROPERTY_IOT_OVERFLOW = 0x200  # an IOT's overflow segment
# The checkpoint has no IND$ and no TAB$.BOBJ#: an IOT's segments are found by the names
# Oracle gives them, SYS_IOT_TOP_<table obj#> (the index, unless the primary key
# constraint was named) and SYS_IOT_OVER_<table obj#> (the overflow segment).
IOT_TOP_PREFIX = "SYS_IOT_TOP_"
IOT_OVERFLOW_PREFIX = "SYS_IOT_OVER_"


@dataclass(frozen=True, slots=True)
class DatabaseFacts:
    """What a dictionary says besides its tables. ``max_obj`` is a recorded highest
    object number (0: take the highest ``sys-obj`` row's)."""

    db_id: int = 0
    db_name: str = ""
    charsets: Charsets = field(default_factory=Charsets)
    scn: int = 0
    max_obj: int = 0


def rows_of(data: Sections, key: str) -> Sequence[Mapping[str, Any]]:
    """The rows of one section (none when it is absent)."""
    rows = data.get(key, [])
    if not isinstance(rows, list | tuple):
        raise ParseError("dictionary section is not a list", section=key)
    return rows


def low(value: Any) -> int:
    """OLR splits 128-bit flag columns into [low, high]; we need the low word."""
    if isinstance(value, list | tuple):
        return int(value[0]) if value else 0
    return int(value or 0)


def _num(row: Mapping[str, Any], key: str, default: int = 0) -> int:
    value = row.get(key)
    return default if value is None else int(value)


def _opt(value: Any) -> int | None:
    return None if value is None or int(value) < 0 else int(value)


def _column(row: Mapping[str, Any]) -> ColumnDef:
    prop = low(row.get("property"))
    return ColumnDef(
        col_no=int(row["col"]),
        seg_col=_num(row, "seg-col") if not prop & COL_PROPERTY_VIRTUAL else 0,
        name=str(row["name"]),
        type_code=int(row["type"]),
        length=_num(row, "length"),
        precision=_opt(row.get("precision")),
        scale=_opt(row.get("scale")),
        charset_form=_num(row, "charset-form"),
        charset_id=_num(row, "charset-id"),
        nullable=_num(row, "null") == 0,
        hidden=bool(prop & COL_PROPERTY_HIDDEN),
    )


def _primary_keys(
    data: Sections, names: dict[tuple[int, int], str]
) -> dict[int, tuple[str, ...]]:
    pk_cons = {int(r["con"]): int(r["obj"]) for r in rows_of(data, "sys-cdef")
               if _num(r, "type") == CDEF_PRIMARY_KEY}
    cols: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for r in rows_of(data, "sys-ccol"):
        con = int(r["con"])
        if con in pk_cons:
            obj = pk_cons[con]
            name = names.get((obj, int(r["int-col"])))
            if name is not None:
                cols[obj].append((_num(r, "pos", int(r["int-col"])), name))
    return {obj: tuple(n for _, n in sorted(items)) for obj, items in cols.items()}


def _columns(data: Sections) -> tuple[dict[int, list[ColumnDef]], dict[tuple[int, int], str]]:
    columns: dict[int, list[ColumnDef]] = defaultdict(list)
    int_names: dict[tuple[int, int], str] = {}
    for r in rows_of(data, "sys-col"):
        col = _column(r)
        columns[int(r["obj"])].append(col)
        int_names[(int(r["obj"]), _num(r, "int-col", col.col_no))] = col.name
    return columns, int_names


def _stored(columns: list[ColumnDef]) -> tuple[ColumnDef, ...]:
    return tuple(sorted((c for c in columns if c.seg_col > 0), key=lambda c: c.seg_col))


def derive_dictionary(data: Sections, facts: DatabaseFacts) -> Dictionary:
    """A dictionary from rows of the SYS tables: the tables (with their partitions and
    IOT segments), the SYS dictionary tables themselves (``system_tables``, with their
    cluster key columns) and the highest object number."""
    users = {int(r["user"]): str(r["name"]) for r in rows_of(data, "sys-user")}
    columns, int_names = _columns(data)
    pks = _primary_keys(data, int_names)
    clu_cols = {int(r["obj"]): _num(r, "clu-cols") for r in rows_of(data, "sys-tab")}
    tables: dict[int, TableDef] = {}
    system: dict[int, TableDef] = {}
    for r in rows_of(data, "sys-obj"):
        if _num(r, "type") != OBJ_TYPE_TABLE:
            continue
        obj = int(r["obj"])
        owner = users.get(int(r["owner"]))
        if owner is None:
            continue
        table = TableDef(obj=obj, owner=owner, name=str(r["name"]),
                         columns=_stored(columns.get(obj, [])), pk=pks.get(obj, ()),
                         data_obj=_opt(r.get("data-obj")))
        tables[obj] = table
        if int(r["owner"]) == SYS_USER:
            system[obj] = replace(table, cluster_key_columns=clu_cols.get(obj, 0))
    _add_iots(data, tables)
    _add_partitions(data, tables)
    highest = max((int(r["obj"]) for r in rows_of(data, "sys-obj")), default=0)
    return Dictionary(db_id=facts.db_id, db_name=facts.db_name, charsets=facts.charsets,
                      scn=facts.scn, tables=tables, system_tables=system,
                      max_obj=facts.max_obj or highest)


def _suffix_obj(name: str, prefix: str) -> int | None:
    rest = name[len(prefix):] if name.startswith(prefix) else ""
    return int(rest) if rest.isdigit() else None


def _add_iots(data: Sections, tables: dict[int, TableDef]) -> None:
    """Mark IOTs (TAB$.PROPERTY 0x40) and map their segments to them. An index whose name
    does not tell its table (a named primary key) stays unknown (``index_obj`` None), and
    so does the index of a partitioned IOT (its partitions are not in the checkpoint):
    capture refuses such a table rather than miss its changes."""
    prop = {int(r["obj"]): low(r.get("property")) for r in rows_of(data, "sys-tab")}
    tops: dict[int, int] = {}
    overflows: dict[int, int] = {}
    for r in rows_of(data, "sys-obj"):
        obj, name, kind = int(r["obj"]), str(r.get("name") or ""), _num(r, "type")
        top = _suffix_obj(name, IOT_TOP_PREFIX) if kind == OBJ_TYPE_INDEX else None
        over = _suffix_obj(name, IOT_OVERFLOW_PREFIX) if kind == OBJ_TYPE_TABLE else None
        if top is not None:
            tops[top] = obj
        if over is not None and prop.get(obj, 0) & TAB_PROPERTY_IOT_OVERFLOW:
            overflows[over] = obj
    for obj, table in list(tables.items()):
        bits = prop.get(obj, 0)
        if table.obj != obj or not bits & TAB_PROPERTY_IOT:
            continue
        index_obj = None if bits & TAB_PROPERTY_PARTITIONED else tops.get(obj)
        iot = IotDef(index_obj=index_obj, overflow_obj=overflows.get(obj))
        tables[obj] = iot_table = replace(table, iot=iot, data_obj=None)
        for segment in (iot.index_obj, iot.overflow_obj):
            if segment is not None:
                tables[segment] = iot_table


def partition_parents(data: Sections) -> dict[int, int]:
    """Each partition's parent object: a (composite) partition's table, a
    subpartition's composite partition."""
    parent: dict[int, int] = {}
    for r in [*rows_of(data, "sys-tabpart"), *rows_of(data, "sys-tabcompart")]:
        parent[int(r["obj"])] = int(r["bo"])
    for r in rows_of(data, "sys-tabsubpart"):
        parent[int(r["obj"])] = int(r["p-obj"])
    return parent


def _add_partitions(data: Sections, tables: dict[int, TableDef]) -> None:
    """Partitions (and subpartitions via their composite partition) map to the table."""
    parent = partition_parents(data)
    for obj, up in parent.items():
        while up in parent and up not in tables:
            up = parent[up]
        if up in tables:
            tables[obj] = tables[up]
