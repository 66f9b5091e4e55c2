"""Issue 15 (apply side): translated DDL run on real SQLite and PostgreSQL.

A HIS upgrade's statements, translated by :mod:`drapply.ddl.translate` with the
target adapter's own type hooks and executed through its session, leave the tables
as the source has them: a column added with a default holds it in the rows already
there, a renamed column keeps its values, a dropped one is gone, keys and indexes
exist, a truncate empties, a rename and a drop move and remove the table.
"""

from __future__ import annotations

from typing import Any

import pytest
from drapply.adapters.registry import open_target
from drapply.ddl.parse import parse
from drapply.ddl.translate import DdlOptions, Execute, translate
from drapply.settings import ApplySettings, TargetKind
from drapply.wiring import naming_for

from tests.integration.apply.conftest import SettingsFactory

pytestmark = [pytest.mark.postgres]


class _Dr:
    """One admin session on the DR database, running translated DDL as apply would."""

    def __init__(self, settings: ApplySettings, owner: str) -> None:
        self.settings = settings
        self.owner = owner
        self.naming = naming_for(settings, settings.target)
        session: Any = open_target(settings.target).connect(admin=True)
        session.ensure_schema(self.naming.schema(owner))
        self.session = session

    def ddl(self, sql: str) -> None:
        plan = translate(parse(sql, self.owner), sql, self.settings.target.kind,
                         self.session, self.naming, DdlOptions())  # fmt: skip
        assert isinstance(plan, Execute), plan
        self.run(*plan.statements)

    def run(self, *statements: str) -> None:
        """In one transaction, as apply runs a DDL with the stream's checkpoint."""
        if self.settings.target.kind is TargetKind.SQLITE:
            self.session.execute("BEGIN")  # the session runs in autocommit otherwise
        for statement in statements:
            self.session.execute(statement)
        self.session.commit()

    def table(self, name: str) -> str:
        ref = self.naming.table(self.owner, name)
        return f'"{ref.schema}"."{ref.table}"'

    def col(self, table: str, column: str) -> str:
        return '"' + self.naming.column(self.owner, table, column) + '"'

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.session.query(sql)]

    def columns(self, table: str) -> list[str]:
        shape = self.session.describe(self.naming.table(self.owner, table))
        return [] if shape is None else list(shape.columns)

    def unique_keys(self, table: str) -> set[frozenset[str]]:
        shape = self.session.describe(self.naming.table(self.owner, table))
        return set(shape.unique_keys)


@pytest.fixture
def dr(target_kind: str, make_settings: SettingsFactory, unique: str) -> Any:
    owner = f"HIS{unique[:6].upper()}"
    settings = make_settings(target_kind)
    session = _Dr(settings, owner)
    yield session
    session.session.close()


def test_a_schema_upgrade_leaves_the_tables_as_the_source_has_them(dr: _Dr) -> None:
    dr.ddl("CREATE TABLE RX (ID NUMBER(10) CONSTRAINT RX_PK PRIMARY KEY, CODE VARCHAR2(8), "
           "FEE NUMBER(12,2), CHECK (FEE >= 0))")  # fmt: skip
    rx, code, fee, id_ = dr.table("RX"), dr.col("RX", "CODE"), dr.col("RX", "FEE"), dr.col(
        "RX", "ID")  # fmt: skip
    dr.run(*(f"INSERT INTO {rx} ({id_}, {code}, {fee}) VALUES ({n}, 'C{n}', 1.5)"
             for n in (1, 2)))  # fmt: skip

    dr.ddl("ALTER TABLE RX ADD (NOTE VARCHAR2(20) DEFAULT 'none' NOT NULL, QTY NUMBER "
           "DEFAULT 7)")  # fmt: skip
    dr.ddl("ALTER TABLE RX RENAME COLUMN CODE TO DRUG_CODE")
    dr.ddl("ALTER TABLE RX DROP COLUMN FEE")
    dr.ddl("CREATE UNIQUE INDEX RX_CODE ON RX (DRUG_CODE)")
    note, qty, drug = dr.col("RX", "NOTE"), dr.col("RX", "QTY"), dr.col("RX", "DRUG_CODE")
    assert dr.rows(f"SELECT {id_}, {drug}, {note}, {qty} FROM {rx} ORDER BY {id_}") == [
        (1, "C1", "none", 7), (2, "C2", "none", 7)]  # fmt: skip
    assert sorted(dr.columns("RX")) == sorted(
        dr.naming.column(dr.owner, "RX", c) for c in ("ID", "DRUG_CODE", "NOTE", "QTY"))
    keys = dr.unique_keys("RX")
    assert frozenset({dr.naming.column(dr.owner, "RX", "DRUG_CODE")}) in keys
    assert frozenset({dr.naming.column(dr.owner, "RX", "ID")}) in keys

    dr.ddl("TRUNCATE TABLE RX")
    assert dr.rows(f"SELECT count(*) FROM {rx}") == [(0,)]
    dr.ddl("RENAME RX TO PRESCRIPTION")
    assert dr.columns("RX") == [] and dr.columns("PRESCRIPTION")
    dr.ddl("DROP TABLE PRESCRIPTION PURGE")
    assert dr.columns("PRESCRIPTION") == []


def test_keys_added_and_dropped_later(dr: _Dr) -> None:
    dr.ddl("CREATE TABLE VISIT (ID NUMBER, AT DATE)")
    assert dr.unique_keys("VISIT") == set()
    dr.ddl("ALTER TABLE VISIT ADD CONSTRAINT VISIT_PK PRIMARY KEY (ID)")
    key = frozenset({dr.naming.column(dr.owner, "VISIT", "ID")})
    assert dr.unique_keys("VISIT") == {key}
    dr.ddl("ALTER TABLE VISIT DROP CONSTRAINT VISIT_PK")
    assert dr.unique_keys("VISIT") == set()
    dr.ddl("ALTER TABLE VISIT ADD PRIMARY KEY (ID)")
    dr.ddl("ALTER TABLE VISIT DROP PRIMARY KEY")
    assert dr.unique_keys("VISIT") == set()
