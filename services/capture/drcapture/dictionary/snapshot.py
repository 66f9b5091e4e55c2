"""Our own dictionary snapshot: a stable, documented JSON form with a version field.

Format (``version`` 1)::

    {
      "format": "drcapture-dictionary",
      "version": 1,
      "db_id": 1385559638, "db_name": "TEST", "scn": 2266634,
      "charsets": {"database": "AL32UTF8", "national": "AL16UTF16"},
      "tables": [
        {"obj": 72726, "data_obj": 72726, "owner": "OLR_TEST", "name": "TEST_CDC",
         "pk": ["ID"],
         "columns": [{"col_no": 1, "seg_col": 1, "name": "ID", "type_code": 2,
                      "length": 22, "precision": null, "scale": null,
                      "charset_form": 0, "charset_id": 0, "nullable": false,
                      "hidden": false}]}
      ],
      "aliases": {"72730": 72726}
    }

``aliases`` maps partition (and subpartition) object numbers to their table's, and the
index and overflow segment objects of index-organized tables to the table's. A table
entry of an index-organized table adds
``"iot": {"index_obj": 80707, "overflow_obj": null, "key_compressed": false}``
(optional: snapshots without it load as before).

Two optional members carry what keeping the dictionary current from the redo needs
(:mod:`drcapture.dictionary.system`; snapshots without them load as before):
``"system"`` holds the rows of the SYS dictionary tables by section, in
OpenLogReplicator's checkpoint naming (``{"sys-obj": [{"row-id": "AAAAASAAAAAAHdNAAV",
"obj": 72726, …}], "sys-col": […], …}``), and ``"max_obj"`` the highest object number
allocated at ``scn``. With ``"system"`` present, the SYS tables' own definitions
(``system_tables``) are derived from its rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from drcommon.errors import ParseError, UnsupportedFormat

from drcapture.dictionary.derive import DatabaseFacts
from drcapture.dictionary.model import Charsets, ColumnDef, Dictionary, IotDef, TableDef
from drcapture.dictionary.system import SystemRows

FORMAT = "drcapture-dictionary"
VERSION = 1


def _column_out(c: ColumnDef) -> dict[str, Any]:
    return {"col_no": c.col_no, "seg_col": c.seg_col, "name": c.name, "type_code": c.type_code,
            "length": c.length, "precision": c.precision, "scale": c.scale,
            "charset_form": c.charset_form, "charset_id": c.charset_id,
            "nullable": c.nullable, "hidden": c.hidden}


def _column_in(d: dict[str, Any]) -> ColumnDef:
    return ColumnDef(col_no=int(d["col_no"]), seg_col=int(d["seg_col"]), name=str(d["name"]),
                     type_code=int(d["type_code"]), length=int(d.get("length", 0)),
                     precision=d.get("precision"), scale=d.get("scale"),
                     charset_form=int(d.get("charset_form", 0)),
                     charset_id=int(d.get("charset_id", 0)),
                     nullable=bool(d.get("nullable", True)), hidden=bool(d.get("hidden", False)))


def _iot_out(iot: IotDef | None) -> dict[str, Any] | None:
    if iot is None:
        return None
    return {"index_obj": iot.index_obj, "overflow_obj": iot.overflow_obj,
            "key_compressed": iot.key_compressed}


def _iot_in(d: dict[str, Any] | None) -> IotDef | None:
    if d is None:
        return None
    index_obj, overflow_obj = d.get("index_obj"), d.get("overflow_obj")
    return IotDef(index_obj=None if index_obj is None else int(index_obj),
                  overflow_obj=None if overflow_obj is None else int(overflow_obj),
                  key_compressed=bool(d.get("key_compressed", False)))


def _table_out(t: TableDef) -> dict[str, Any]:
    out: dict[str, Any] = {
        "obj": t.obj, "data_obj": t.data_obj, "owner": t.owner, "name": t.name,
        "pk": list(t.pk), "columns": [_column_out(c) for c in t.columns]}
    if t.iot is not None:
        out["iot"] = _iot_out(t.iot)
    return out


def dump_snapshot(dictionary: Dictionary, system: SystemRows | None = None) -> dict[str, Any]:
    """The snapshot document for a dictionary (with ``system``: the SYS tables' rows)."""
    tables: dict[int, TableDef] = {}
    aliases: dict[str, int] = {}
    for obj, table in sorted(dictionary.tables.items()):
        if table.obj == obj:
            tables[obj] = table
        else:
            aliases[str(obj)] = table.obj
    return {
        "format": FORMAT, "version": VERSION, "db_id": dictionary.db_id,
        "db_name": dictionary.db_name, "scn": dictionary.scn,
        "charsets": {"database": dictionary.charsets.database,
                     "national": dictionary.charsets.national},
        "tables": [_table_out(t) for t in tables.values()],
        "aliases": aliases,
        **({"max_obj": dictionary.max_obj} if dictionary.max_obj else {}),
        **({"system": system.to_sections()} if system is not None else {}),
    }


def load_snapshot(data: dict[str, Any]) -> Dictionary:
    """A dictionary from a snapshot document; refuses other formats and versions."""
    if data.get("format") != FORMAT:
        raise ParseError("not a dictionary snapshot", found=data.get("format"), expected=FORMAT)
    if data.get("version") != VERSION:
        raise UnsupportedFormat("dictionary snapshot version not supported",
                                found=data.get("version"), expected=VERSION)
    tables: dict[int, TableDef] = {}
    for t in data["tables"]:
        table = TableDef(obj=int(t["obj"]), owner=str(t["owner"]), name=str(t["name"]),
                         columns=tuple(_column_in(c) for c in t["columns"]),
                         pk=tuple(t.get("pk", ())), data_obj=t.get("data_obj"),
                         iot=_iot_in(t.get("iot")))
        tables[table.obj] = table
    for alias, obj in data.get("aliases", {}).items():
        if int(obj) in tables:
            tables[int(alias)] = tables[int(obj)]
    cs = data.get("charsets", {})
    dictionary = Dictionary(db_id=int(data.get("db_id", 0)), db_name=str(data.get("db_name", "")),
                            charsets=Charsets(database=cs.get("database", "AL32UTF8"),
                                              national=cs.get("national", "AL16UTF16")),
                            scn=int(data.get("scn", 0)), tables=tables,
                            max_obj=int(data.get("max_obj", 0)))
    dictionary.add_iot_segments()
    system = load_snapshot_system(data)
    if system is not None:
        derived = system.dictionary(DatabaseFacts(max_obj=dictionary.max_obj))
        dictionary.system_tables = derived.system_tables
        dictionary.max_obj = derived.max_obj
    return dictionary


def load_snapshot_system(data: dict[str, Any]) -> SystemRows | None:
    """The SYS tables' rows a snapshot document carries (None for one without)."""
    system = data.get("system")
    if system is None:
        return None
    if not isinstance(system, dict):
        raise ParseError("the snapshot's system rows are not an object")
    return SystemRows.from_sections(system)


def save_snapshot_file(dictionary: Dictionary, path: Path,
                       system: SystemRows | None = None) -> None:
    """Write a snapshot file (UTF-8 JSON, keys in a stable order)."""
    path.write_text(json.dumps(dump_snapshot(dictionary, system), indent=1, sort_keys=True),
                    encoding="utf-8")


def load_snapshot_file(path: Path) -> Dictionary:
    """Read a snapshot file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ParseError("cannot read the dictionary snapshot", file=str(path)) from exc
    return load_snapshot(data)
