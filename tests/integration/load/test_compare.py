"""Compare finds exactly the divergences injected into the DR copy — a missing row, an
extra row, a changed column, a changed LOB, '' where the source holds NULL — on
PostgreSQL and SQLite; and a comparison while apply keeps applying (no hold) finds none
in a copy that is right."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from drapply.adapters.registry import open_target
from drapply.adapters.sqlite import schema_file
from drapply.compare.repair import RepairRequest, run_repair
from drapply.compare.report import CompareReport
from drapply.compare.runner import CompareRequest, run_compare
from drapply.load.model import LoadRequest
from drapply.load.runner import run_load
from drapply.oneshot import apply_once
from drapply.settings import ApplySettings, TargetKind
from drapply.wiring import naming_for
from drcapture.synth.workload_result import BuiltWorkload

from tests.integration.apply.running import write_config
from tests.integration.load.conftest import SettingsFactory, run_capture
from tests.support.history import HistorySource
from tests.support.state import source_state

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def dr_execute(settings: ApplySettings, owner: str, sql: str, params: tuple[Any, ...] = ()) -> None:
    """Run a statement on the DR copy, ``{t}`` standing for ``owner``'s schema."""
    naming = naming_for(settings, settings.target)
    schema = naming.schema(owner)
    statement = sql.replace("{s}", f'"{schema}"')
    if settings.target.kind is TargetKind.SQLITE:
        db = sqlite3.connect(":memory:", isolation_level=None)
        try:
            db.execute(f'ATTACH DATABASE ? AS "{schema}"',
                       (str(schema_file(settings.target.path, schema)),))  # fmt: skip
            db.execute(statement.replace("%s", "?"), params)
        finally:
            db.close()
        return
    assert settings.target.dsn
    with psycopg.connect(settings.target.dsn, autocommit=True) as conn:
        conn.execute(statement, params)


def _col(settings: ApplySettings, name: str) -> str:
    return f'"{name.lower()}"' if settings.target.kind is TargetKind.POSTGRESQL else f'"{name}"'


def _tab(settings: ApplySettings, name: str) -> str:
    return "{s}." + _col(settings, name)


def _found(report: CompareReport, table: str) -> dict[str, set[tuple[str, ...]]]:
    result = next(t for t in report.tables if t.table == table)
    out: dict[str, set[tuple[str, ...]]] = {"missing": set(), "extra": set(), "different": set()}
    for d in result.differences:
        out[d.kind].add((*(str(k) for k in d.key), *d.columns))
    assert (result.missing, result.extra, result.different) == tuple(
        len(out[k]) for k in ("missing", "extra", "different"))
    return out


async def test_compare_finds_exactly_the_injected_divergences(
    documents: BuiltWorkload, history: HistorySource, make_settings: SettingsFactory,
    target_kind: str,
) -> None:  # fmt: skip
    settings = make_settings(target_kind)
    history.feed(documents)
    await run_load(settings, LoadRequest(requested_by="test"))
    report, _ = await asyncio.to_thread(run_compare, settings, CompareRequest(requested_by="t"))
    assert report.differences == 0, report.summary()
    person = next(t for t in report.tables if t.table == "SI.PERSON")
    docs = next(t for t in report.tables if t.table == "HIS.DOCS")
    assert person.source_rows == person.dr_rows > 50 and person.chunks > 2
    assert docs.source_rows == 24

    state = source_state(documents)[("SI", "PERSON")]
    ids = sorted(state, key=int)
    null_address = next(k for k in ids if state[k][2] is None)
    gone, renamed = ids[3], ids[7]
    c = lambda n: _col(settings, n)  # noqa: E731
    person_t, docs_t = _tab(settings, "PERSON"), _tab(settings, "DOCS")
    dr_execute(settings, "SI", f"DELETE FROM {person_t} WHERE {c('ID')} = %s", (int(gone),))
    dr_execute(settings, "SI", f"INSERT INTO {person_t} ({c('ID')}, {c('NAME')}) VALUES (%s, %s)",
               (990001, "多余"))  # fmt: skip
    dr_execute(settings, "SI", f"UPDATE {person_t} SET {c('NAME')} = %s WHERE {c('ID')} = %s",
               ("改了", int(renamed)))  # fmt: skip
    dr_execute(settings, "SI", f"UPDATE {person_t} SET {c('ADDRESS')} = '' WHERE {c('ID')} = %s",
               (int(null_address),))  # fmt: skip
    dr_execute(settings, "HIS", f"UPDATE {docs_t} SET {c('TXT')} = {c('TXT')} || 'x' "
               f"WHERE {c('ID')} = %s", (20,))  # a 150 KB CLOB, compared by its SHA-256
    blob_change = ("UPDATE {t} SET {b} = %s WHERE {i} = %s").format(
        t=docs_t, b=c("BIN"), i=c("ID"))  # fmt: skip
    dr_execute(settings, "HIS", blob_change, (b"\x00" * 8000, 3))

    report, _ = await asyncio.to_thread(run_compare, settings, CompareRequest(requested_by="t"))
    assert _found(report, "SI.PERSON") == {
        "missing": {(gone,)},
        "extra": {("990001",)},
        "different": {(renamed, "NAME"), (null_address, "ADDRESS")},
    }, report.summary()
    assert _found(report, "HIS.DOCS") == {"missing": set(), "extra": set(),
                                         "different": {("20", "TXT"), ("3", "BIN")}}
    assert _found(report, "HIS.VISIT") == {"missing": set(), "extra": set(), "different": set()}
    assert report.differences == 6

    shown = await asyncio.to_thread(run_repair, settings, report, RepairRequest(
        report.run_id, "alice", "injected divergences"))  # fmt: skip
    assert not shown["applied"] and sum(len(t["upserts"]) for t in shown["tables"]) == 5
    assert report.differences == 6  # only shown
    done = await asyncio.to_thread(run_repair, settings, report, RepairRequest(
        report.run_id, "alice", "injected divergences", apply=True))  # fmt: skip
    tables = {t["table"]: t for t in done["tables"]}
    assert (tables["SI.PERSON"]["written"], tables["SI.PERSON"]["deleted"]) == (3, 1)
    assert tables["HIS.DOCS"]["written"] == 2
    after, _ = await asyncio.to_thread(run_compare, settings, CompareRequest(requested_by="t"))
    assert after.differences == 0, after.summary()
    admin = open_target(settings.target).connect(admin=True)
    try:
        audit = next(a for a in admin.audits() if a.audit_id == done["audit_id"])
    finally:
        admin.close()
    assert (audit.action, audit.requested_by, audit.result) == ("repair", "alice", "completed")
    assert audit.detail["reason"] == "injected divergences"
    assert audit.outcome["written"] == 5 and audit.outcome["deleted"] == 1


async def test_compare_while_apply_runs_needs_no_hold(
    workload: tuple[BuiltWorkload, Path], history: HistorySource, make_settings: SettingsFactory,
    kafka_bootstrap: str, tmp_path: Path,
) -> None:  # fmt: skip
    built, redo = workload
    settings = make_settings("postgresql", compare={"rows_per_chunk": 10},
                             apply={"max_group_transactions": 1, "fetch_max_records": 5})
    scn = built.expected[len(built.expected) // 3].commit_scn
    history.feed(built, upto_scn=scn)
    await run_load(settings, LoadRequest(scn=scn, requested_by="test"))
    history.feed(built)
    run_capture(redo, kafka_bootstrap, settings.kafka.topic_prefix, tmp_path)

    applying = asyncio.create_task(apply_once(settings))
    report, _ = await asyncio.to_thread(run_compare, settings, CompareRequest(requested_by="t"))
    statuses = await applying
    assert all(s.error is None for s in statuses.values())
    assert report.differences == 0, report.summary()
    scns = {t.table: (t.scn_min, t.scn_max) for t in report.tables}
    assert any(lo is not None and hi is not None and lo < hi for lo, hi in scns.values()), scns


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "drapply", *args, "--config", str(config)],
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip


def test_the_commands_load_compare_and_repair(
    documents: BuiltWorkload, history: HistorySource, make_settings: SettingsFactory,
    tmp_path: Path,
) -> None:  # fmt: skip
    settings = make_settings("sqlite")
    config = write_config(settings, tmp_path / "apply.toml")
    scn = history.feed(documents)
    loaded = _cli(config, "load", "--scn", "now", "--requested-by", "ops", "--json")
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout)["scn"] == scn
    assert f"capture must start at SCN {scn}" in loaded.stderr

    visit = min(source_state(documents)[("HIS", "VISIT")], key=int)
    dr_execute(settings, "HIS", 'DELETE FROM {s}."VISIT" WHERE "ID" = %s', (int(visit),))
    out = tmp_path / "report.json"
    compared = _cli(config, "compare", "--requested-by", "ops", "--out", str(out))
    assert compared.returncode == 1, compared.stderr
    assert "HIS.VISIT -> HIS.VISIT: 1 missing, 0 extra, 0 different" in compared.stdout
    run_id = json.loads(out.read_text())["run_id"]
    plan = _cli(config, "repair", "--report", str(out), "--requested-by", "ops")
    assert plan.returncode == 0 and json.loads(plan.stdout)["applied"] is False, plan.stderr
    refused = _cli(config, "repair", "--run-id", run_id, "--requested-by", "ops", "--apply")
    assert refused.returncode != 0 and "--reason" in refused.stderr
    fixed = _cli(config, "repair", "--run-id", run_id, "--requested-by", "ops", "--apply",
                 "--reason", "row deleted by hand on the DR side")  # fmt: skip
    assert fixed.returncode == 0, fixed.stderr
    again = _cli(config, "compare", "--requested-by", "ops", "--table", "HIS.*")
    assert again.returncode == 0 and "no differences" in again.stdout, again.stdout
    held = _cli(config, "compare", "--requested-by", "ops", "--scn", str(scn + 5))
    assert held.returncode == 1 and f"not at SCN {scn + 5}" in held.stdout
    at = _cli(config, "compare", "--requested-by", "ops", "--scn", str(scn), "--table", "SI.*")
    assert at.returncode == 0, at.stdout
