"""``plan.batches`` against an in-memory reference: executing its batches level by level
gives the same table as executing the changes in order, for any valid change sequence
(inserts, updates, deletes, updates that move a row to another key)."""

from __future__ import annotations

from typing import Any

from drapply.adapters.base import BoundChange
from drapply.naming import TableRef
from drapply.plan import batches
from drcommon.model import Operation
from hypothesis import given, settings
from hypothesis import strategies as st

TABLES = (TableRef("s", "a"), TableRef("s", "b"))
COLS = ("x", "y")
Table = dict[tuple[Any, ...], dict[str, Any]]


def _change(
    op: Operation, table: TableRef, key: int, sets: dict[str, Any], image: dict[str, Any] | None
) -> BoundChange:
    moved = image is not None and image["id"] != key
    return BoundChange(
        op=op, table=table, owner="S", source_table=table.table, key_cols=("id",),
        key_vals=(key,), set_cols=tuple(sets), set_vals=tuple(sets.values()), image=image,
        new_key=(image["id"],) if moved and image is not None else None,
    )  # fmt: skip


@st.composite
def sequences(draw: st.DrawFn) -> list[BoundChange]:
    """Changes that are valid in order: insert only absent keys, update/delete present."""
    state: dict[TableRef, Table] = {t: {} for t in TABLES}
    out = []
    for _ in range(draw(st.integers(0, 60))):
        table = draw(st.sampled_from(TABLES))
        rows = state[table]
        absent = [k for k in range(8) if (k,) not in rows]
        kinds = (["insert"] if absent else []) + (["update", "delete", "move"] if rows else [])
        kind = draw(st.sampled_from(kinds))
        if kind == "insert":
            key = draw(st.sampled_from(absent))
            row = {"id": key, **{c: draw(st.integers(0, 3)) for c in COLS}}
            rows[(key,)] = row
            out.append(_change(Operation.INSERT, table, key, row, None))
            continue
        key = draw(st.sampled_from(sorted(rows)))[0]
        if kind == "delete":
            del rows[(key,)]
            out.append(_change(Operation.DELETE, table, key, {}, None))
            continue
        cols = draw(st.lists(st.sampled_from(COLS), min_size=1, max_size=2, unique=True))
        sets: dict[str, Any] = {c: draw(st.integers(0, 3)) for c in cols}
        if kind == "move" and absent:
            sets["id"] = draw(st.sampled_from(absent))
        old = rows.pop((key,))
        new = {**old, **sets}
        rows[(new["id"],)] = new
        out.append(_change(Operation.UPDATE, table, key, sets, new))
    return out


def _run(tables: dict[TableRef, Table], change: BoundChange) -> None:
    rows = tables[change.table]
    if change.op is Operation.INSERT:
        assert change.key_vals not in rows, "insert of a present row"
        rows[change.key_vals] = dict(zip(change.set_cols, change.set_vals, strict=True))
    elif change.op is Operation.DELETE:
        assert rows.pop(change.key_vals, None) is not None, "delete of a missing row"
    else:
        row = rows.pop(change.key_vals, None)
        assert row is not None, "update of a missing row"
        row.update(zip(change.set_cols, change.set_vals, strict=True))
        assert (row["id"],) not in rows, "update onto a present row"
        rows[(row["id"],)] = row


@settings(max_examples=200, deadline=None)
@given(sequences())
def test_batches_give_the_result_of_applying_in_order(changes: list[BoundChange]) -> None:
    in_order: dict[TableRef, Table] = {t: {} for t in TABLES}
    for change in changes:
        _run(in_order, change)
    batched: dict[TableRef, Table] = {t: {} for t in TABLES}
    seen = 0
    for run in batches(changes):
        assert len({c.run_key for c in run}) == 1, "a batch mixes statement shapes"
        keys = [(c.table, c.key_vals) for c in run]
        assert len(set(keys)) == len(keys), "a batch touches one row twice"
        for change in run:
            _run(batched, change)
        seen += len(run)
    assert seen == len(changes)
    assert batched == in_order
