"""The load's own records in the target, beside apply's control tables.

* ``load`` (global: the control schema; SQLite's main file): one row per load — id,
  SCN, capture's start point, state (``running``, ``done``, ``abandoned``), who asked.
* ``load_chunk`` (per schema: for SQLite in the schema's own file, so a chunk's rows and
  its ``done`` mark commit in one transaction of one file): every planned chunk of
  every table, its spec (key or ROWID range, JSON), state (``todo``/``done``) and rows.

A chunk is marked done by the transaction that wrote its rows; the mark is a
compare-and-set from ``todo``, so two copies of one chunk can never both commit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from drapply.adapters.rawsql import SqlSession
from drapply.load.model import LoadRow
from drapply.snapshot.model import Chunk

LOAD = "load"
CHUNKS = "load_chunk"


def _now() -> datetime:
    return datetime.now(UTC)


def ensure_global(admin: SqlSession) -> None:
    t, i, ts = admin.text_type, admin.int_type, admin.ts_type
    key = "VARCHAR2(200)" if admin.kind == "oracle" else t
    admin.create_if_missing(
        admin.control_table(LOAD, None),
        f"load_id {key} PRIMARY KEY, scn {i} NOT NULL, start_scn {i} NOT NULL, state {t}, "
        f"requested_by {t}, started_at {ts}, finished_at {ts}, detail {t}",
    )


def ensure_schema(session: SqlSession, schema: str) -> None:
    t, i, ts = session.text_type, session.int_type, session.ts_type
    key = "VARCHAR2(200)" if session.kind == "oracle" else t
    session.create_if_missing(
        session.control_table(CHUNKS, schema),
        f"load_id {key} NOT NULL, owner {key} NOT NULL, table_name {key} NOT NULL, "
        f"chunk_no {i} NOT NULL, spec {t}, state {t}, row_count {i}, done_at {ts}, "
        "PRIMARY KEY (load_id, owner, table_name, chunk_no)",
    )


def _committed(session: SqlSession, sql: str, params: Sequence[Any]) -> None:
    session.start()
    try:
        session.execute(sql, params)
        session.commit()
    except BaseException:
        session.rollback()
        raise


def unfinished(admin: SqlSession) -> LoadRow | None:
    """The load still ``running`` (at most one), or None."""
    rows = admin.query(
        f"SELECT load_id, scn, start_scn, state, requested_by, detail FROM "
        f"{admin.control_table(LOAD, None)} WHERE state = {admin.ph(0)}",
        ("running",),
    )
    if not rows:
        return None
    r = rows[0]
    return LoadRow(str(r[0]), int(r[1]), int(r[2]), str(r[3]), str(r[4] or ""),
                   json.loads(r[5] or "{}"))  # fmt: skip


def add_load(admin: SqlSession, row: LoadRow) -> None:
    ph = admin.ph
    _committed(
        admin,
        f"INSERT INTO {admin.control_table(LOAD, None)} (load_id, scn, start_scn, state, "
        f"requested_by, started_at, detail) VALUES "
        f"({ph(0)}, {ph(1)}, {ph(2)}, {ph(3)}, {ph(4)}, {ph(5)}, {ph(6)})",
        (row.load_id, row.scn, row.start_scn, row.state, row.requested_by,
         admin.ts_param(_now()), json.dumps(row.detail, default=str)),
    )  # fmt: skip


def finish_load(admin: SqlSession, load_id: str, state: str, detail: dict[str, Any]) -> None:
    ph = admin.ph
    text = json.dumps(detail, default=str)
    if admin.kind == "oracle" and len(text.encode()) > 4000:
        text = json.dumps({k: v for k, v in detail.items() if k != "tables"}, default=str)
    _committed(
        admin,
        f"UPDATE {admin.control_table(LOAD, None)} SET state = {ph(0)}, finished_at = {ph(1)}, "
        f"detail = {ph(2)} WHERE load_id = {ph(3)}",
        (state, admin.ts_param(_now()), text, load_id),
    )


def chunks(session: SqlSession, schema: str, load_id: str, owner: str,
           table: str) -> list[tuple[Chunk, bool, int]]:  # fmt: skip
    """The table's planned chunks: (chunk, done, rows); empty when not planned yet."""
    ph = session.ph
    rows = session.query(
        f"SELECT spec, state, row_count FROM {session.control_table(CHUNKS, schema)} "
        f"WHERE load_id = {ph(0)} AND owner = {ph(1)} AND table_name = {ph(2)} ORDER BY chunk_no",
        (load_id, owner, table),
    )
    return [(Chunk.from_json(json.loads(r[0])), r[1] == "done", int(r[2] or 0)) for r in rows]


def add_plan(session: SqlSession, schema: str, load_id: str, owner: str, table: str,
             planned: Sequence[Chunk]) -> None:  # fmt: skip
    """Record a table's chunks (inside the caller's transaction)."""
    ph = session.ph
    session.execute_many(
        f"INSERT INTO {session.control_table(CHUNKS, schema)} (load_id, owner, table_name, "
        f"chunk_no, spec, state, row_count) VALUES "
        f"({ph(0)}, {ph(1)}, {ph(2)}, {ph(3)}, {ph(4)}, {ph(5)}, {ph(6)})",
        [(load_id, owner, table, c.number, json.dumps(c.to_json()), "todo", 0) for c in planned],
    )


def mark_done(session: SqlSession, schema: str, load_id: str, owner: str, table: str,
              number: int, rows: int) -> bool:  # fmt: skip
    """Mark a chunk done inside the transaction that wrote its rows; False when it was
    not ``todo`` any more (another copy finished it: roll back)."""
    ph = session.ph
    done = session.execute(
        f"UPDATE {session.control_table(CHUNKS, schema)} SET state = {ph(0)}, "
        f"row_count = {ph(1)}, done_at = {ph(2)} WHERE load_id = {ph(3)} AND owner = {ph(4)} "
        f"AND table_name = {ph(5)} AND chunk_no = {ph(6)} AND state = {ph(7)}",
        ("done", rows, session.ts_param(_now()), load_id, owner, table, number, "todo"),
    )
    return done == 1
