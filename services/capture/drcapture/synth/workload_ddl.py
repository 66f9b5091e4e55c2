"""DDL in a workload: the SYS dictionary rows of the source database and what each DDL
statement does to them (which rows its recursive transaction inserts, updates and
deletes), plus the statement text and command Oracle logs in the 24.1 record.

The rows written are those of the dictionary tables capture tracks (OBJ$, TAB$, COL$,
USER$, CDEF$, CCOL$, TABPART$); a real DDL transaction also changes others (CON$, IND$,
ICOL$, SEG$, DEFERRED_STG$, DEPENDENCY$ …), which the writer does not model. Columns a
row change sets are the ones that define the table (docs/REDO_FORMAT.md, "Dictionary
changes in the redo"); Oracle's recursive updates of TAB$ list nearly every column of
the row (free23 0x239.00bc), the writer's list the ones that change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from drcommon.sqlcommand import SqlCommand

from drcapture.dictionary.model import Charsets, SystemChange
from drcapture.dictionary.system import SystemRows
from drcapture.synth.sys_layouts import SYS_TABLES
from drcapture.synth.workload import (
    AddColumn,
    AddPartition,
    CreateTable,
    DdlOp,
    DropColumn,
    DropTable,
    RenameColumn,
    RenameTable,
    Table,
    Truncate,
)
from drcapture.synth.workload_state import LOB_TYPES, WorkloadError, column_def
from drcapture.synth.writer_ops import RowAt
from drcapture.synth.writer_sys import SysRow, SysRowChange, SysRows, SysValues

SYS_USER: Final = 0
FIRST_USER: Final = 100
FIRST_CONSTRAINT: Final = 10000
OBJ_TYPE_INDEX: Final = 1
OBJ_TYPE_TABLE: Final = 2
OBJ_TYPE_TABLE_PARTITION: Final = 19  # OBJ$.TYPE# (utlmmigtbls.sql / dcore.bsq comment)
NAMESPACE_TABLE: Final = 1
NAMESPACE_INDEX: Final = 4
CDEF_PRIMARY_KEY: Final = 2
TAB_PROPERTY_PARTITIONED: Final = 0x20
TAB_PROPERTY_IOT: Final = 0x40
USERS_TS: Final = 4
AUDIT_NONE: Final = "-" * 38  # TAB$.AUDIT$ of a table without auditing (free23 0x239.00bc)
CHARSET_IDS: Final = {"AL32UTF8": 873, "AL16UTF16": 2000, "UTF8": 871, "WE8MSWIN1252": 178,
                      "WE8ISO8859P1": 31, "US7ASCII": 1}
PARTITION_STEP: Final = 10  # TABPART$.PART# of the n-th partition: 10·n


def _date(time: datetime) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def _n(value: int | None) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class DdlResult:
    """What one DDL statement does: its text, command and object, the dictionary row
    changes of its transaction, and the table after it (None once dropped)."""

    sql: str
    command: int
    obj: int
    changes: tuple[SysRowChange, ...]
    table: Table | None


class SourceDictionary:
    """The source database's SYS rows: the dictionary tables' own definitions, the
    users, and every table of the workload; :meth:`apply` runs one DDL statement."""

    def __init__(self, charsets: Charsets, tables: Sequence[Table], time: datetime) -> None:
        self.charsets = charsets
        self.rows = SysRows()
        self.users: dict[str, int] = {"SYS": SYS_USER}
        self.next_con = FIRST_CONSTRAINT
        self._sys_tables(time)
        for owner in sorted({t.owner for t in tables} - {"SYS"}):
            self._user(owner)
        for table in tables:
            self._create(table, time)

    # -- building rows --------------------------------------------------------------------
    def _sys_tables(self, time: datetime) -> None:
        """OBJ$, TAB$ and COL$ rows of the dictionary tables themselves (their ROWIDs and
        layouts as in the free23 checkpoint)."""
        self.rows.insert("USER$", {"USER#": "0", "NAME": "SYS", "TYPE#": "1"})
        for table in SYS_TABLES.values():
            self._put("OBJ$", table.obj_rowid, {
                "OBJ#": str(table.obj), "DATAOBJ#": str(table.data_obj), "OWNER#": "0",
                "NAME": table.name, "NAMESPACE": "1", "TYPE#": str(OBJ_TYPE_TABLE),
                "CTIME": _date(time), "MTIME": _date(time), "STIME": _date(time),
                "STATUS": "1", "FLAGS": str(0x410000)})
            self._put("TAB$", table.tab_rowid, {
                "OBJ#": str(table.obj), "DATAOBJ#": str(table.data_obj), "TS#": "0",
                "CLUCOLS": _n(table.clu_cols or None), "COLS": str(len(table.columns)),
                "PROPERTY": str(0x400 if table.clu_cols else 0), "FLAGS": "529"})
            for seg, (name, type_code, length, col_no) in enumerate(table.columns, 1):
                self.rows.insert("COL$", {
                    "OBJ#": str(table.obj), "COL#": str(col_no), "SEGCOL#": str(seg),
                    "INTCOL#": str(col_no), "NAME": name, "TYPE#": str(type_code),
                    "LENGTH": str(length), "NULL$": "0", "PROPERTY": "0"})

    def _put(self, name: str, rowid: str, values: SysValues) -> None:
        """A row at a fixed ROWID (the dictionary tables' own, from the checkpoint)."""
        self.rows.rows.setdefault(name, {})[rowid] = SysRow(name, rowid, RowAt(0, 0, 0),
                                                            dict(values))

    def _user(self, owner: str) -> int:
        user = self.users.get(owner)
        if user is None:
            user = self.users[owner] = FIRST_USER + len(self.users) - 1
            self.rows.insert("USER$", {"USER#": str(user), "NAME": owner, "TYPE#": "1"})
        return user

    def _column_values(self, table: Table, index: int) -> SysValues:
        col = column_def(table, index)
        cs = self.charsets.national if col.charset_form == 2 else self.charsets.database
        return {
            "OBJ#": str(table.obj), "COL#": str(col.col_no), "SEGCOL#": str(col.seg_col),
            "SEGCOLLENGTH": str(col.length), "OFFSET": "0", "NAME": col.name,
            "TYPE#": str(col.type_code), "LENGTH": str(col.length), "FIXEDSTORAGE": "0",
            "PRECISION#": _n(col.precision), "SCALE": _n(col.scale),
            "NULL$": "0" if col.nullable else "1", "INTCOL#": str(col.col_no),
            "PROPERTY": "0", "CHARSETID": str(CHARSET_IDS.get(cs, 0)) if col.charset_form
            else "0", "CHARSETFORM": str(col.charset_form)}

    def _create(self, table: Table, time: datetime) -> list[SysRowChange]:
        owner = self._user(table.owner)
        partitioned = bool(table.partitions)
        out = [self.rows.insert("OBJ$", {
            "OBJ#": str(table.obj),
            "DATAOBJ#": None if table.iot or partitioned else str(table.data_object),
            "OWNER#": str(owner), "NAME": table.name, "NAMESPACE": str(NAMESPACE_TABLE),
            "TYPE#": str(OBJ_TYPE_TABLE), "CTIME": _date(time), "MTIME": _date(time),
            "STIME": _date(time), "STATUS": "1", "FLAGS": "0"})]
        if table.iot_index is not None:
            out.append(self.rows.insert("OBJ$", {
                "OBJ#": str(table.iot_index), "DATAOBJ#": str(table.iot_index),
                "OWNER#": str(owner), "NAME": f"SYS_IOT_TOP_{table.obj}",
                "NAMESPACE": str(NAMESPACE_INDEX), "TYPE#": str(OBJ_TYPE_INDEX),
                "CTIME": _date(time), "MTIME": _date(time), "STIME": _date(time),
                "STATUS": "1", "FLAGS": "0"}))
        count = str(len(table.columns))
        prop = (TAB_PROPERTY_IOT if table.iot else 0) | (
            TAB_PROPERTY_PARTITIONED if partitioned else 0)
        out.append(self.rows.insert("TAB$", {
            "OBJ#": str(table.obj),
            "DATAOBJ#": None if table.iot or partitioned else str(table.data_object),
            "TS#": str(USERS_TS), "FILE#": "0", "BLOCK#": "0", "COLS": count,
            "PCTFREE$": "10", "PCTUSED$": "40", "INITRANS": "1", "MAXTRANS": "255",
            "FLAGS": "1", "AUDIT$": AUDIT_NONE, "INTCOLS": count, "KERNELCOLS": count,
            "PROPERTY": str(prop), "TRIGFLAG": "0"}))
        out.extend(self.rows.insert("COL$", self._column_values(table, i))
                   for i in range(len(table.columns)))
        if table.pk:
            out.extend(self._primary_key(table))
        for number, (name, obj) in enumerate(table.partitions, 1):
            out.extend(self._partition(table, name, obj, number, time))
        return out

    def _primary_key(self, table: Table) -> list[SysRowChange]:
        con = self.next_con
        self.next_con += 1
        names = table.column_names()
        out = [self.rows.insert("CDEF$", {
            "OBJ#": str(table.obj), "CON#": str(con), "COLS": str(len(table.pk)),
            "TYPE#": str(CDEF_PRIMARY_KEY), "ENABLED": "1", "INTCOLS": str(len(table.pk)),
            "DEFER": "0"})]
        for pos, name in enumerate(table.pk, 1):
            col = str(names.index(name) + 1)
            out.append(self.rows.insert("CCOL$", {
                "OBJ#": str(table.obj), "CON#": str(con), "COL#": col, "POS#": str(pos),
                "INTCOL#": col}))
        return out

    def _partition(self, table: Table, name: str, obj: int, number: int,
                   time: datetime) -> list[SysRowChange]:
        return [
            self.rows.insert("OBJ$", {
                "OBJ#": str(obj), "DATAOBJ#": str(obj), "OWNER#": str(self.users[table.owner]),
                "NAME": table.name, "NAMESPACE": str(NAMESPACE_TABLE), "SUBNAME": name,
                "TYPE#": str(OBJ_TYPE_TABLE_PARTITION), "CTIME": _date(time),
                "MTIME": _date(time), "STIME": _date(time), "STATUS": "1", "FLAGS": "0"}),
            self.rows.insert("TABPART$", {
                "OBJ#": str(obj), "DATAOBJ#": str(obj), "BO#": str(table.obj),
                "PART#": str(PARTITION_STEP * number), "TS#": str(USERS_TS), "FILE#": "0",
                "BLOCK#": "0", "PCTFREE$": "10", "PCTUSED$": "40", "INITRANS": "1",
                "MAXTRANS": "255", "FLAGS": "0"}),
        ]

    # -- the statements -------------------------------------------------------------------
    def _obj_row(self, table: Table) -> list[SysRow]:
        return self.rows.find("OBJ$", **{"OBJ#": str(table.obj)})

    def _touch(self, table: Table, time: datetime) -> SysRowChange:
        """OBJ$: the table's DDL time (MTIME) moves."""
        return self.rows.update(self._obj_row(table)[0], {"MTIME": _date(time)})

    def _tab_counts(self, table: Table) -> SysRowChange:
        count = str(len(table.columns))
        row = self.rows.find("TAB$", **{"OBJ#": str(table.obj)})[0]
        return self.rows.update(row, {"COLS": count, "INTCOLS": count, "KERNELCOLS": count})

    def apply(self, op: DdlOp, table: Table | None, time: datetime) -> DdlResult:
        """Run one DDL statement on ``table`` (the current one; None for CREATE)."""
        if isinstance(op, CreateTable):
            t = op.table
            cols = ", ".join(f"{c.name} {column_def(t, i).type_name}"
                             for i, c in enumerate(t.columns))
            pk = f", PRIMARY KEY ({', '.join(t.pk)})" if t.pk else ""
            changes = self._create(t, time)
            return DdlResult(f"CREATE TABLE {t.owner}.{t.name} ({cols}{pk})",
                             SqlCommand.CREATE_TABLE, t.obj, tuple(changes), t)
        assert table is not None
        return self._alter(op, table, time)

    def _alter(self, op: DdlOp, table: Table, time: datetime) -> DdlResult:
        full = f"{table.owner}.{table.name}"
        if isinstance(op, DropTable):
            changes = [self.rows.delete(r) for name in ("CCOL$", "CDEF$", "COL$", "TAB$")
                       for r in self.rows.find(name, **{"OBJ#": str(table.obj)})]
            changes += [self.rows.delete(r) for r in self.rows.find(
                "TABPART$", **{"BO#": str(table.obj)})]
            objs = {str(table.obj), *(str(o) for _, o in table.partitions)}
            if table.iot_index is not None:
                objs.add(str(table.iot_index))
            changes += [self.rows.delete(r) for o in sorted(objs)
                        for r in self.rows.find("OBJ$", **{"OBJ#": o})]
            return DdlResult(f"DROP TABLE {full} PURGE", SqlCommand.DROP_TABLE, table.obj,
                             tuple(changes), None)
        if isinstance(op, RenameTable):
            change = self.rows.update(self._obj_row(table)[0], {"NAME": op.new_name,
                                                               "MTIME": _date(time)})
            return DdlResult(f"ALTER TABLE {full} RENAME TO {op.new_name}",
                             SqlCommand.ALTER_TABLE, table.obj, (change,),
                             replace(table, name=op.new_name))
        if isinstance(op, Truncate):
            return self._truncate(op, table, full)
        if isinstance(op, AddPartition):
            if not table.partitions:
                raise WorkloadError(f"{full} is not partitioned: no partition to add")
            new = replace(table, partitions=(*table.partitions, (op.name, op.obj)))
            changes = [*self._partition(table, op.name, op.obj, len(new.partitions), time),
                       self._touch(table, time)]
            return DdlResult(f"ALTER TABLE {full} ADD PARTITION {op.name}",
                             SqlCommand.ALTER_TABLE, table.obj, tuple(changes), new)
        return self._columns(op, table, time)

    def _truncate(self, op: Truncate, table: Table, full: str) -> DdlResult:
        """TRUNCATE: no column changes, a new data object in OBJ$ and TAB$
        (utlmmigtbls.sql on TAB$.DATAOBJ#: "updated in a space transaction during
        truncate")."""
        if table.iot or table.partitions:
            raise WorkloadError(f"TRUNCATE of {full}: only heap tables are written")
        new_obj = str(op.new_data_obj)
        changes = (
            self.rows.update(self._obj_row(table)[0], {"DATAOBJ#": new_obj}),
            self.rows.update(self.rows.find("TAB$", **{"OBJ#": str(table.obj)})[0],
                             {"DATAOBJ#": new_obj}),
        )
        return DdlResult(f"TRUNCATE TABLE {full}", SqlCommand.TRUNCATE_TABLE, table.obj,
                         changes, replace(table, data_obj=op.new_data_obj))

    def _columns(self, op: DdlOp, table: Table, time: datetime) -> DdlResult:
        full = f"{table.owner}.{table.name}"
        if table.iot or table.compressed:
            raise WorkloadError(f"column DDL on {full}: only plain heap tables are written")
        if isinstance(op, AddColumn):
            new = replace(table, columns=(*table.columns, op.column))
            added = self.rows.insert("COL$", self._column_values(new, len(table.columns)))
            changes = [added, self._tab_counts(new), self._touch(table, time)]
            type_name = column_def(new, len(table.columns)).type_name
            return DdlResult(f"ALTER TABLE {full} ADD ({op.column.name} {type_name})",
                             SqlCommand.ALTER_TABLE, table.obj, tuple(changes), new)
        if isinstance(op, RenameColumn):
            row = self._col_row(table, op.old)
            cols = tuple(replace(c, name=op.new) if c.name == op.old else c
                         for c in table.columns)
            pk = tuple(op.new if n == op.old else n for n in table.pk)
            changes = [self.rows.update(row, {"NAME": op.new}), self._touch(table, time)]
            return DdlResult(f"ALTER TABLE {full} RENAME COLUMN {op.old} TO {op.new}",
                             SqlCommand.ALTER_TABLE, table.obj, tuple(changes),
                             replace(table, columns=cols, pk=pk))
        assert isinstance(op, DropColumn)
        if op.name in table.pk:
            raise WorkloadError(f"{full}.{op.name} is in the primary key: not dropped")
        index = table.column_names().index(op.name) if op.name in table.column_names() else -1
        if index < 0 or table.columns[index].type_code in LOB_TYPES:
            raise WorkloadError(f"{full} has no column {op.name} the writer can drop")
        new = replace(table, columns=tuple(c for c in table.columns if c.name != op.name))
        changes = [self.rows.delete(self._col_row(table, op.name))]
        for later in table.columns[index + 1:]:
            number = str(new.column_names().index(later.name) + 1)
            changes.append(self.rows.update(self._col_row(table, later.name), {
                "COL#": number, "SEGCOL#": number, "INTCOL#": number}))
        changes += [self._tab_counts(new), self._touch(table, time)]
        return DdlResult(f"ALTER TABLE {full} DROP COLUMN {op.name}", SqlCommand.ALTER_TABLE,
                         table.obj, tuple(changes), new)

    def _col_row(self, table: Table, name: str) -> SysRow:
        found = self.rows.find("COL$", **{"OBJ#": str(table.obj), "NAME": name})
        if not found:
            raise WorkloadError(f"{table.owner}.{table.name} has no column {name}")
        return found[0]

    # -- export ---------------------------------------------------------------------------
    def system_rows(self) -> SystemRows:
        """The rows in capture's tracking form (checkpoint sections), for the snapshot."""
        system = SystemRows()
        for name, rows in sorted(self.rows.rows.items()):
            for row in rows.values():
                system.apply(SystemChange(name, "insert", row.rowid, dict(row.values)))
        return system

