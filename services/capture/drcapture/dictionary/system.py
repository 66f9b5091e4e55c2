"""The rows of the SYS dictionary tables, kept current from the redo (issue 15).

A DDL statement runs as a recursive transaction that inserts, updates and deletes rows
of OBJ$, TAB$, COL$, CDEF$, CCOL$, TABPART$ … Capture reads those row changes
(:class:`~drcapture.dictionary.model.SystemChange`) and, at the transaction's commit,
applies them to :class:`SystemRows`, the rows by ROWID; the dictionary valid from that
commit on is derived from the rows (:func:`~drcapture.dictionary.derive.derive_dictionary`,
the same derivation a checkpoint file goes through). Each committed set of changes is a
:class:`DictionaryChangeSet`, the journal entry that lets a dictionary be rebuilt at any
SCN (:func:`rows_at`).

Rows are kept in OpenLogReplicator's checkpoint naming (section ``sys-col``, fields
``obj``, ``seg-col`` …), the form both our sources of rows use: the checkpoint file and
the ``system`` object of our own snapshot.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from drcommon.errors import ParseError

from drcapture.dictionary.derive import (
    DatabaseFacts,
    derive_dictionary,
    partition_parents,
)
from drcapture.dictionary.model import Dictionary, SystemChange

Row = dict[str, Any]

INSERT: Final = "insert"
UPDATE: Final = "update"
DELETE: Final = "delete"

# Per dictionary table: its checkpoint section and the columns tracked, by column name
# (as COL$ names them, dcore.bsq) -> the section's field. Columns not listed here (OBJ$
# CTIME, TAB$ ROWCNT, COL$ DEFAULT$ …) do not shape the dictionary capture decodes with:
# a change to them is ignored. POS# of CCOL$ is not in OLR's checkpoint; it is tracked
# as ``pos`` (the derivation orders a primary key by it when present).
TRACKED: Final[dict[str, tuple[str, dict[str, str]]]] = {
    "OBJ$": ("sys-obj", {"OBJ#": "obj", "DATAOBJ#": "data-obj", "OWNER#": "owner",
                         "NAME": "name", "TYPE#": "type", "FLAGS": "flags"}),
    "TAB$": ("sys-tab", {"OBJ#": "obj", "DATAOBJ#": "data-obj", "TS#": "ts",
                         "CLUCOLS": "clu-cols", "FLAGS": "flags", "PROPERTY": "property"}),
    "COL$": ("sys-col", {"OBJ#": "obj", "COL#": "col", "SEGCOL#": "seg-col",
                         "INTCOL#": "int-col", "NAME": "name", "TYPE#": "type",
                         "LENGTH": "length", "PRECISION#": "precision", "SCALE": "scale",
                         "CHARSETFORM": "charset-form", "CHARSETID": "charset-id",
                         "NULL$": "null", "PROPERTY": "property"}),
    "USER$": ("sys-user", {"USER#": "user", "NAME": "name", "SPARE1": "spare1"}),
    "CDEF$": ("sys-cdef", {"CON#": "con", "OBJ#": "obj", "TYPE#": "type"}),
    "CCOL$": ("sys-ccol", {"CON#": "con", "OBJ#": "obj", "INTCOL#": "int-col",
                           "POS#": "pos", "SPARE1": "spare1"}),
    "TABPART$": ("sys-tabpart", {"OBJ#": "obj", "DATAOBJ#": "data-obj", "BO#": "bo"}),
    "TABSUBPART$": ("sys-tabsubpart", {"OBJ#": "obj", "DATAOBJ#": "data-obj",
                                       "POBJ#": "p-obj"}),
    "TABCOMPART$": ("sys-tabcompart", {"OBJ#": "obj", "DATAOBJ#": "data-obj", "BO#": "bo"}),
    "LOB$": ("sys-lob", {"OBJ#": "obj", "COL#": "col", "INTCOL#": "int-col",
                         "LOBJ#": "l-obj", "TS#": "ts"}),
    "DEFERRED_STG$": ("sys-deferredstg", {"OBJ#": "obj", "FLAGS_STG": "flags-stg"}),
}
TEXT_FIELDS: Final = frozenset({"name"})
# NUMBER columns wider than 64 bits, which the checkpoint stores as [low, high] words.
WIDE_FIELDS: Final = frozenset({"flags", "property", "spare1", "flags-stg"})
WORD: Final = 1 << 64
ROW_ID: Final = "row-id"
SECTIONS: Final = tuple(section for section, _ in TRACKED.values())


def field_value(name: str, text: str | None) -> Any:
    """A column's value (text, as a :class:`SystemChange` carries it) in checkpoint form."""
    if text is None:
        return None
    if name in TEXT_FIELDS:
        return text
    try:
        number = int(text)
    except ValueError as exc:
        raise ParseError("dictionary column value is not an integer", field=name,
                         value=text) from exc
    if name in WIDE_FIELDS:
        return [number % WORD, number // WORD]
    return number


@dataclass(slots=True)
class SystemRows:
    """The SYS tables' rows by ROWID: ``sections[section][rowid]`` is one row's fields
    (checkpoint naming, without ``row-id``). Sections capture does not track (``sys-ts``,
    ``sys-ecol`` …) are kept as read, so a snapshot carries them on."""

    sections: dict[str, dict[str, Row]] = field(default_factory=dict)

    @classmethod
    def from_sections(cls, data: Mapping[str, Any]) -> SystemRows:
        """Rows from a checkpoint document or a snapshot's ``system`` object: every
        ``sys-…`` section, a list of rows each with its ``row-id``."""
        sections: dict[str, dict[str, Row]] = {}
        for name, rows in data.items():
            if not name.startswith("sys-"):
                continue
            if not isinstance(rows, list):
                raise ParseError("dictionary section is not a list", section=name)
            by_id: dict[str, Row] = {}
            for row in rows:
                rowid = str(row.get(ROW_ID, ""))
                if not rowid or rowid in by_id:
                    raise ParseError("dictionary row without a ROWID, or twice", section=name,
                                     rowid=rowid)
                by_id[rowid] = {k: copy.deepcopy(v) for k, v in row.items() if k != ROW_ID}
            sections[name] = by_id
        return cls(sections)

    def to_sections(self) -> dict[str, list[Row]]:
        """The rows as checkpoint sections (``row-id`` first, rows by ROWID)."""
        return {name: [{ROW_ID: rowid, **copy.deepcopy(row)} for rowid, row in sorted(rows.items())]
                for name, rows in sorted(self.sections.items())}

    def copy(self) -> SystemRows:
        """An independent copy (applying changes to it leaves this one as it is)."""
        return SystemRows(copy.deepcopy(self.sections))

    def row(self, table: str, rowid: str) -> Row | None:
        """The tracked row of a dictionary table at ``rowid``, if any."""
        tracked = TRACKED.get(table)
        return None if tracked is None else self.sections.get(tracked[0], {}).get(rowid)

    def apply(self, change: SystemChange) -> bool:
        """Apply one committed row change; False when its table is not one the dictionary
        depends on (TS$, IND$ …: the caller counts those). A duplicate ROWID on insert or
        an unknown one on update or delete is a :class:`ParseError` naming it."""
        tracked = TRACKED.get(change.table)
        if tracked is None:
            return False
        section, fields = tracked
        rows = self.sections.setdefault(section, {})
        values = {fields[c]: field_value(fields[c], v) for c, v in change.values.items()
                  if c in fields}
        where = {"table": change.table, "rowid": change.rowid, "op": change.op}
        if change.op == INSERT:
            if change.rowid in rows:
                raise ParseError("dictionary insert of a ROWID already present", **where)
            rows[change.rowid] = values
        elif change.op == UPDATE:
            row = rows.get(change.rowid)
            if row is None:
                raise ParseError("dictionary update of an unknown ROWID", **where)
            row.update(values)
        elif change.op == DELETE:
            if rows.pop(change.rowid, None) is None:
                raise ParseError("dictionary delete of an unknown ROWID", **where)
        else:
            raise ParseError("dictionary change with an unknown operation", **where)
        return True

    def apply_all(self, entries: Iterable[DictionaryChangeSet]) -> None:
        """Apply journal entries in the order given (commit order)."""
        for entry in entries:
            for change in entry.changes:
                self.apply(change)

    def max_obj(self) -> int:
        """The highest object number among the ``sys-obj`` rows (0 with none)."""
        return max((int(r["obj"]) for r in self.sections.get("sys-obj", {}).values()),
                   default=0)

    def dictionary(self, facts: DatabaseFacts) -> Dictionary:
        """The dictionary these rows define (the same derivation as a checkpoint file's)."""
        return derive_dictionary(self.to_sections(), facts)


@dataclass(frozen=True, slots=True)
class DictionaryChangeSet:
    """The dictionary changes of one committed DDL transaction: a journal entry."""

    scn: int
    xid: str
    changes: tuple[SystemChange, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form."""
        return {"scn": self.scn, "xid": self.xid,
                "changes": [{"table": c.table, "op": c.op, "rowid": c.rowid,
                             "values": dict(c.values)} for c in self.changes]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DictionaryChangeSet:
        """The entry :meth:`to_dict` wrote."""
        try:
            changes = tuple(
                SystemChange(table=str(c["table"]), op=str(c["op"]), rowid=str(c["rowid"]),
                             values={str(k): None if v is None else str(v)
                                     for k, v in c["values"].items()})
                for c in data["changes"])
            return cls(scn=int(data["scn"]), xid=str(data["xid"]), changes=changes)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ParseError("not a dictionary journal entry") from exc


def rows_at(base: SystemRows, entries: Sequence[DictionaryChangeSet], scn: int) -> SystemRows:
    """The rows valid at ``scn``: ``base`` (left unchanged) with every entry committed at
    or before it applied, in commit order."""
    rows = base.copy()
    rows.apply_all(sorted((e for e in entries if e.scn <= scn), key=lambda e: e.scn))
    return rows


# Per dictionary table: the column naming the table object a row belongs to (for a
# partition row its parent: a composite partition's table, a subpartition's partition).
_OBJECT_COLUMN: Final[dict[str, str]] = {
    "OBJ$": "OBJ#", "TAB$": "OBJ#", "COL$": "OBJ#", "CDEF$": "OBJ#", "CCOL$": "OBJ#",
    "LOB$": "OBJ#", "DEFERRED_STG$": "OBJ#", "TABPART$": "BO#", "TABCOMPART$": "BO#",
    "TABSUBPART$": "POBJ#",
}
_PARENT_COLUMN: Final = {"TABPART$": "BO#", "TABCOMPART$": "BO#", "TABSUBPART$": "POBJ#"}


def _value(change: SystemChange, column: str, known: Row | None) -> int | None:
    """A NUMBER column of the changed row: from the change, else from the tracked row."""
    text = change.values.get(column)
    if text is not None:
        return int(text)
    fields = TRACKED[change.table][1]
    value = None if known is None else known.get(fields[column])
    return None if value is None else int(value)


def touched_tables(changes: Iterable[SystemChange], rows: SystemRows | None = None) -> set[int]:
    """The table objects a set of dictionary changes affects (for cache invalidation and
    DDL messages): the object a row belongs to, taken from the change's values or, for
    columns the change does not carry, from the tracked row at its ROWID (pass the rows
    as they were before the changes, so a deleted row is still there). A partition's or
    subpartition's object resolves to its table, through the rows' partition sections and
    the partitions the changes themselves add."""
    changes = list(changes)
    parents = partition_parents(rows.to_sections()) if rows is not None else {}
    known = {id(c): rows.row(c.table, c.rowid) if rows is not None else None for c in changes}
    for change in changes:
        column = _PARENT_COLUMN.get(change.table)
        if column is None:
            continue
        obj, up = _value(change, "OBJ#", known[id(change)]), _value(
            change, column, known[id(change)])
        if obj is not None and up is not None:
            parents[obj] = up
    found: set[int] = set()
    for change in changes:
        column = _OBJECT_COLUMN.get(change.table)
        obj = None if column is None else _value(change, column, known[id(change)])
        seen: set[int] = set()
        while obj is not None and obj in parents and obj not in seen:
            seen.add(obj)
            obj = parents[obj]
        if obj is not None:
            found.add(obj)
    return found
