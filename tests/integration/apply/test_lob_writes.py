"""In-place LOB writes on every target, against the reference semantics
(:func:`drapply.lobs.edited`): random initial values (NULL and empty included), random
writes (inside, across and past the end) and final lengths (shorter and longer), on a
CLOB and a BLOB, through the one-at-a-time path and the batched one. Oracle runs only
where ``DR_TEST_ORACLE_DSN`` is set (with ``DR_TEST_ORACLE_SCHEMA``, a schema the user
may create tables in)."""

from __future__ import annotations

import itertools
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from drapply.adapters.base import Stream, TargetSession
from drapply.adapters.registry import open_target
from drapply.adapters.sqlite import schema_file
from drapply.lobs import LobEdit, LobKind, edited
from drapply.naming import Naming, TableRef
from drapply.plan import Planner
from drapply.settings import (
    IdentifierCase,
    RenameSettings,
    SourceSettings,
    TargetKind,
    TargetSettings,
)
from drcommon.model import ColumnInfo, LobWrite, LobWrites, Operation, RowChange
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ORACLE_DSN = os.environ.get("DR_TEST_ORACLE_DSN")
ORACLE_SCHEMA = os.environ.get("DR_TEST_ORACLE_SCHEMA", "DRTEST")
TYPES = {
    "ID": ColumnInfo(type="NUMBER", precision=10, scale=0, nullable=False),
    "TXT": ColumnInfo(type="CLOB"),
    "BIN": ColumnInfo(type="BLOB"),
}


@pytest.fixture(
    params=[
        "sqlite",
        "postgresql",
        pytest.param("oracle", marks=pytest.mark.skipif(
            ORACLE_DSN is None, reason="DR_TEST_ORACLE_DSN is not set (no Oracle here)")),
    ]
)  # fmt: skip
def target(request: pytest.FixtureRequest, tmp_path: Path, unique: str) -> TargetSettings:
    kind = TargetKind(request.param)
    if kind is TargetKind.SQLITE:
        return TargetSettings(kind=kind, path=tmp_path / "dr.sqlite")
    if kind is TargetKind.POSTGRESQL:
        dsn = request.getfixturevalue("postgres_dsn")
        return TargetSettings(kind=kind, dsn=dsn, control_schema=f"drapply_{unique}")
    return TargetSettings(kind=kind, dsn=ORACLE_DSN, control_schema="DRAPPLY")


@pytest.fixture
def session(target: TargetSettings) -> Iterator[TargetSession]:
    s = open_target(target).connect()
    yield s
    s.close()


def _owner(target: TargetSettings, unique: str) -> str:
    return ORACLE_SCHEMA if target.kind is TargetKind.ORACLE else f"W{unique[:6].upper()}"


def _oracle_table(target: TargetSettings, ref: TableRef) -> None:
    """Apply does not create Oracle tables: the test does."""
    import oracledb

    with oracledb.connect(target.dsn) as conn:
        conn.cursor().execute(
            f'CREATE TABLE "{ref.schema}"."{ref.table}" '
            '("ID" NUMBER(10) PRIMARY KEY, "TXT" CLOB, "BIN" BLOB)'
        )


def _read(target: TargetSettings, ref: TableRef, ident: int) -> tuple[Any, Any]:
    pg = target.kind is TargetKind.POSTGRESQL
    txt, bin_, id_ = ("txt", "bin", "id") if pg else ("TXT", "BIN", "ID")
    select = f'SELECT "{txt}", "{bin_}" FROM '
    sql = select + f'"{ref.schema}"."{ref.table}" WHERE "{id_}" = '
    if target.kind is TargetKind.SQLITE:
        db = sqlite3.connect(schema_file(target.path, ref.schema))
        try:
            row = db.execute(select + f'"{ref.table}" WHERE "{id_}" = ?', (ident,)).fetchone()
        finally:
            db.close()
    elif target.kind is TargetKind.POSTGRESQL:
        assert target.dsn
        with psycopg.connect(target.dsn) as conn:
            row = conn.execute(sql + "%s", (ident,)).fetchone()
    else:
        import oracledb

        with oracledb.connect(target.dsn) as conn:
            row = conn.cursor().execute(sql + ":1", [ident], fetch_lobs=False).fetchone()
        # An empty LOB may read back as NULL; the reference never leaves a written LOB NULL.
        row = (row[0] or "", row[1] or b"")
    assert row is not None
    return row[0], bytes(row[1]) if row[1] is not None else None


texts = st.text(alphabet="ab 汉é😀\n", max_size=12)
blobs = st.binary(max_size=12)


def _writes(data: st.SearchStrategy[Any]) -> st.SearchStrategy[list[tuple[int, Any]]]:
    return st.lists(st.tuples(st.integers(0, 25), data), max_size=4)


def test_lob_writes_match_the_reference(
    target: TargetSettings, session: TargetSession, unique: str
) -> None:
    owner = _owner(target, unique)
    naming = Naming(RenameSettings(), IdentifierCase.AUTO, target.kind)
    table = f"LOBW_{unique[:6].upper()}"
    stream = Stream(f"t.ORCL.{owner}", 0, owner, naming.schema(owner))
    planner = Planner(naming, session.converter, SourceSettings())
    ref = naming.table(owner, table)
    if target.kind is TargetKind.ORACLE:
        _oracle_table(target, ref)
    session.prepare_stream(stream)
    idents = itertools.count(1)

    def change(op: Operation, **images: Any) -> RowChange:
        return RowChange(op=op, owner=owner, table=table, pk=("ID",), columns=TYPES, **images)

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        st.one_of(st.none(), texts), st.one_of(st.none(), blobs),
        _writes(texts), _writes(blobs),
        st.one_of(st.none(), st.integers(0, 30)), st.one_of(st.none(), st.integers(0, 30)),
        st.booleans(),
    )  # fmt: skip
    def check(
        txt: str | None, bin_: bytes | None, txt_writes: list[tuple[int, str]],
        bin_writes: list[tuple[int, bytes]], txt_len: int | None, bin_len: int | None,
        batched: bool,
    ) -> None:  # fmt: skip
        ident = next(idents)
        initial = {"ID": str(ident), "TXT": txt, "BIN": bin_.hex().upper() if bin_ is not None
                   else None}  # fmt: skip
        update = change(Operation.UPDATE, before={"ID": str(ident)}, after={
            "TXT": LobWrites(oracle_type="CLOB", length=txt_len,
                             writes=tuple(LobWrite(offset=o, data=d) for o, d in txt_writes)),
            "BIN": LobWrites(oracle_type="BLOB", length=bin_len,
                             writes=tuple(LobWrite(offset=o, data=d.hex().upper())
                                          for o, d in bin_writes)),
        })  # fmt: skip
        session.begin(stream, None)
        assert session.insert(planner.bind(change(Operation.INSERT, after=initial)), upsert=False)
        bound = planner.bind(update)
        if batched:
            session.execute_run([bound], overwrite=False)
        else:
            assert session.update(bound) == 1
        session.commit()
        want_txt = edited(txt, LobEdit("TXT", LobKind.CLOB, tuple(txt_writes), txt_len))
        want_bin = edited(bin_, LobEdit("BIN", LobKind.BLOB, tuple(bin_writes), bin_len))
        assert _read(target, ref, ident) == (want_txt, want_bin)

    check()


def test_lob_writes_on_a_missing_row_are_a_conflict_not_a_write(
    target: TargetSettings, session: TargetSession, unique: str
) -> None:
    owner = _owner(target, unique)
    naming = Naming(RenameSettings(), IdentifierCase.AUTO, target.kind)
    table = f"LOBM_{unique[:6].upper()}"
    stream = Stream(f"t.ORCL.{owner}", 0, owner, naming.schema(owner))
    planner = Planner(naming, session.converter, SourceSettings())
    if target.kind is TargetKind.ORACLE:
        _oracle_table(target, naming.table(owner, table))
    session.prepare_stream(stream)
    insert = RowChange(op=Operation.INSERT, owner=owner, table=table, pk=("ID",), columns=TYPES,
                       after={"ID": "1", "TXT": "x", "BIN": None})  # fmt: skip
    writes = LobWrites(oracle_type="CLOB", writes=(LobWrite(offset=0, data="y"),))
    update = RowChange(op=Operation.UPDATE, owner=owner, table=table, pk=("ID",), columns=TYPES,
                       before={"ID": "2"}, after={"TXT": writes})  # fmt: skip
    session.begin(stream, None)
    session.insert(planner.bind(insert), upsert=False)
    assert session.update(planner.bind(update)) == 0  # the policy decides, nothing written
    session.commit()
