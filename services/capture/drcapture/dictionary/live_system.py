"""The SYS dictionary tables' rows, read from a live Oracle for a snapshot's ``system``.

``drcapture dictionary export`` writes them beside the tables so capture can keep its
dictionary current from the redo (``dictionary.on_ddl = track``): each row with its
ROWID, the key the redo's changes to it are applied by. Read ``AS OF SCN`` like the rest
of the export, for the configured schemas' objects and for the dictionary tables
themselves (whose own COL$ and TAB$ rows give the layout capture decodes their changes
with). Only the columns capture tracks (:data:`~drcapture.dictionary.system.TRACKED`)
are read; owner names come through ``SYS.DRCAPTURE_USERS``, never USER$ itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from drcapture.dictionary.system import ROW_ID, TRACKED, SystemRows, field_value

# The SYS tables whose rows shape the dictionary (their own layout is read too).
DICTIONARY_TABLES: Final = tuple(TRACKED)
# Which column names the object a row describes, per table (TABSUBPART$ through its
# composite partition; USER$ by its users).
_OBJECT_COLUMN: Final = {"TABPART$": "BO#", "TABCOMPART$": "BO#", "TABSUBPART$": "POBJ#"}

_OWNERS = ("SELECT u.user# FROM sys.drcapture_users AS OF SCN :scn u "
           "WHERE u.name IN ({owners})")
_SYS_TABLES = ("SELECT o.obj# FROM sys.obj$ AS OF SCN :scn o WHERE o.owner# = 0 "
               "AND o.type# = 2 AND o.name IN ({tables})")
_OBJECTS = (f"SELECT o.obj# FROM sys.obj$ AS OF SCN :scn o WHERE o.owner# IN ({_OWNERS}) "
            f"UNION ALL {_SYS_TABLES}")
SQL_MAX_OBJ: Final = "SELECT MAX(o.obj#) FROM sys.obj$ AS OF SCN :scn o"


def _source(table: str) -> str:
    return "sys.drcapture_users" if table == "USER$" else f"sys.{table.lower()}"


def _where(table: str) -> str:
    if table == "OBJ$":
        return f"t.owner# IN ({_OWNERS}) OR t.obj# IN ({_SYS_TABLES})"
    if table == "USER$":
        return "t.name IN ({owners}) OR t.user# = 0"
    if table == "TABSUBPART$":
        return (f"t.pobj# IN (SELECT p.obj# FROM sys.tabcompart$ AS OF SCN :scn p "
                f"WHERE p.bo# IN ({_OBJECTS}))")
    column = _OBJECT_COLUMN.get(table, "OBJ#").lower()
    return f"t.{column} IN ({_OBJECTS})"


def system_rows_sql(table: str) -> tuple[str, tuple[str, ...]]:
    """The statement reading one dictionary table's tracked columns with each row's ROWID
    (``{owners}`` and ``{tables}`` to be filled with bind names), and the columns in
    select-list order. USER$'s view has no SPARE1: it reads as NULL."""
    columns = tuple(c for c in TRACKED[table][1] if not (table == "USER$" and c == "SPARE1"))
    select = ", ".join(f"t.{c.lower()}" for c in columns)
    sql = (f"SELECT ROWIDTOCHAR(t.rowid), {select} FROM {_source(table)} AS OF SCN :scn t "
           f"WHERE {_where(table)}")
    return sql, columns


def table_binds() -> tuple[str, dict[str, str]]:
    """The ``{tables}`` bind list: the dictionary tables by name."""
    names = {f"t{i}": name for i, name in enumerate(DICTIONARY_TABLES)}
    return ", ".join(f":{k}" for k in names), names


def _text(value: Any) -> str | None:
    """A fetched value as SystemChange text (NUMBER may arrive as float or Decimal)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def system_rows(fetched: Mapping[str, Sequence[Sequence[Any]]]) -> SystemRows:
    """Rows per dictionary table (ROWID first, then :func:`system_rows_sql`'s columns)
    in the checkpoint naming SystemRows keeps."""
    sections: dict[str, list[dict[str, Any]]] = {}
    for table, rows in fetched.items():
        section, fields = TRACKED[table]
        _, columns = system_rows_sql(table)
        out = sections.setdefault(section, [])
        for rowid, *values in rows:
            row: dict[str, Any] = {ROW_ID: str(rowid)}
            for column, value in zip(columns, values, strict=True):
                name = fields[column]
                row[name] = field_value(name, _text(value))
            out.append(row)
    return SystemRows.from_sections(sections)
