"""Load a :class:`Dictionary` from an OpenLogReplicator checkpoint file.

The checkpoint holds rows of the SYS dictionary tables (``sys-obj``, ``sys-col``,
``sys-user``, ``sys-cdef``, ``sys-ccol``, ``sys-tabpart`` …) plus database facts. Only
the data format is read here; no OpenLogReplicator code is involved.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

from drcommon.errors import ParseError

from drcapture.dictionary.model import Charsets, ColumnDef, Dictionary, IotDef, TableDef

OBJ_TYPE_INDEX = 1
OBJ_TYPE_TABLE = 2
CDEF_PRIMARY_KEY = 2
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


def _rows(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    rows = data.get(key, [])
    if not isinstance(rows, list):
        raise ParseError("checkpoint section is not a list", section=key)
    return rows


def _low(value: Any) -> int:
    """OLR splits 128-bit flag columns into [low, high]; we need the low word."""
    if isinstance(value, list):
        return int(value[0]) if value else 0
    return int(value or 0)


def _opt(value: Any) -> int | None:
    return None if value is None or int(value) < 0 else int(value)


def _column(row: dict[str, Any]) -> ColumnDef:
    prop = _low(row.get("property"))
    return ColumnDef(
        col_no=int(row["col"]),
        seg_col=int(row.get("seg-col", 0)) if not prop & COL_PROPERTY_VIRTUAL else 0,
        name=str(row["name"]),
        type_code=int(row["type"]),
        length=int(row.get("length", 0)),
        precision=_opt(row.get("precision")),
        scale=_opt(row.get("scale")),
        charset_form=int(row.get("charset-form", 0)),
        charset_id=int(row.get("charset-id", 0)),
        nullable=int(row.get("null", 0)) == 0,
        hidden=bool(prop & COL_PROPERTY_HIDDEN),
    )


def _primary_keys(
    data: dict[str, Any], names: dict[tuple[int, int], str]
) -> dict[int, tuple[str, ...]]:
    pk_cons = {int(r["con"]): int(r["obj"]) for r in _rows(data, "sys-cdef")
               if int(r.get("type", 0)) == CDEF_PRIMARY_KEY}
    cols: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for r in _rows(data, "sys-ccol"):
        con = int(r["con"])
        if con in pk_cons:
            obj = pk_cons[con]
            name = names.get((obj, int(r["int-col"])))
            if name is not None:
                cols[obj].append((int(r.get("pos", r["int-col"])), name))
    return {obj: tuple(n for _, n in sorted(items)) for obj, items in cols.items()}


def load_olr_checkpoint(data: dict[str, Any]) -> Dictionary:
    """Build a dictionary from a parsed OpenLogReplicator checkpoint document."""
    users = {int(r["user"]): str(r["name"]) for r in _rows(data, "sys-user")}
    columns: dict[int, list[ColumnDef]] = defaultdict(list)
    int_names: dict[tuple[int, int], str] = {}
    for r in _rows(data, "sys-col"):
        col = _column(r)
        columns[int(r["obj"])].append(col)
        int_names[(int(r["obj"]), int(r.get("int-col", r["col"])))] = col.name
    pks = _primary_keys(data, int_names)
    tables: dict[int, TableDef] = {}
    for r in _rows(data, "sys-obj"):
        if int(r.get("type", 0)) != OBJ_TYPE_TABLE:
            continue
        obj = int(r["obj"])
        owner = users.get(int(r["owner"]))
        if owner is None:
            continue
        cols = tuple(sorted((c for c in columns.get(obj, []) if c.seg_col > 0),
                            key=lambda c: c.seg_col))
        tables[obj] = TableDef(obj=obj, owner=owner, name=str(r["name"]), columns=cols,
                               pk=pks.get(obj, ()), data_obj=_opt(r.get("data-obj")))
    _add_iots(data, tables)
    _add_partitions(data, tables)
    return Dictionary(
        db_id=int(data.get("db-id", 0)),
        db_name=str(data.get("database", "")),
        charsets=Charsets(database=str(data.get("nls-character-set", "AL32UTF8")),
                          national=str(data.get("nls-nchar-character-set", "AL16UTF16"))),
        scn=int(data.get("scn", 0)),
        tables=tables,
    )


def _suffix_obj(name: str, prefix: str) -> int | None:
    rest = name[len(prefix):] if name.startswith(prefix) else ""
    return int(rest) if rest.isdigit() else None


def _add_iots(data: dict[str, Any], tables: dict[int, TableDef]) -> None:
    """Mark IOTs (TAB$.PROPERTY 0x40) and map their segments to them. An index whose name
    does not tell its table (a named primary key) stays unknown (``index_obj`` None), and
    so does the index of a partitioned IOT (its partitions are not in the checkpoint):
    capture refuses such a table rather than miss its changes."""
    prop = {int(r["obj"]): _low(r.get("property")) for r in _rows(data, "sys-tab")}
    tops: dict[int, int] = {}
    overflows: dict[int, int] = {}
    for r in _rows(data, "sys-obj"):
        obj, name, kind = int(r["obj"]), str(r.get("name", "")), int(r.get("type", 0))
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


def _add_partitions(data: dict[str, Any], tables: dict[int, TableDef]) -> None:
    """Partitions (and subpartitions via their composite partition) map to the table."""
    parent: dict[int, int] = {}
    for r in _rows(data, "sys-tabpart") + _rows(data, "sys-tabcompart"):
        parent[int(r["obj"])] = int(r["bo"])
    for r in _rows(data, "sys-tabsubpart"):
        parent[int(r["obj"])] = int(r["p-obj"])
    for obj, up in parent.items():
        while up in parent and up not in tables:
            up = parent[up]
        if up in tables:
            tables[obj] = tables[up]


def load_olr_checkpoint_file(path: Path) -> Dictionary:
    """Read and load an OpenLogReplicator checkpoint JSON file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ParseError("cannot read the OpenLogReplicator checkpoint", file=str(path)) from exc
    if not isinstance(data, dict):
        raise ParseError("checkpoint is not a JSON object", file=str(path))
    return load_olr_checkpoint(data)
