"""What one DDL statement becomes on the DR database (pure).

Three outcomes, each explicit and audited by the caller:

* :class:`Execute` — statements to run, in the same database transaction as the
  stream's checkpoint where the target's DDL is transactional (PostgreSQL, SQLite);
* :class:`NoEffect` — nothing to run on this target, with the reason (a grant on
  PostgreSQL, a partition added to a table the DR copy does not partition);
* :class:`Untranslatable` — apply cannot reproduce it exactly: the stream stops right
  before it, the reason saying what a person does (apply it by hand, then
  ``drapply ddl done``).

Oracle targets run the statement as captured (the DR database mirrors the source's
objects), for the kinds of the allowlist. PostgreSQL and SQLite get a translation of
the kinds that shape data — tables, columns, keys, indexes — with the same type
mapping apply uses when it creates a table. NOT NULL, CHECK and FOREIGN KEY are not
kept on those targets: the source enforces them, and the DR copy holds its rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from drcommon.model import ColumnInfo

from drapply.adapters.sqlbase import qualified, quote
from drapply.ddl.statement import (
    AddColumns,
    AddConstraint,
    Column,
    Comment,
    ConstraintKind,
    CreateIndex,
    CreateTable,
    DdlKind,
    DropColumns,
    DropConstraint,
    DropIndex,
    DropTable,
    Grant,
    ModifyColumns,
    Name,
    Other,
    PartitionChange,
    RenameColumn,
    RenameTable,
    Statement,
    TruncateTable,
)
from drapply.naming import Naming, TableRef
from drapply.settings import TargetKind
from drapply.typemap import Family, classify


@dataclass(frozen=True, slots=True)
class Execute:
    """Run these statements, in order."""

    statements: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NoEffect:
    """Nothing to run on this target; ``reason`` goes to the log and the audit row."""

    reason: str


@dataclass(frozen=True, slots=True)
class Untranslatable:
    """Apply cannot reproduce the statement exactly; the stream stops before it."""

    reason: str


Plan = Execute | NoEffect | Untranslatable


class DdlTarget(Protocol):
    """What translation needs from a target adapter."""

    def column_type(self, info: ColumnInfo) -> str: ...

    def create_table_sql(self, ref: TableRef, defs: list[str]) -> str: ...


@dataclass(frozen=True, slots=True)
class DdlOptions:
    """Operator choices (``[apply]`` settings)."""

    grants: bool = False  # run GRANT/REVOKE on an Oracle target
    oracle_other: bool = False  # run statements outside the allowlist on an Oracle target


# Statements with nothing to do on PostgreSQL/SQLite: code, synonyms, sequences and
# views live on Oracle targets; statistics and storage change no row.
_NO_EFFECT_ELSEWHERE = {
    "CREATE SEQUENCE", "ALTER SEQUENCE", "DROP SEQUENCE", "CREATE SYNONYM",
    "CREATE PUBLIC SYNONYM", "DROP SYNONYM", "DROP PUBLIC SYNONYM", "CREATE VIEW",
    "CREATE OR REPLACE VIEW", "CREATE FORCE VIEW", "CREATE OR REPLACE FORCE VIEW",
    "DROP VIEW", "ALTER VIEW", "ANALYZE", "ALTER INDEX", "CREATE BITMAP INDEX",
    "CREATE INDEX ON EXPRESSION", "CREATE INDEX DESC", "ALTER TABLE MOVE",
    "ALTER TABLE ENABLE", "ALTER TABLE DISABLE", "ALTER TABLE ADD SUPPLEMENTAL LOG",
    "ALTER TABLE DROP SUPPLEMENTAL", "ALTER TABLE DROP UNUSED COLUMNS",
    "ALTER TABLE SHRINK", "ALTER TABLE ALLOCATE", "ALTER TABLE DEALLOCATE",
    "ALTER TABLE PARALLEL", "ALTER TABLE NOPARALLEL", "ALTER TABLE LOGGING",
    "ALTER TABLE NOLOGGING", "ALTER TABLE CACHE", "ALTER TABLE NOCACHE",
    "ALTER TABLE COMPRESS", "ALTER TABLE NOCOMPRESS", "ALTER TABLE MODIFY LOB",
    "ALTER TABLE MODIFY CONSTRAINT", "CREATE GLOBAL TEMPORARY TABLE",
    "CREATE PRIVATE TEMPORARY TABLE", "ALTER TABLE DROP UNIQUE",
}  # fmt: skip
_NO_EFFECT_PREFIXES = (
    "CREATE PROCEDURE", "CREATE FUNCTION", "CREATE PACKAGE", "CREATE TRIGGER",
    "CREATE TYPE", "CREATE OR REPLACE PROCEDURE", "CREATE OR REPLACE FUNCTION",
    "CREATE OR REPLACE PACKAGE", "CREATE OR REPLACE TRIGGER", "CREATE OR REPLACE TYPE",
    "CREATE OR REPLACE EDITIONABLE", "CREATE OR REPLACE NONEDITIONABLE",
    "DROP PROCEDURE", "DROP FUNCTION", "DROP PACKAGE", "DROP TRIGGER", "DROP TYPE",
    "ALTER PROCEDURE", "ALTER FUNCTION", "ALTER PACKAGE", "ALTER TRIGGER", "ALTER TYPE",
    "CREATE MATERIALIZED VIEW", "DROP MATERIALIZED VIEW", "ALTER MATERIALIZED VIEW",
)  # fmt: skip
# Partition actions that move no row out of the table (or into it).
_ROWS_STAY = {"ADD", "SPLIT", "MERGE", "MOVE", "MODIFY", "RENAME", "COALESCE", "SET"}
_ORACLE_ALLOWED = {
    DdlKind.ADD_COLUMN, DdlKind.DROP_COLUMN, DdlKind.RENAME_COLUMN, DdlKind.MODIFY_COLUMN,
    DdlKind.CREATE_TABLE, DdlKind.DROP_TABLE, DdlKind.RENAME_TABLE, DdlKind.TRUNCATE_TABLE,
    DdlKind.CREATE_INDEX, DdlKind.DROP_INDEX, DdlKind.ADD_CONSTRAINT,
    DdlKind.DROP_CONSTRAINT, DdlKind.PARTITION, DdlKind.COMMENT,
}  # fmt: skip
_TEXT_FAMILIES = {Family.TEXT, Family.CLOB, Family.NCLOB}
_NUMBER_FAMILIES = {Family.NUMBER, Family.BINARY_FLOAT, Family.BINARY_DOUBLE}
BY_HAND = "apply it on the DR database by hand, then run 'drapply ddl done'"


def translate(
    statement: Statement,
    text: str,
    kind: TargetKind,
    target: DdlTarget,
    naming: Naming,
    options: DdlOptions,
) -> Plan:
    """The plan for one captured DDL statement (``text`` as captured) on ``kind``."""
    if kind is TargetKind.ORACLE:
        return _oracle(statement, text, naming, options)
    return _Sql(kind, target, naming).plan(statement)


def _oracle(statement: Statement, text: str, naming: Naming, options: DdlOptions) -> Plan:
    """Oracle mirrors the source: the captured text, where no rename changes its names."""
    if isinstance(statement, Grant):
        if not options.grants:
            return NoEffect("grants are not replicated (apply.ddl_grants is off)")
    elif statement.kind not in _ORACLE_ALLOWED and not options.oracle_other:
        return Untranslatable(
            f"{_what(statement)} is outside the DDL allowlist (set apply.ddl_oracle_other "
            f"to run such statements); {BY_HAND}"
        )
    for name in _names(statement):
        ref = naming.table(name.owner, name.name)
        if (ref.schema, ref.table) != (name.owner, name.name):
            return Untranslatable(
                f"{name} is renamed on the DR database ({ref}) and the statement names it; "
                + BY_HAND
            )
    return Execute((text,))


def _names(statement: Statement) -> list[Name]:
    """The tables a statement names (for renames on Oracle targets)."""
    table = getattr(statement, "table", None)
    return [table] if isinstance(table, Name) else []


def _what(statement: Statement) -> str:
    return statement.words if isinstance(statement, Other) else statement.kind.value


class _Sql:
    """Translation for PostgreSQL and SQLite."""

    def __init__(self, kind: TargetKind, target: DdlTarget, naming: Naming) -> None:
        self.kind = kind
        self.target = target
        self.naming = naming
        self.sqlite = kind is TargetKind.SQLITE
        # PostgreSQL makes column changes repeatable (a replay runs them again); SQLite
        # has no such clause, and the runner accepts its "already done" errors instead.
        self.if_exists = "" if self.sqlite else "IF EXISTS "
        self.if_not_exists = "" if self.sqlite else "IF NOT EXISTS "

    def plan(self, statement: Statement) -> Plan:
        handlers: dict[type, Callable[[object], Plan]] = {
            AddColumns: self.add_columns,
            DropColumns: self.drop_columns,
            RenameColumn: self.rename_column,
            ModifyColumns: self.modify_columns,
            CreateTable: self.create_table,
            DropTable: self.drop_table,
            RenameTable: self.rename_table,
            TruncateTable: self.truncate,
            CreateIndex: self.create_index,
            DropIndex: self.drop_index,
            AddConstraint: self.add_constraint,
            DropConstraint: self.drop_constraint,
            PartitionChange: self.partition,
            Comment: self.comment,
            Grant: lambda _: NoEffect("grants belong to the source's users"),
            Other: self.other,
        }
        return handlers[type(statement)](statement)

    # -- names ------------------------------------------------------------------------------
    def ref(self, name: Name) -> TableRef:
        return self.naming.table(name.owner, name.name)

    def column(self, table: Name, column: str) -> str:
        return quote(self.naming.column(table.owner, table.name, column))

    def index(self, name: Name, table: TableRef) -> str:
        """An index name: schema-qualified on SQLite, bare on PostgreSQL (an index lives
        in its table's schema there)."""
        folded = quote(self.naming.identifier(name.name))
        return f"{quote(table.schema)}.{folded}" if self.sqlite else folded

    # -- columns ----------------------------------------------------------------------------
    def add_columns(self, statement: object) -> Plan:
        assert isinstance(statement, AddColumns)
        table = qualified(self.ref(statement.table))
        out = []
        for column in statement.columns:
            assert column.info is not None
            definition = f"{self.column(statement.table, column.name)} " + self.target.column_type(
                column.info
            )
            default = self.default(column)
            if isinstance(default, Untranslatable):
                return default
            out.append(f"ALTER TABLE {table} ADD COLUMN {self.if_not_exists}{definition}{default}")
        return Execute(tuple(out))

    def default(self, column: Column) -> str | Untranslatable:
        """A DEFAULT clause that gives the rows already there the value Oracle gave them
        (adding a column with a default writes no row change to the redo)."""
        if column.default_sql is None:
            return ""
        literal = column.default
        if literal is not None and literal.text is None:
            return ""
        family = classify(column.info).family
        if literal is not None and literal.quoted and family in _TEXT_FAMILIES:
            return " DEFAULT '" + literal.text.replace("'", "''") + "'"  # type: ignore[union-attr]
        if literal is not None and not literal.quoted and family in _NUMBER_FAMILIES:
            return f" DEFAULT {literal.text}"
        return Untranslatable(
            f"column {column.name} is added with DEFAULT {column.default_sql}: the rows "
            f"already in the table get a value the redo does not carry; {BY_HAND}"
        )

    def drop_columns(self, statement: object) -> Plan:
        assert isinstance(statement, DropColumns)
        table = qualified(self.ref(statement.table))
        return Execute(tuple(
            f"ALTER TABLE {table} DROP COLUMN {self.if_exists}{self.column(statement.table, name)}"
            for name in statement.names
        ))  # fmt: skip

    def rename_column(self, statement: object) -> Plan:
        assert isinstance(statement, RenameColumn)
        table = qualified(self.ref(statement.table))
        old = self.column(statement.table, statement.old)
        new = self.column(statement.table, statement.new)
        return Execute((f"ALTER TABLE {table} RENAME COLUMN {old} TO {new}",))

    def modify_columns(self, statement: object) -> Plan:
        assert isinstance(statement, ModifyColumns)
        table = qualified(self.ref(statement.table))
        out = []
        for column in statement.columns:
            if column.info is None:
                continue  # nullability or a default for rows to come: they carry values
            name = self.column(statement.table, column.name)
            storage = self.target.column_type(column.info)
            if self.sqlite:
                return Untranslatable(
                    f"SQLite cannot change the type of column {column.name} in place "
                    f"(to {storage}); rebuild the table, then run 'drapply ddl done'"
                )
            out.append(f"ALTER TABLE {table} ALTER COLUMN {name} TYPE {storage} "
                       f"USING {name}::{storage}")  # fmt: skip
        if not out:
            return NoEffect("only NOT NULL or DEFAULT changed; the DR copy keeps neither")
        return Execute(tuple(out))

    # -- tables -----------------------------------------------------------------------------
    def create_table(self, statement: object) -> Plan:
        assert isinstance(statement, CreateTable)
        defs = []
        for column in statement.columns:
            assert column.info is not None
            name = self.column(statement.table, column.name)
            defs.append(f"{name} {self.target.column_type(column.info)}")
        for constraint in statement.constraints:
            if constraint.kind in (ConstraintKind.PRIMARY, ConstraintKind.UNIQUE):
                cols = ", ".join(self.column(statement.table, c) for c in constraint.columns)
                word = "PRIMARY KEY" if constraint.kind is ConstraintKind.PRIMARY else "UNIQUE"
                defs.append(f"{word} ({cols})")
        create = self.target.create_table_sql(self.ref(statement.table), defs)
        # A replay (or a table apply made for rows before capture saw its CREATE) finds
        # it there already.
        return Execute((create.replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", 1),))

    def drop_table(self, statement: object) -> Plan:
        assert isinstance(statement, DropTable)
        # IF EXISTS: apply creates a target table with its first row; a table dropped
        # before it held one never existed here.
        return Execute((f"DROP TABLE IF EXISTS {qualified(self.ref(statement.table))}",))

    def rename_table(self, statement: object) -> Plan:
        assert isinstance(statement, RenameTable)
        old = self.ref(statement.table)
        new = self.naming.table(statement.table.owner, statement.new_name)
        if new.schema != old.schema:
            return Untranslatable(f"the new name maps to another schema ({new}); {BY_HAND}")
        return Execute((f"ALTER TABLE {qualified(old)} RENAME TO {quote(new.table)}",))

    def truncate(self, statement: object) -> Plan:
        assert isinstance(statement, TruncateTable)
        table = qualified(self.ref(statement.table))
        return Execute((f"DELETE FROM {table}" if self.sqlite else f"TRUNCATE TABLE {table}",))

    # -- indexes and keys -------------------------------------------------------------------
    def create_index(self, statement: object) -> Plan:
        assert isinstance(statement, CreateIndex)
        ref = self.ref(statement.table)
        on = quote(ref.table) if self.sqlite else qualified(ref)
        cols = ", ".join(self.column(statement.table, c) for c in statement.columns)
        unique = "UNIQUE " if statement.unique else ""
        name = self.index(statement.index, ref)
        return Execute((f"CREATE {unique}INDEX IF NOT EXISTS {name} ON {on} ({cols})",))

    def drop_index(self, statement: object) -> Plan:
        assert isinstance(statement, DropIndex)
        schema = self.naming.schema(statement.index.owner)
        name = quote(self.naming.identifier(statement.index.name))
        return Execute((f"DROP INDEX IF EXISTS {quote(schema)}.{name}",))

    def add_constraint(self, statement: object) -> Plan:
        assert isinstance(statement, AddConstraint)
        constraint = statement.constraint
        if constraint.kind in (ConstraintKind.FOREIGN, ConstraintKind.CHECK):
            return NoEffect(f"{constraint.kind.value} constraints are enforced by the source; "
                            "the DR copy keeps keys only")  # fmt: skip
        ref = self.ref(statement.table)
        cols = ", ".join(self.column(statement.table, c) for c in constraint.columns)
        primary = constraint.kind is ConstraintKind.PRIMARY
        if self.sqlite:  # no ALTER TABLE ADD CONSTRAINT: a unique index serves as the key
            fallback = _key_index(statement.table.name, constraint.columns, primary)
            index = Name(statement.table.owner, constraint.name or fallback)
            name = self.index(index, ref)
            return Execute((f"CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {quote(ref.table)} "
                            f"({cols})",))  # fmt: skip
        named = f"CONSTRAINT {quote(self.naming.identifier(constraint.name))} " if (
            constraint.name) else ""  # fmt: skip
        word = "PRIMARY KEY" if primary else "UNIQUE"
        return Execute((f"ALTER TABLE {qualified(ref)} ADD {named}{word} ({cols})",))

    def drop_constraint(self, statement: object) -> Plan:
        assert isinstance(statement, DropConstraint)
        ref = self.ref(statement.table)
        if statement.name is not None:
            name = quote(self.naming.identifier(statement.name))
            if self.sqlite:
                return Execute((f"DROP INDEX IF EXISTS {quote(ref.schema)}.{name}",))
            return Execute((f"ALTER TABLE {qualified(ref)} DROP CONSTRAINT IF EXISTS {name}",))
        if self.sqlite:
            index = self.index(Name(statement.table.owner,
                                    _key_index(statement.table.name, (), True)), ref)  # fmt: skip
            return Execute((f"DROP INDEX IF EXISTS {index}",))
        # PostgreSQL names a primary key itself when apply created the table: find it.
        table = qualified(ref).replace("'", "''")
        return Execute((
            "DO $$ DECLARE k text; BEGIN SELECT conname INTO k FROM pg_constraint "
            f"WHERE conrelid = '{table}'::regclass AND contype = 'p'; IF k IS NOT NULL THEN "
            f"EXECUTE format('ALTER TABLE {table} DROP CONSTRAINT %I', k); END IF; END $$",
        ))  # fmt: skip

    # -- the rest ---------------------------------------------------------------------------
    def partition(self, statement: object) -> Plan:
        assert isinstance(statement, PartitionChange)
        if statement.action in _ROWS_STAY:
            return NoEffect(f"{statement.action} PARTITION moves no row in or out of the "
                            "table; the DR copy is not partitioned")  # fmt: skip
        return Untranslatable(
            f"{statement.action} PARTITION takes rows out of {statement.table} without row "
            f"changes in the redo; remove the same rows on the DR database, then run "
            "'drapply ddl done'"
        )

    def comment(self, statement: object) -> Plan:
        assert isinstance(statement, Comment)
        if self.sqlite:
            return NoEffect("SQLite keeps no comments")
        ref = self.ref(statement.table)
        target = qualified(ref)
        if statement.column is not None:
            target = f"COLUMN {target}.{self.column(statement.table, statement.column)}"
        else:
            target = f"TABLE {target}"
        text = statement.text.replace("'", "''")
        return Execute((f"COMMENT ON {target} IS '{text}'",))

    def other(self, statement: object) -> Plan:
        assert isinstance(statement, Other)
        words = statement.words
        if words in _NO_EFFECT_ELSEWHERE or words.startswith(_NO_EFFECT_PREFIXES):
            return NoEffect(f"{words}: nothing of it holds rows on {self.kind.value}")
        return Untranslatable(f"{words or 'this statement'} is not translated for "
                              f"{self.kind.value}; {BY_HAND}")  # fmt: skip


def _key_index(table: str, columns: tuple[str, ...], primary: bool) -> str:
    """The name of the unique index standing in for an unnamed key on SQLite."""
    return f"{table}_PK" if primary else "_".join((table, "UK", *columns))
