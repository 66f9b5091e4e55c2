"""Issue 15 (apply side): Oracle DDL parsed into actions and translated per target.

Pure: the statements are the kinds a HIS upgrade runs; the translations are asserted
as text here and executed on real SQLite/PostgreSQL in
``tests/integration/apply/test_ddl_targets.py``.
"""

from __future__ import annotations

import pytest
from drapply.ddl.parse import parse
from drapply.ddl.runner import already_done
from drapply.ddl.statement import (
    AddColumns,
    ConstraintKind,
    CreateIndex,
    CreateTable,
    DropColumns,
    DropConstraint,
    DropTable,
    Literal,
    ModifyColumns,
    Name,
    Other,
    PartitionChange,
    RenameColumn,
    RenameTable,
    TruncateTable,
)
from drapply.ddl.translate import (
    DdlOptions,
    Execute,
    NoEffect,
    Untranslatable,
    translate,
)
from drapply.errors import DdlSyntaxError
from drapply.naming import Naming, TableRef
from drapply.settings import IdentifierCase, RenameSettings, TargetKind
from drcommon.model import ColumnInfo
from hypothesis import given, settings
from hypothesis import strategies as st

SI = Name("SI", "PERSON")


def test_add_columns_keep_types_defaults_and_quoted_names() -> None:
    statement = parse(
        'ALTER TABLE "SI"."PERSON" ADD ("Email" VARCHAR2(100 CHAR) DEFAULT \'x\' NOT NULL, '
        "FEE NUMBER(12,2) DEFAULT -1, AT TIMESTAMP(3) WITH TIME ZONE, D DATE DEFAULT SYSDATE)",
        "OTHER",
    )
    assert isinstance(statement, AddColumns) and statement.table == SI
    email, fee, at, d = statement.columns
    assert (email.name, email.info, email.type_sql) == (
        "Email", ColumnInfo(type="VARCHAR2", length=100), "VARCHAR2(100 CHAR)")  # fmt: skip
    assert (email.default, email.not_null) == (Literal("x", quoted=True), True)
    assert (fee.info, fee.default) == (ColumnInfo(type="NUMBER", precision=12, scale=2),
                                       Literal("-1", quoted=False))  # fmt: skip
    assert at.info == ColumnInfo(type="TIMESTAMP WITH TIME ZONE", scale=3)
    assert (d.default_sql, d.default) == ("SYSDATE", None)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("alter table person add email varchar2(50)",
         parse("alter table si.person add (email varchar2(50))", "OTHER")),
        ("ALTER TABLE PERSON DROP COLUMN EMAIL", DropColumns(SI, ("EMAIL",))),
        ("ALTER TABLE PERSON DROP (A, B)", DropColumns(SI, ("A", "B"))),
        ("ALTER TABLE PERSON SET UNUSED (A)", DropColumns(SI, ("A",))),
        ("ALTER TABLE PERSON RENAME COLUMN NAME TO FULL_NAME",
         RenameColumn(SI, "NAME", "FULL_NAME")),
        ("ALTER TABLE PERSON RENAME TO PEOPLE", RenameTable(SI, "PEOPLE")),
        ("RENAME PERSON TO PEOPLE;", RenameTable(SI, "PEOPLE")),
        ("TRUNCATE TABLE SI.PERSON REUSE STORAGE", TruncateTable(SI)),
        ("DROP TABLE PERSON CASCADE CONSTRAINTS PURGE", DropTable(SI, purge=True)),
        ("DROP TABLE PERSON", DropTable(SI, purge=False)),
        ("CREATE UNIQUE INDEX IX ON PERSON (NAME ASC, ID) TABLESPACE T",
         CreateIndex(Name("SI", "IX"), SI, ("NAME", "ID"), unique=True)),
        ("ALTER TABLE PERSON DROP PRIMARY KEY", DropConstraint(SI, None, primary=True)),
        ("ALTER TABLE PERSON DROP CONSTRAINT UK1", DropConstraint(SI, "UK1", primary=False)),
        ("ALTER TABLE PERSON ADD PARTITION P9 VALUES LESS THAN (MAXVALUE)",
         PartitionChange(SI, "ADD")),
        ("ALTER TABLE PERSON TRUNCATE SUBPARTITION P9", PartitionChange(SI, "TRUNCATE")),
        ("CREATE INDEX IX ON PERSON (UPPER(NAME))", Other("CREATE INDEX ON EXPRESSION", SI)),
        ("CREATE TABLE PERSON AS SELECT * FROM X", Other("CREATE TABLE AS", SI)),
        ("create or replace package body P as begin null; end;",
         Other("CREATE OR REPLACE PACKAGE BODY")),
        ("CREATE SEQUENCE S START WITH 5", Other("CREATE SEQUENCE")),
    ],
)  # fmt: skip
def test_statement_kinds(sql: str, expected: object) -> None:
    assert parse(sql, "SI") == expected


def test_create_table_reads_inline_and_out_of_line_keys() -> None:
    statement = parse(
        "CREATE TABLE HIS.RX (ID NUMBER(10) CONSTRAINT RX_PK PRIMARY KEY, CODE VARCHAR2(8) "
        "NOT NULL UNIQUE, NOTE CLOB, CONSTRAINT RX_U UNIQUE (CODE, NOTE) USING INDEX "
        "TABLESPACE X, FOREIGN KEY (CODE) REFERENCES HIS.C (CODE), CHECK (ID > 0)) "
        "TABLESPACE USERS",
        "SI",
    )
    assert isinstance(statement, CreateTable) and statement.table == Name("HIS", "RX")
    assert [c.name for c in statement.columns] == ["ID", "CODE", "NOTE"]
    assert statement.columns[1].not_null is True
    keys = [(c.kind, c.name, c.columns) for c in statement.constraints]
    assert keys == [
        (ConstraintKind.PRIMARY, "RX_PK", ("ID",)),
        (ConstraintKind.UNIQUE, None, ("CODE",)),
        (ConstraintKind.UNIQUE, "RX_U", ("CODE", "NOTE")),
        (ConstraintKind.FOREIGN, None, ()),
        (ConstraintKind.CHECK, None, ()),
    ]


def test_modify_reads_type_and_nullability_apart() -> None:
    statement = parse("ALTER TABLE PERSON MODIFY (NAME VARCHAR2(200) NOT NULL, FEE NULL)", "SI")
    assert isinstance(statement, ModifyColumns)
    name, fee = statement.columns
    assert (name.info, name.not_null) == (ColumnInfo(type="VARCHAR2", length=200), True)
    assert (fee.info, fee.not_null) == (None, False)


@pytest.mark.parametrize(
    ("sql", "where"),
    [("ALTER TABLE X ADD (", 19), ("ALTER TABLE X ADD (A WIBBLE(3))", 21),
     ("COMMENT ON TABLE X IS 'open", 22), ("", 0)],
)  # fmt: skip
def test_bad_text_names_where_reading_stopped(sql: str, where: int) -> None:
    with pytest.raises(DdlSyntaxError) as caught:
        parse(sql, "SI")
    assert caught.value.where["at"] == where


class _Types:
    """The type hooks of a target adapter, as PostgreSQL's answer them for these tests."""

    def column_type(self, info: ColumnInfo) -> str:
        return {"NUMBER": "numeric", "VARCHAR2": "text", "DATE": "timestamp"}.get(
            info.type, "text")  # fmt: skip

    def create_table_sql(self, ref: TableRef, defs: list[str]) -> str:
        return f'CREATE TABLE "{ref.schema}"."{ref.table}" ({", ".join(defs)})'


def _plan(sql: str, kind: TargetKind = TargetKind.POSTGRESQL,
          renames: dict[str, dict[str, str]] | None = None,
          options: DdlOptions | None = None) -> object:  # fmt: skip
    options = options or DdlOptions()
    naming = Naming(RenameSettings(**(renames or {})), IdentifierCase.AUTO, kind)
    return translate(parse(sql, "SI"), sql, kind, _Types(), naming, options)


def test_postgresql_translations() -> None:
    assert _plan("ALTER TABLE PERSON ADD (EMAIL VARCHAR2(10) DEFAULT 'o''k', N NUMBER "
                 "DEFAULT 3 NOT NULL)") == Execute((
        """ALTER TABLE "si"."person" ADD COLUMN IF NOT EXISTS "email" text DEFAULT 'o''k'""",
        'ALTER TABLE "si"."person" ADD COLUMN IF NOT EXISTS "n" numeric DEFAULT 3',
    ))
    assert _plan("ALTER TABLE PERSON MODIFY (NAME VARCHAR2(200))") == Execute((
        'ALTER TABLE "si"."person" ALTER COLUMN "name" TYPE text USING "name"::text',))
    assert _plan("CREATE TABLE T (ID NUMBER PRIMARY KEY, D DATE)") == Execute((
        'CREATE TABLE IF NOT EXISTS "si"."t" ("id" numeric, "d" timestamp, PRIMARY KEY ("id"))',))
    assert _plan("ALTER TABLE PERSON DROP (A)") == Execute((
        'ALTER TABLE "si"."person" DROP COLUMN IF EXISTS "a"',))
    assert _plan("CREATE INDEX IX ON PERSON (NAME)") == Execute((
        'CREATE INDEX IF NOT EXISTS "ix" ON "si"."person" ("name")',))
    assert _plan("ALTER TABLE PERSON ADD CONSTRAINT PK PRIMARY KEY (ID)") == Execute((
        'ALTER TABLE "si"."person" ADD CONSTRAINT "pk" PRIMARY KEY ("id")',))
    assert _plan("TRUNCATE TABLE PERSON") == Execute(('TRUNCATE TABLE "si"."person"',))
    assert _plan("RENAME PERSON TO PEOPLE") == Execute((
        'ALTER TABLE "si"."person" RENAME TO "people"',))


def test_sqlite_translations_differ_where_sqlite_does() -> None:
    sqlite = TargetKind.SQLITE
    assert _plan("TRUNCATE TABLE PERSON", sqlite) == Execute(('DELETE FROM "SI"."PERSON"',))
    assert _plan("CREATE UNIQUE INDEX IX ON PERSON (NAME)", sqlite) == Execute((
        'CREATE UNIQUE INDEX IF NOT EXISTS "SI"."IX" ON "PERSON" ("NAME")',))
    assert _plan("ALTER TABLE PERSON ADD PRIMARY KEY (ID)", sqlite) == Execute((
        'CREATE UNIQUE INDEX IF NOT EXISTS "SI"."PERSON_PK" ON "PERSON" ("ID")',))
    assert isinstance(_plan("ALTER TABLE PERSON MODIFY (NAME NUMBER)", sqlite), Untranslatable)
    assert isinstance(_plan("COMMENT ON TABLE PERSON IS 'x'", sqlite), NoEffect)


@pytest.mark.parametrize(
    ("sql", "outcome", "words"),
    [
        ("ALTER TABLE PERSON ADD (D DATE DEFAULT SYSDATE NOT NULL)", Untranslatable, "SYSDATE"),
        ("ALTER TABLE PERSON ADD (D DATE DEFAULT '2020-01-01')", Untranslatable, "by hand"),
        ("ALTER TABLE PERSON DROP PARTITION P1", Untranslatable, "without row changes"),
        ("ALTER TABLE PERSON EXCHANGE PARTITION P1 WITH TABLE X", Untranslatable, "drapply ddl"),
        ("CREATE TABLE X AS SELECT * FROM Y", Untranslatable, "not translated"),
        ("CREATE CLUSTER C (A NUMBER)", Untranslatable, "not translated"),
        ("CREATE VIEW V AS SELECT 1 FROM DUAL", NoEffect, "holds rows"),
        ("ALTER TABLE PERSON ADD PARTITION P2 VALUES LESS THAN (10)", NoEffect, "moves no row"),
        ("ALTER TABLE PERSON MODIFY (NAME NOT NULL)", NoEffect, "NOT NULL"),
        ("ALTER TABLE PERSON ADD CONSTRAINT F FOREIGN KEY (A) REFERENCES B (C)", NoEffect,
         "enforced by the source"),
        ("GRANT SELECT ON PERSON TO BOB", NoEffect, "grants"),
        ("CREATE OR REPLACE TRIGGER T BEFORE INSERT ON PERSON BEGIN NULL; END;", NoEffect,
         "holds rows"),
    ],
)  # fmt: skip
def test_what_cannot_be_reproduced_says_why(sql: str, outcome: type, words: str) -> None:
    plan = _plan(sql)
    assert isinstance(plan, outcome) and words in plan.reason  # type: ignore[attr-defined]


def test_oracle_runs_the_captured_text_within_the_allowlist() -> None:
    oracle = TargetKind.ORACLE
    text = "ALTER TABLE PERSON ADD (D DATE DEFAULT SYSDATE NOT NULL)"
    assert _plan(text, oracle) == Execute((text,))
    assert _plan("ALTER TABLE PERSON DROP PARTITION P1", oracle) == Execute((
        "ALTER TABLE PERSON DROP PARTITION P1",))
    assert isinstance(_plan("GRANT SELECT ON PERSON TO BOB", oracle), NoEffect)
    grant = _plan("GRANT SELECT ON PERSON TO BOB", oracle, options=DdlOptions(grants=True))
    assert grant == Execute(("GRANT SELECT ON PERSON TO BOB",))
    other = _plan("CREATE SEQUENCE S", oracle)
    assert isinstance(other, Untranslatable) and "allowlist" in other.reason
    assert _plan("CREATE SEQUENCE S", oracle, options=DdlOptions(oracle_other=True)) == Execute(
        ("CREATE SEQUENCE S",))
    renamed = _plan("TRUNCATE TABLE PERSON", oracle, renames={"schemas": {"SI": "SI_DR"}})
    assert isinstance(renamed, Untranslatable) and "SI_DR.PERSON" in renamed.reason


_PIECES = st.sampled_from([
    "ALTER", "TABLE", "ADD", "DROP", "MODIFY", "CREATE", "INDEX", "UNIQUE", "ON", "(", ")",
    ",", ".", "PERSON", '"Mixed"', "NUMBER(5,2)", "VARCHAR2(10 CHAR)", "DEFAULT", "'x'",
    "NOT", "NULL", "PRIMARY", "KEY", "CONSTRAINT", "PARTITION", "RENAME", "TO", "COLUMN",
    "TIMESTAMP(3)", "WITH", "TIME", "ZONE", "INTERVAL", "DAY", "SECOND", "--", "/*", "'",
    '"', "COMMENT", "IS", "TRUNCATE", "SET", "UNUSED", "-", "7",
])  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=14).map(" ".join) | st.text(max_size=60))
def test_any_text_reads_or_fails_with_a_located_syntax_error(sql: str) -> None:
    """Bad input gets the parser's own error with where it stopped, never a crash."""
    try:
        statement = parse(sql, "SI")
    except DdlSyntaxError as error:
        assert 0 <= error.where["at"] <= len(sql)
    else:
        assert statement.kind.value


@pytest.mark.parametrize(
    ("kind", "error", "done"),
    [
        (TargetKind.ORACLE, "ORA-01430: column being added already exists in table",
         "ORA-01430"),
        (TargetKind.ORACLE, "ORA-00942: table or view does not exist", "ORA-00942"),
        (TargetKind.ORACLE, "ORA-01031: insufficient privileges", None),
        (TargetKind.SQLITE, "SQLite: duplicate column name: REGION", "duplicate column name"),
        (TargetKind.SQLITE, "SQLite: near \"X\": syntax error", None),
        (TargetKind.POSTGRESQL, "PostgreSQL: relation \"t\" already exists", None),
    ],
)  # fmt: skip
def test_a_repeated_ddl_is_told_from_a_refusal(kind: TargetKind, error: str,
                                               done: str | None) -> None:  # fmt: skip
    assert already_done(kind, error) == done
