"""One contract, every target: exact values, checkpoint fencing, row operations and their
conflicts, apply's own tables. Oracle runs only where ``DR_TEST_ORACLE_DSN`` is set."""

from __future__ import annotations

import math
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from drapply.adapters.base import AuditRow, BoundChange, ParkedRow, Stream, TargetSession
from drapply.adapters.registry import open_target
from drapply.adapters.sqlite import schema_file
from drapply.errors import BatchMismatch, CheckpointMoved
from drapply.naming import Naming, TableRef
from drapply.plan import Planner
from drapply.settings import (
    IdentifierCase,
    RenameSettings,
    SourceSettings,
    TargetKind,
    TargetSettings,
)
from drcommon.model import ColumnInfo, Operation, RowChange

from tests.integration.apply.synth import canonical

ORACLE_DSN = os.environ.get("DR_TEST_ORACLE_DSN")

TYPES = {
    "ID": ColumnInfo(type="NUMBER", precision=38, scale=0, nullable=False),
    "BIG": ColumnInfo(type="NUMBER"),
    "TXT": ColumnInfo(type="VARCHAR2", length=200),
    "D": ColumnInfo(type="DATE"),
    "TS6": ColumnInfo(type="TIMESTAMP", scale=6),
    "TS9": ColumnInfo(type="TIMESTAMP", scale=9),
    "TSTZ": ColumnInfo(type="TIMESTAMP WITH TIME ZONE", scale=6),
    "RAWC": ColumnInfo(type="RAW", length=16),
    "DBL": ColumnInfo(type="BINARY_DOUBLE"),
}
ROWS: list[dict[str, str | None]] = [
    {"ID": "1", "BIG": "123456789012345678901234567890.123456789", "TXT": "王芳 'q' \"dq\"",
     "D": "2024-02-29T13:05:00", "TS6": "2024-02-29T13:05:00.123456",
     "TS9": "2024-02-29T13:05:00.123456789", "TSTZ": "2024-01-01T10:00:00.500000+08:00",
     "RAWC": "00FF10", "DBL": "0.1"},
    {"ID": "2", "BIG": "-0.000000001", "TXT": "", "D": None, "TS6": "1999-12-31T23:59:59.000001",
     "TS9": None, "TSTZ": "2024-01-01T10:00:00.000000[Asia/Shanghai]", "RAWC": "",
     "DBL": "NaN"},
    {"ID": "3", "BIG": "9223372036854775808", "TXT": None, "D": "0001-01-01T00:00:00",
     "TS6": None, "TS9": "2024-02-29T13:05:00.000000001", "TSTZ": None, "RAWC": None,
     "DBL": "-Infinity"},
]  # fmt: skip


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


def _stream(target: TargetSettings, owner: str) -> Stream:
    naming = Naming(RenameSettings(), IdentifierCase.AUTO, target.kind)
    return Stream(f"t.ORCL.{owner}", 0, owner, naming.schema(owner))


def _planner(target: TargetSettings, session: TargetSession) -> Planner:
    naming = Naming(RenameSettings(), IdentifierCase.AUTO, target.kind)
    return Planner(naming, session.converter, SourceSettings())


def _read(target: TargetSettings, ref: TableRef, columns: list[str]) -> list[tuple[Any, ...]]:
    select = ", ".join(f'"{c}"' for c in columns)
    if target.kind is TargetKind.SQLITE:
        db = sqlite3.connect(schema_file(target.path, ref.schema))
        try:
            return db.execute(f'SELECT {select} FROM "{ref.table}" ORDER BY 1').fetchall()
        finally:
            db.close()
    if target.kind is TargetKind.POSTGRESQL:
        assert target.dsn
        with psycopg.connect(target.dsn) as conn:
            conn.execute("SET TIME ZONE 'UTC'")
            return conn.execute(
                f'SELECT {select} FROM "{ref.schema}"."{ref.table}" ORDER BY 1'
            ).fetchall()
    import oracledb

    with oracledb.connect(target.dsn) as conn:
        return list(conn.cursor().execute(f'SELECT {select} FROM "{ref.schema}"."{ref.table}"'))


def _insert(session: TargetSession, planner: Planner, stream: Stream, table: str,
            rows: list[dict[str, str | None]], pk: tuple[str, ...] = ("ID",),
            types: dict[str, ColumnInfo] = TYPES) -> list[BoundChange]:  # fmt: skip
    session.prepare_stream(stream)
    bound = [
        planner.bind(
            RowChange(
                op=Operation.INSERT,
                owner=stream.owner,
                table=table,
                pk=pk,
                after=row,
                columns=types,
            )
        )
        for row in rows
    ]
    session.begin(stream, None)
    for change in bound:
        assert session.insert(change, upsert=False) == 1
    session.commit()
    return bound


def test_values_round_trip_exactly(
    target: TargetSettings, session: TargetSession, unique: str
) -> None:
    stream = _stream(target, f"V{unique[:6].upper()}")
    planner = _planner(target, session)
    bound = _insert(session, planner, stream, "ALLTYPES", ROWS)
    names = [n for n, _ in bound[0].columns]
    got = _read(target, bound[0].table, names)
    assert len(got) == len(ROWS)
    for expected, row in zip(ROWS, got, strict=True):
        values = dict(zip(TYPES, row, strict=True))
        for column, want in expected.items():
            have = values[column]
            if column == "DBL":
                have_f = float(have) if have is not None else None
                assert have_f is not None and (
                    (math.isnan(have_f) and want == "NaN") or have_f == float(want or 0)
                ), (column, want, have)
            elif column == "D" and isinstance(have, datetime):
                assert have.isoformat() == want
            else:
                assert canonical(have) == want, (column, want, have)


def test_checkpoint_is_fenced_and_rewinds(
    target: TargetSettings, session: TargetSession, unique: str
) -> None:
    stream = _stream(target, f"C{unique[:6].upper()}")
    session.prepare_stream(stream)
    cp = session.load_checkpoint(stream, 5)
    assert cp.next_offset == 5 and cp.commit_scn is None
    assert session.load_checkpoint(stream, 99).next_offset == 5  # exists: not reset
    session.begin(stream, 5)
    moved = type(cp)(topic=cp.topic, partition=0, next_offset=9, commit_scn=77, xid="x",
                     commit_ts=datetime(2024, 1, 1, tzinfo=UTC), watermark_scn=80)  # fmt: skip
    session.write_checkpoint(stream, moved)
    session.commit()
    with pytest.raises(CheckpointMoved):
        session.begin(stream, 5)  # a zombie that still thinks it is at 5
    back = session.rewind(stream, 3)
    assert (back.next_offset, back.replay_until, back.commit_scn) == (3, 9, 77)
    assert session.rewind(stream, 20).next_offset == 3  # never forward without force
    assert session.rewind(stream, 20, force=True).next_offset == 20
    stored = session.load_checkpoint(stream, 0)
    assert stored.next_offset == 20 and stored.commit_ts == datetime(2024, 1, 1, tzinfo=UTC)


def test_row_operations_report_conflicts(
    target: TargetSettings, session: TargetSession, unique: str
) -> None:
    stream = _stream(target, f"O{unique[:6].upper()}")
    planner = _planner(target, session)
    types = {"ID": TYPES["ID"], "TXT": TYPES["TXT"]}
    first = _insert(session, planner, stream, "T", [{"ID": "1", "TXT": "a"}], types=types)[0]

    def bind(op: Operation, **kw: Any) -> BoundChange:
        return planner.bind(RowChange(op=op, owner=stream.owner, table="T", pk=("ID",),
                                      columns=types, **kw))  # fmt: skip

    session.begin(stream, None)
    assert session.insert(first, upsert=False) == 0  # duplicate key: nothing inserted
    assert session.update(bind(Operation.UPDATE, before={"ID": "2"}, after={"TXT": "b"})) == 0
    assert session.delete(bind(Operation.DELETE, before={"ID": "2", "TXT": None})) == 0
    assert session.update(bind(Operation.UPDATE, before={"ID": "1"}, after={"TXT": "c"})) == 1
    upsert = bind(Operation.INSERT, after={"ID": "1", "TXT": "d"})
    assert session.insert(upsert, upsert=True) == 1
    image = bind(Operation.UPDATE, before={"ID": "5", "TXT": "x"}, after={"TXT": "e"})
    assert image.image is not None and session.insert_image(image) == 1
    with pytest.raises(BatchMismatch):  # now, or at commit where batches are pipelined
        session.execute_run(
            [bind(Operation.DELETE, before={"ID": "9", "TXT": None})], overwrite=False
        )
        session.commit()
    session.rollback()
    session.begin(stream, None)
    session.execute_run([bind(Operation.UPDATE, before={"ID": "1"}, after={"TXT": "f"})],
                        overwrite=False)  # fmt: skip
    session.commit()
    got = [tuple(canonical(v) for v in r) for r in _read(target, first.table, list(first.set_cols))]
    assert got == [("1", "f")]  # the first transaction was rolled back


def test_table_without_key_detects_ambiguous_rows(
    target: TargetSettings, session: TargetSession, unique: str
) -> None:
    stream = _stream(target, f"N{unique[:6].upper()}")
    planner = _planner(target, session)
    types = {"A": TYPES["TXT"], "B": TYPES["TXT"]}
    twice = [{"A": "x", "B": None}, {"A": "x", "B": None}, {"A": "y", "B": None}]
    _insert(session, planner, stream, "NOKEY", twice, pk=(), types=types)

    def bind(op: Operation, before: dict[str, str | None]) -> BoundChange:
        return planner.bind(RowChange(op=op, owner=stream.owner, table="NOKEY", before=before,
                                      after={"B": "z"} if op is Operation.UPDATE else None,
                                      columns=types))  # fmt: skip

    session.begin(stream, None)
    assert session.update(bind(Operation.UPDATE, {"A": "x", "B": None})) == 2  # ambiguous
    session.rollback()
    session.begin(stream, None)
    assert session.delete(bind(Operation.DELETE, {"A": "y", "B": None})) == 1  # NULL matched
    session.commit()


def test_parked_audit_and_state(target: TargetSettings, unique: str) -> None:
    owner = f"A{unique[:6].upper()}"
    stream = _stream(target, owner)
    data = open_target(target).connect()
    try:
        data.prepare_stream(stream)
        data.load_checkpoint(stream, 0)
        row = ParkedRow(topic=stream.topic, partition=0, first_offset=4, last_offset=6,
                        schema=stream.schema, xid="1.2.3", commit_scn=50, error="duplicate_key",
                        parked_at=datetime(2024, 1, 1, tzinfo=UTC),
                        dl_offsets=(10, 11))  # fmt: skip
        data.begin(stream, 0)
        data.add_parked(stream, row)
        data.add_parked(stream, row)  # parked again after a crash: one row
        data.commit()
    finally:
        data.close()
    admin = open_target(target).connect(admin=True)
    try:
        mine = [p for p in admin.parked() if p.topic == stream.topic]
        assert mine == [row]
        admin.begin(stream, None)
        admin.set_parked_state(row, "discarded", "op", "not needed")
        admin.commit()
        assert [p.state for p in admin.parked("discarded") if p.topic == stream.topic] == [
            "discarded"
        ]
        audit = AuditRow(
            audit_id=f"a{unique}",
            action="replay",
            requested_by="op",
            detail={"from_scn": 5},
            started_at=datetime(2024, 1, 2, tzinfo=UTC),
        )
        admin.add_audit(audit)
        admin.finish_audit(audit.audit_id, "completed", {"rows": 3})
        stored = next(a for a in admin.audits() if a.audit_id == audit.audit_id)
        assert (stored.result, stored.outcome, stored.detail) == (
            "completed",
            {"rows": 3},
            {"from_scn": 5},
        )
        admin.set_state(f"k{unique}", "42")
        assert admin.get_state(f"k{unique}") == "42"
        admin.set_state(f"k{unique}", None)
        assert admin.get_state(f"k{unique}") is None
    finally:
        admin.close()
