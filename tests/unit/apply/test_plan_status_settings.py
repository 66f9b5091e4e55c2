"""Binding row changes, status arithmetic, the gate and settings validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from drapply.errors import BadRecord, UnconfiguredTable, ValueNotStorable
from drapply.gate import Gate
from drapply.naming import Naming
from drapply.plan import Planner, runs
from drapply.settings import (
    IdentifierCase,
    RenameSettings,
    SourceSettings,
    TargetKind,
    load_apply_settings,
)
from drapply.status import StreamState, StreamStatus, overall
from drapply.typemap import integer_or_text
from drcommon.errors import ConfigError
from drcommon.model import ColumnInfo, NotLogged, Operation, RowChange

COLS = {"ID": ColumnInfo(type="NUMBER"), "NAME": ColumnInfo(type="VARCHAR2")}


def planner(**source: object) -> Planner:
    naming = Naming(RenameSettings(), IdentifierCase.LOWER, TargetKind.POSTGRESQL)
    return Planner(naming, lambda info: integer_or_text, SourceSettings(**source))


def change(op: Operation, **kw: object) -> RowChange:
    return RowChange(op=op, owner="HR", table="EMP", columns=COLS, **kw)


def test_bind_update_uses_the_before_key_and_builds_the_full_image() -> None:
    bound = planner().bind(
        change(Operation.UPDATE, pk=("ID",), before={"ID": "7", "NAME": "a"},
               after={"NAME": "b"})
    )  # fmt: skip
    assert (bound.key_cols, bound.key_vals) == (("id",), (7,))
    assert (bound.set_cols, bound.set_vals) == (("name",), ("b",))
    assert bound.image == {"id": 7, "name": "b"}
    assert bound.key_text() == "id=7"


def test_bind_without_full_image_and_without_pk() -> None:
    wide = {**COLS, "NOTE": ColumnInfo(type="VARCHAR2")}
    partial = planner().bind(
        RowChange(op=Operation.UPDATE, owner="HR", table="EMP", columns=wide, pk=("ID",),
                  before={"ID": "7"}, after={"NAME": "b"})
    )  # fmt: skip
    assert partial.image == {"id": 7, "name": "b"}  # completeness is judged on the target
    nokey = planner().bind(change(Operation.DELETE, before={"ID": "7", "NAME": None}))
    assert nokey.key_cols == ("id", "name") and not nokey.has_pk


def test_bind_refuses_a_missing_key_value() -> None:
    with pytest.raises(BadRecord, match="key column"):
        planner().bind(change(Operation.DELETE, pk=("ID",), before={"NAME": "x"}))


def test_a_not_logged_before_value_is_left_out_of_the_match() -> None:
    blob = NotLogged(oracle_type="BLOB", reason="a deleted LOB's content is not in the redo")
    cols = {**COLS, "DOC": ColumnInfo(type="BLOB")}
    bound = planner().bind(RowChange(op=Operation.DELETE, owner="HR", table="EMP", columns=cols,
                                     before={"ID": "7", "NAME": None, "DOC": blob}))
    assert bound.key_cols == ("id", "name")  # no key: the logged columns identify the row


def test_a_not_logged_after_value_is_refused() -> None:
    blob = NotLogged(oracle_type="BLOB", reason="symbol table entry not in the redo")
    cols = {**COLS, "DOC": ColumnInfo(type="BLOB")}
    with pytest.raises(ValueNotStorable, match="does not carry") as caught:
        planner().bind(RowChange(op=Operation.INSERT, owner="HR", table="EMP", columns=cols,
                                 after={"ID": "7", "NAME": "a", "DOC": blob}))
    assert caught.value.where["column"] == "DOC"


def test_a_change_capture_could_not_decode_is_refused() -> None:
    with pytest.raises(ValueNotStorable, match=r"could not decode this change: 11\.19"):
        planner().bind(change(Operation.UNKNOWN, undecoded="11.19 is not decoded"))


def test_table_configuration() -> None:
    p = planner(tables=["HR.EMP"], skip_tables=["HR.TMP_*"])
    assert not p.skipped(change(Operation.INSERT, after={"ID": "1"}))
    skip = RowChange(op=Operation.INSERT, owner="HR", table="TMP_1", after={"ID": "1"})
    assert p.skipped(skip)
    other = RowChange(op=Operation.INSERT, owner="HR", table="JOBS", after={"ID": "1"})
    with pytest.raises(UnconfiguredTable, match=r"HR\.JOBS"):
        p.skipped(other)


def test_runs_group_consecutive_same_shape_changes() -> None:
    p = planner()
    ins = [p.bind(change(Operation.INSERT, pk=("ID",), after={"ID": str(i), "NAME": "n"}))
           for i in range(3)]  # fmt: skip
    upd = p.bind(change(Operation.UPDATE, pk=("ID",), before={"ID": "1"}, after={"NAME": "x"}))
    assert [len(r) for r in runs([*ins[:2], upd, ins[2]])] == [2, 1, 1]


def test_status_lag() -> None:
    now = datetime(2024, 1, 1, 12, tzinfo=UTC)
    st = StreamStatus("HR", "t", 0, applied_scn=100, source_commit_ts=now - timedelta(seconds=5))
    st.saw(130)
    st.queue_depth = 4
    assert st.lag_scn() == 30 and st.lag_seconds(now) == 5.0
    st.watermark_scn = 130
    st.queue_depth = 0
    assert st.lag_scn() == 0 and st.lag_seconds(now) == 0.0
    assert overall([StreamState.HOLDING] * 2, stopped=False, hold_at=5) == "holding"
    assert overall([StreamState.HOLDING, StreamState.RUNNING], stopped=False, hold_at=5) == (
        "running"
    )
    assert overall([StreamState.ERROR], stopped=True, hold_at=None) == "error"


async def test_gate_versions_and_wakeups() -> None:
    gate = Gate()
    assert not await gate.changed(0, 0.01)
    gate.hold(42)
    assert await gate.changed(0, 0.01)
    assert gate.state.hold_at == 42 and not gate.state.stopped
    gate.stop()
    gate.resume()
    assert gate.state.hold_at is None and not gate.state.stopped and gate.state.version == 3


def test_settings_refuse_secrets_in_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "a.toml"
    bad.write_text('[target]\nkind = "postgresql"\ndsn = "host=x"\npassword = "hunter2"\n')
    with pytest.raises(ConfigError, match="DRAPPLY__TARGET__PASSWORD"):
        load_apply_settings(bad)
    bad.write_text('[target]\nkind = "postgresql"\ndsn = "postgresql://u:pw@h/db"\n')
    with pytest.raises(ConfigError, match="DSN holds a password"):
        load_apply_settings(bad)
    bad.write_text('[target]\nkind = "postgresql"\n')
    with pytest.raises(ConfigError, match="dsn is required"):
        load_apply_settings(bad)
    good = tmp_path / "b.toml"
    good.write_text('[target]\nkind = "sqlite"\npath = "x/dr.sqlite"\n')
    assert load_apply_settings(good).target.path == Path("x/dr.sqlite")


def test_batches_keep_order_per_row_and_merge_the_rest() -> None:
    from drapply.plan import batches

    p = planner()

    def ins(i: int) -> object:
        return p.bind(change(Operation.INSERT, pk=("ID",), after={"ID": str(i), "NAME": "n"}))

    def upd(i: int, new: int | None = None) -> object:
        after = {"NAME": "x"} if new is None else {"ID": str(new)}
        return p.bind(change(Operation.UPDATE, pk=("ID",), before={"ID": str(i)}, after=after))

    def dele(i: int) -> object:
        return p.bind(change(Operation.DELETE, pk=("ID",), before={"ID": str(i)}))

    group = [ins(1), upd(1), ins(2), dele(1), ins(3), upd(2), ins(1), upd(3, new=9), ins(9)]
    out = list(batches(group))  # type: ignore[arg-type]
    order = [(c.op.value, c.key_vals[0]) for run in out for c in run]
    assert sorted(order) == sorted((c.op.value, c.key_vals[0]) for c in group)  # type: ignore[attr-defined]
    for row in (1, 2, 3, 9):  # every row sees its changes in the original order
        mine = [o for o in order if o[1] == row]
        assert mine == [(c.op.value, c.key_vals[0]) for c in group if c.key_vals[0] == row]  # type: ignore[attr-defined]
    # The move 3 -> 9 comes before the insert of 9 (it frees nothing, but 9 is its row).
    assert order.index(("update", 3)) < order.index(("insert", 9))
    assert len(out[0]) == 3  # inserts of 1, 2 and 3 share the first statement


def test_service_health_is_the_worst_of_errors_faults_and_requests() -> None:
    from drapply.status import StreamState, StreamStatus, service_health
    from drcommon.faults import FaultBoard
    from drcommon.http import HealthStatus

    board, hr, fin = FaultBoard(), StreamStatus("HR", "t.HR", 0), StreamStatus("FIN", "t.FIN", 0)

    def health(**flags: bool) -> tuple[HealthStatus, dict[str, object]]:
        report = service_health([hr, fin], board, 100.0, {"instance": "i"},
                                connecting=flags.get("connecting", False),
                                stopped=flags.get("stopped", False))
        return report.status, report.details

    assert health()[0] is HealthStatus.OK
    assert health(stopped=True)[0] is HealthStatus.DEGRADED
    assert health(connecting=True) == (HealthStatus.DEGRADED, {"instance": "i",
                                                                "note": "connecting"})
    hr.faults.report("database", "PostgreSQL is unreachable", now=90.0)
    status, details = health()
    assert status is HealthStatus.DEGRADED and details["error"] == "PostgreSQL is unreachable"
    assert details["faults"][0]["schema"] == "HR" and details["faults"][0]["seconds"] == 10.0
    board.report("kafka", "Kafka is unreachable", now=95.0)
    assert [f["part"] for f in health()[1]["faults"]] == ["kafka", "database"]
    fin.state, fin.error = StreamState.ERROR, "not JSON"
    status, details = health()
    assert status is HealthStatus.FAILING and details["error"] == "FIN: not JSON"
    assert details["schemas_in_error"] == ["FIN"]
