"""Parallel apply within one stream (``apply.parallel``), against real PostgreSQL and
SQLite: workloads whose transactions keep touching the same few rows (updates that move
a row to another key, a table without a key, deletes and re-inserts of one key) end
column by column equal to the source, whatever N, with the checkpoint at the end and
no transaction re-applied one by one (a group let run beside one it overlaps would make
a batch miss its row and fall back to that, or end different).

SQLite and Oracle allow one writer: there ``apply.parallel`` runs serially (checked).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from drapply.adapters.registry import open_target
from drapply.applier import Applier
from drapply.settings import load_apply_settings
from drapply.wiring import applier_factory, naming_for, stream_for
from drcommon.errors import ConfigError
from drcommon.model import Operation, RowChange, TransactionInfo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.apply.conftest import assert_same, read_table
from tests.integration.apply.synth import COLUMNS, Row, SourceTx, SyntheticSource
from tests.integration.apply.test_applier_mixes import Isolations, _feed_all, _records

KEYED = ("ACCOUNTS", "LEDGER")
KEYLESS = "NOTES"


class Overlapping(SyntheticSource):
    """Transactions over a few keys per table: most of them touch a row an earlier one
    touched shortly before."""

    keys: int = 6

    def change_on(self, owner: str, table: str, move: bool) -> RowChange:
        rows = self.state[(owner, table)]
        ident = self.rng.randint(1, self.keys)
        pk: tuple[str, ...] = () if table == KEYLESS else ("ID",)
        if ident not in rows:
            row = self._row(ident)
            rows[ident] = row
            return RowChange(op=Operation.INSERT, owner=owner, table=table, pk=pk,
                             after=dict(row), columns=COLUMNS)  # fmt: skip
        old = rows[ident]
        roll = self.rng.random()
        if roll < 0.6:
            new = self._row(ident)
            changed: dict[str, Any] = {k: v for k, v in new.items() if k != "ID"}
            free = [k for k in range(1, self.keys + 1) if k not in rows]
            if move and pk and free and self.rng.random() < 0.3:  # the row moves to a free key
                target = self.rng.choice(free)
                changed["ID"] = str(target)
                del rows[ident]
                rows[target] = {**old, **changed}
            else:
                rows[ident] = {**old, **changed}
            return RowChange(op=Operation.UPDATE, owner=owner, table=table, pk=pk,
                             before=dict(old), after=changed, columns=COLUMNS)  # fmt: skip
        del rows[ident]
        return RowChange(op=Operation.DELETE, owner=owner, table=table, pk=pk,
                         before=dict(old), columns=COLUMNS)  # fmt: skip

    def overlapping(self, owner: str, size: int, tables: tuple[str, ...], move: bool) -> SourceTx:
        changes = [self.change_on(owner, self.rng.choice(tables), move) for _ in range(size)]
        self.scn += self.rng.randint(1, 5)
        info = TransactionInfo(
            xid=f"0x{self.scn:04x}.002.{self.rng.randint(0, 99999):08d}",
            commit_scn=self.scn, commit_ts=self.clock, thread=1,
            commit_rba=f"0x{self.scn:06x}.0001.0010", changes_total=size, schemas=(owner,),
        )  # fmt: skip
        return SourceTx(info, changes)


def _apply(
    kind: str, target_dir: Path, dsn: str | None, parallel: int, group: int,
    records: list[Any], splits: list[int], owner: str,
) -> tuple[Applier, Isolations, Any, dict[str, dict[int, Row]]]:  # fmt: skip
    key = uuid.uuid4().hex[:8]
    target: dict[str, Any] = {"kind": kind}
    if kind == "postgresql":
        target.update(dsn=dsn, control_schema=f"drapply_p{key}")
    else:
        target["path"] = target_dir / f"{key}.sqlite"
    app_settings = load_apply_settings(
        None,
        kafka={"bootstrap_servers": "127.0.0.1:1", "topic_prefix": "p"},
        target=target,
        apply={"parallel": parallel, "max_group_transactions": group},
    )
    observer = Isolations()
    stream = stream_for(naming_for(app_settings, app_settings.target), f"p.{owner}", owner)
    session = open_target(app_settings.target).connect()
    applier = applier_factory(app_settings, app_settings.target, observer)(session, stream)
    try:
        applier.open(0)
        _feed_all(applier, records, iter(splits * 1000))
        checkpoint = session.load_checkpoint(stream, 0)
        touched = {c.table for r in records if hasattr(r.message, "changes")
                   for c in r.message.changes}  # fmt: skip
        tables = {t: read_table(app_settings, owner, t) if t in touched else {}
                  for t in (*KEYED, KEYLESS)}  # fmt: skip
    finally:
        applier.close()
        session.close()
        if kind == "postgresql":
            assert dsn is not None
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{stream.schema}" CASCADE')
                conn.execute(f'DROP SCHEMA "drapply_p{key}" CASCADE')
    return applier, observer, checkpoint, tables


@pytest.fixture
def target_dir(tmp_path: Path) -> Path:
    return tmp_path


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_overlapping_workloads_end_equal_to_serial(
    data: st.DataObject, target_kind: str, target_dir: Path, request: pytest.FixtureRequest
) -> None:
    draw = data.draw
    owner = f"P{uuid.uuid4().hex[:8].upper()}"
    tables = draw(st.sampled_from([KEYED, (*KEYED, KEYLESS)]))
    source = Overlapping([owner], tables=(*KEYED, KEYLESS), seed=draw(st.integers(0, 10**6)))
    source.keys = draw(st.sampled_from([2, 6, 40]))
    move = draw(st.booleans())
    txs = [
        source.overlapping(owner, draw(st.integers(1, 6)), tables, move)
        for _ in range(draw(st.integers(5, 80)))
    ]
    records = _records(source, txs, draw(st.sampled_from([2, 100])), 0)
    splits = draw(st.lists(st.integers(1, 60), min_size=20, max_size=20))
    group = draw(st.sampled_from([1, 2, 5]))
    dsn = request.getfixturevalue("postgres_dsn") if target_kind == "postgresql" else None
    results = {}
    for parallel in (1, 2, 4):
        applier, observer, checkpoint, got = _apply(
            target_kind, target_dir, dsn, parallel, group, records, splits, owner
        )
        expected_lanes = parallel if target_kind == "postgresql" else 1
        assert applier.parallel_lanes == expected_lanes
        assert observer.count == 0, f"N={parallel}: a clean workload fell back to one-by-one"
        assert checkpoint.next_offset == len(records)
        assert checkpoint.commit_scn == txs[-1].info.commit_scn
        assert applier.totals.transactions == len(txs)
        for table in (*KEYED, KEYLESS):
            assert_same(source.state[(owner, table)], got[table], f"N={parallel} {table}")
        results[parallel] = got
    assert results[2] == results[1] and results[4] == results[1]


def test_disjoint_groups_run_side_by_side(
    postgres_dsn: str, target_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL, groups that share no row really do run at once (two lanes inside
    their statements together), and still commit in source order."""
    from drapply import lanes as lanes_module

    owner = f"P{uuid.uuid4().hex[:8].upper()}"
    source = SyntheticSource([owner], tables=KEYED, seed=7)
    txs = [source.insert_only(owner, 50, KEYED[i % 2]) for i in range(40)]
    records = _records(source, txs, 100, 0)
    inside = {"now": 0, "peak": 0}
    real_run = lanes_module.Lanes._run

    def run(self: Any, job: Any) -> None:
        inside["now"] += 1
        inside["peak"] = max(inside["peak"], inside["now"])
        import time

        time.sleep(0.02)  # long enough for the next group to start beside it
        inside["now"] -= 1
        real_run(self, job)

    monkeypatch.setattr(lanes_module.Lanes, "_run", run)
    applier, observer, checkpoint, got = _apply(
        "postgresql", target_dir, postgres_dsn, 2, 1, records, [len(records)], owner
    )
    assert applier.parallel_lanes == 2 and observer.count == 0
    assert inside["peak"] == 2
    assert checkpoint.next_offset == len(records)
    for table in KEYED:
        assert_same(source.state[(owner, table)], got[table], table)


def test_parallel_is_validated() -> None:
    base = {"kafka": {"bootstrap_servers": "127.0.0.1:1"}, "target": {"kind": "sqlite"}}
    with pytest.raises(ConfigError):
        load_apply_settings(None, **base, apply={"parallel": 0})
    with pytest.raises(ConfigError):
        load_apply_settings(None, **base, apply={"parallel": 33})
    assert load_apply_settings(None, **base).apply.parallel == 1
