"""Comparisons kept in the target: the latest result per table (what status, control's
evidence and the console show) and whole reports by run id (what ``repair`` reads).

* ``verification`` — one row per source table: its latest comparison (run, when, SCNs,
  counts, whether the whole table or some chunks were compared);
* ``compare_report`` — the JSON report of each run (kept ``KEEP_DAYS`` days).

:func:`latest_per_schema` folds the rows into one verdict per schema (pure).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from drapply.adapters.rawsql import SqlSession
from drapply.compare.report import CompareReport

VERIFICATION = "verification"
REPORTS = "compare_report"
KEEP_DAYS = 30
_COLUMNS = ("table_name", "schema_name", "run_id", "kind", "finished_at", "scn_min", "scn_max",
            "source_rows", "dr_rows", "missing", "extra", "different", "state", "whole_table")


def ensure(admin: SqlSession) -> None:
    t, i, ts = admin.text_type, admin.int_type, admin.ts_type
    oracle = admin.kind == "oracle"
    key = "VARCHAR2(400)" if oracle else t
    admin.create_if_missing(
        admin.control_table(VERIFICATION, None),
        f"table_name {key} PRIMARY KEY, schema_name {t}, run_id {t}, kind {t}, "
        f"finished_at {ts}, scn_min {i}, scn_max {i}, source_rows {i}, dr_rows {i}, "
        f"missing {i}, extra {i}, different {i}, state {t}, whole_table {i}",
    )
    admin.create_if_missing(
        admin.control_table(REPORTS, None),
        f"run_id {key} PRIMARY KEY, finished_at {ts}, document {'CLOB' if oracle else t}",
    )


def record(admin: SqlSession, report: CompareReport) -> None:
    """Keep a finished report and each table's latest result, in one transaction."""
    assert report.finished_at is not None
    ph = admin.ph
    table = admin.control_table(VERIFICATION, None)
    reports = admin.control_table(REPORTS, None)
    when = admin.ts_param(report.finished_at)
    admin.start()
    try:
        for result in report.tables:
            admin.execute(f"DELETE FROM {table} WHERE table_name = {ph(0)}", (result.table,))
            admin.execute(
                f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES "
                f"({', '.join(ph(i) for i in range(len(_COLUMNS)))})",
                (result.table, result.owner, report.run_id, report.kind, when, result.scn_min,
                 result.scn_max, result.source_rows, result.dr_rows, result.missing,
                 result.extra, result.different, result.state, int(result.whole_table)),
            )  # fmt: skip
        cutoff = admin.ts_param(report.finished_at - timedelta(days=KEEP_DAYS))
        admin.execute(f"DELETE FROM {reports} WHERE finished_at < {ph(0)}", (cutoff,))
        admin.execute(f"INSERT INTO {reports} (run_id, finished_at, document) "
                      f"VALUES ({ph(0)}, {ph(1)}, {ph(2)})",
                      (report.run_id, when, json.dumps(report.document())))  # fmt: skip
        admin.commit()
    except BaseException:
        admin.rollback()
        raise


def load_report(admin: SqlSession, run_id: str) -> CompareReport | None:
    rows = admin.query(
        f"SELECT document FROM {admin.control_table(REPORTS, None)} WHERE run_id = {admin.ph(0)}",
        (run_id,),
    )
    if not rows:
        return None
    text = rows[0][0]
    text = text.read() if hasattr(text, "read") else text
    return CompareReport.from_document(json.loads(text))


@dataclass(frozen=True, slots=True)
class TableVerdict:
    """One table's latest comparison, as stored."""

    table: str
    schema: str
    run_id: str
    kind: str
    finished_at: datetime
    scn_min: int | None
    scn_max: int | None
    source_rows: int
    dr_rows: int
    differences: int
    state: str
    whole_table: bool


def verdicts(admin: SqlSession) -> list[TableVerdict]:
    rows = admin.query(f"SELECT {', '.join(_COLUMNS)} FROM "
                       f"{admin.control_table(VERIFICATION, None)}")  # fmt: skip
    out = []
    for r in rows:
        finished = admin.ts_value(r[4])
        assert finished is not None
        if finished.tzinfo is None:
            finished = finished.replace(tzinfo=UTC)
        differences = int(r[9] or 0) + int(r[10] or 0) + int(r[11] or 0)
        out.append(TableVerdict(
            table=str(r[0]), schema=str(r[1]), run_id=str(r[2]), kind=str(r[3]),
            finished_at=finished, scn_min=_int(r[5]), scn_max=_int(r[6]),
            source_rows=int(r[7] or 0), dr_rows=int(r[8] or 0),
            differences=differences + (0 if r[12] == "compared" else 1), state=str(r[12]),
            whole_table=bool(r[13]),
        ))  # fmt: skip
    return out


def latest_per_schema(found: Sequence[TableVerdict], now: datetime,
                      max_age: float) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Per schema: when its tables were last verified, at which SCNs, how many
    differences their latest comparisons found, and whether that is stale."""
    out: dict[str, dict[str, Any]] = {}
    for schema in sorted({v.schema for v in found}):
        mine = [v for v in found if v.schema == schema]
        newest = max(v.finished_at for v in mine)
        oldest = min(v.finished_at for v in mine)
        scns = [v.scn_max for v in mine if v.scn_max is not None]
        differing = sorted(v.table for v in mine if v.differences)
        out[schema] = {
            "verified_at": newest.isoformat(),
            "oldest_table_verified_at": oldest.isoformat(),
            "age_seconds": round((now - newest).total_seconds(), 1),
            "oldest_age_seconds": round((now - oldest).total_seconds(), 1),
            "scn": max(scns) if scns else None,
            "tables": len(mine),
            "differences": sum(v.differences for v in mine),
            "tables_differing": differing,
            "stale": (now - oldest).total_seconds() > max_age,
            "sampled": any(not v.whole_table for v in mine),
            "run_id": max(mine, key=lambda v: v.finished_at).run_id,
        }
    return out


def _int(value: Any) -> int | None:
    return None if value is None else int(value)
