"""Every test method of oracdc's redo-record suite, restated against our assembler.

For each method (``oracdc_expected.GROUPS``) the fixture records are fed in the suite's
order, every open transaction is committed, and the row changes must be the suite's
statements: operation, position RBA, ROWID, and, where the suite holds a LogMiner SQL_REDO
text, the columns. Methods that check a single record (11.17, 19.1) are
``RECORD_FACTS``.

How LogMiner's columns map onto our change (``column_differences``):

* UPDATE: every SET column is in ``after`` with that value; ``before`` holds exactly the
  WHERE columns and values; ``after`` may hold further columns (the supplemental ones that
  do not change, which LogMiner lists in WHERE only) but each must appear in WHERE with
  the same value.
* INSERT: ``after`` equals VALUES; DELETE: ``before`` equals WHERE. We may list more NULL
  columns than LogMiner, never other values.

We target LogMiner also where the suite asserts its own output NOT equal to it
(Op11_5_SL_Unique, both Ops_IRP_ORP methods), and meet it.

What the suite asserts that we do not check here, and why:

* Every method: the per-record flags (has 5.1 / 10.x / 11.x, fb and supplemental fb
  values, ``compressed``), the opcode of the level-10/11 vector, and equality of
  ``halfDoneKey`` between records. They are record-parsing facts (``test_redo_oracdc_records``
  restates some of them); ``halfDoneKey`` is oracdc's own pairing key, and which records
  pair up is what the statement counts and RBAs below check.
* Every transaction method: ``transaction.completed()``, a state of oracdc's transaction
  object with no counterpart here (our commit returns the transaction, or None).
* Op11_17: the LOB id and the LOB operation (write): our 11.17 parser does not decode them.
  Op11_17 and Op19_1: the absence of a 5.1 (and, for 19.1, of a KRV DLR 10) vector.
* PartialRollback_Test.unpairedRedoRecords lists, in a comment, twelve RBAs LogMiner
  reports as UNSUPPORTED (and moves to the commit SCN); the suite asserts nothing about them
  beyond "no statement at all", which we check.

Where we check differently or more:

* Where the suite stops after the statements it lists without asserting that no further
  statement follows (``suite_asserts_count`` false) we still assert the count: the listed
  statements account for every record fed.
* Ops_URP_LMN_BindingTest.test checks substrings of its statement text; we check the same
  column values in ``before``/``after`` (``contains`` / ``where_contains``).
* Op11_5_Test.homegeneousMtlMaterialTransactionsReverse asserts each statement's SCN; we
  check ``position.scn``. No other method asserts an SCN.
* Ops_DRP_LMN_BindingTest.testOP11_16_With_Only_P_Flag prints DELETE texts in comments
  only; we compare our before images with them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import pytest
from drcapture.redo.ops.direct import DirectLoad
from drcapture.redo.ops.lob import LobOp
from drcapture.redo.txn.assembler import (
    AssemblerOptions,
    CommittedTransaction,
    TransactionAssembler,
)
from drcapture.values.decode import decode_column
from drcommon.model import Operation, RowChange

from tests.unit.capture.oracdc_expected import (
    GROUPS,
    RECORD_FACTS,
    Columns,
    Group,
    LogMinerColumns,
    RecordFacts,
    Statement,
    cols,
)
from tests.unit.capture.test_iot_records import _dictionary as iot_dictionary
from tests.unit.capture.test_redo_helpers import (
    ORACDC,
    IndexedRecord,
    folder_records,
    hex_assembler,
)

COMMIT_RBA = "0x000001.00000002.0010"
_IOT_FOLDERS = frozenset({"Op10_30_Test", "Op10_35_Test"})


class _Absent:
    def __repr__(self) -> str:
        return "absent"


ABSENT: Any = _Absent()

# Each reason names the part of the row-assembly rewrite the difference belongs to.
XFAIL: dict[str, str] = {
}
RECORD_XFAIL: dict[str, str] = {
}


def _params(items: tuple[Any, ...], xfail: Mapping[str, str]) -> list[Any]:
    return [pytest.param(item, id=item.key, marks=(
        [pytest.mark.xfail(strict=True, reason=xfail[item.key])] if item.key in xfail else []))
        for item in items]


def _records(folder: str, numbers: tuple[int, ...]) -> list[IndexedRecord]:
    by_number = {r.number: r for r in folder_records(folder)}
    return [by_number[n] for n in numbers]


def _committed_changes(group: Group) -> list[RowChange]:
    """Feed the group's records in the suite's order, then commit what is still open."""
    # An index-organized table's changes name its index, which only a dictionary that
    # knows the IOT can map (the suite's statements for it give operation and RBA only).
    asm = hex_assembler() if group.folder not in _IOT_FOLDERS else TransactionAssembler(
        iot_dictionary(), AssemblerOptions(thread=1, decoder=decode_column))
    committed: list[CommittedTransaction] = []
    for rec in _records(group.folder, group.records):
        committed.extend(asm.feed(rec.parsed()))
    for txn in asm.open_transactions():
        done = asm.commit(txn.xid, scn=1, rba=COMMIT_RBA)
        if done is not None:
            committed.append(done)
    return [change for txn in committed for change in txn.changes]


def _numbered(image: Mapping[str, object] | None) -> dict[int, object]:
    """``{"COL 3": v}`` -> ``{3: v}``: unknown objects name their columns by position."""
    out: dict[int, object] = {}
    for name, value in (image or {}).items():
        m = re.fullmatch(r"COL (\d+)", name)
        assert m is not None, f"column {name!r} is not named COL n"
        out[int(m.group(1))] = value
    return out


def _image_differences(label: str, ours: dict[int, object], theirs: Columns) -> list[str]:
    """Ours must equal LogMiner's; an extra column of ours is allowed only when NULL."""
    out = []
    for col in sorted(set(ours) | set(theirs)):
        mine, want = ours.get(col, ABSENT), theirs.get(col, ABSENT)
        if mine != want and not (want is ABSENT and mine is None):
            out.append(f"{label} COL {col}: LogMiner {want!r}, ours {mine!r}")
    return out


def _update_differences(before: dict[int, object], after: dict[int, object],
                        lm: LogMinerColumns) -> list[str]:
    where = lm.where_columns
    out = [f"SET COL {col}: LogMiner {want!r}, after {after.get(col, ABSENT)!r}"
           for col, want in lm.set_columns.items() if after.get(col, ABSENT) != want]
    out += [f"WHERE COL {col}: LogMiner {where.get(col, ABSENT)!r}, "
            f"before {before.get(col, ABSENT)!r}"
            for col in sorted(set(before) | set(where))
            if before.get(col, ABSENT) != where.get(col, ABSENT)]
    # LogMiner keeps unchanged supplemental columns in WHERE only; we may carry them in
    # after as well, but then with the value WHERE shows.
    out += [f"after COL {col} = {value!r} is neither set nor unchanged (WHERE "
            f"{where.get(col, ABSENT)!r})"
            for col, value in sorted(after.items())
            if col not in lm.set_columns and where.get(col, ABSENT) != value]
    return out


def column_differences(change: RowChange, lm: LogMinerColumns) -> list[str]:
    """Everything in our change that contradicts LogMiner's statement, one line each."""
    before, after = _numbered(change.before), _numbered(change.after)
    if change.op is Operation.UPDATE:
        return _update_differences(before, after, lm)
    if change.op is Operation.INSERT:
        return _image_differences("VALUES", after, lm.values)
    return _image_differences("WHERE", before, lm.where_columns)


def _partial_differences(change: RowChange, stmt: Statement) -> list[str]:
    """The suite's substring checks: a column value anywhere, or in the WHERE clause."""
    before, after = _numbered(change.before), _numbered(change.after)
    out = [f"COL {col} = {want!r} in neither image"
           for col, want in stmt.contains.items()
           if before.get(col, ABSENT) != want and after.get(col, ABSENT) != want]
    out += [f"WHERE COL {col}: want {want!r}, before {before.get(col, ABSENT)!r}"
            for col, want in stmt.where_contains.items() if before.get(col, ABSENT) != want]
    return out


@pytest.mark.parametrize("group", _params(GROUPS, XFAIL))
def test_statements_as_the_suite_expects(group: Group) -> None:
    changes = _committed_changes(group)
    seen = [(c.op.value, c.position.rba if c.position else None) for c in changes]
    assert seen == [(s.op, s.rba) for s in group.statements]
    for change, stmt in zip(changes, group.statements, strict=True):
        if stmt.row_id is not None:
            assert change.row_id == stmt.row_id, stmt.rba
        if stmt.scn is not None:
            assert change.position is not None and change.position.scn == stmt.scn, stmt.rba
        if group.folder in _IOT_FOLDERS:
            continue  # named columns (test_iot_records checks their values); no COL n facts
        assert _partial_differences(change, stmt) == [], stmt.rba
        if stmt.logminer is not None:
            assert change.obj == stmt.logminer.obj and change.table == f"OBJ# {change.obj}"
            assert column_differences(change, stmt.logminer) == [], stmt.rba


@pytest.mark.parametrize("facts", _params(RECORD_FACTS, RECORD_XFAIL))
def test_single_record_facts(facts: RecordFacts) -> None:
    (rec,) = _records(facts.folder, (facts.record,))
    found = [(pv.vector.header.con_id, pv.op) for pv in rec.parsed().ops
             if isinstance(pv.op, LobOp | DirectLoad)]
    assert len(found) == 1
    con_id, op = found[0]
    assert con_id == facts.con_id
    if isinstance(op, LobOp):
        assert (op.obj, op.kind, op.columns) == (facts.obj, facts.llb_type, (facts.lob_column,))
    else:
        assert op.data_obj == facts.obj
        assert len(op.rows) == (facts.direct_rows or 0)


# --- the facts themselves --------------------------------------------------------------------


def test_every_fixture_belongs_to_exactly_the_method_it_was_taken_from() -> None:
    index = json.loads((ORACDC / "index.json").read_text())
    method_of = {(e["file"].split("/")[0], int(e["file"].split("/")[1][:3])): e["method"]
                 for e in index}
    fed = [((g.folder, n), g.method) for g in GROUPS for n in g.records]
    fed += [((f.folder, f.record), f.method) for f in RECORD_FACTS]
    assert sorted(k for k, _ in fed) == sorted(method_of)  # each fixture once, none left out
    assert all(method_of[k] == method for k, method in fed)


def test_statement_rbas_are_records_of_their_group() -> None:
    for group in GROUPS:
        rbas = {str(r.rba) for r in _records(group.folder, group.records)}
        assert {s.rba for s in group.statements} <= rbas, group.key


def test_logminer_texts_count() -> None:
    uses = [s.logminer.suite_use for g in GROUPS for s in g.statements if s.logminer]
    assert (uses.count("equal"), uses.count("not_equal"), uses.count("comment")) == (17, 3, 3)


def test_cols_expands_null_ranges_and_refuses_overlap() -> None:
    assert dict(cols({2: "C102"}, nulls="1,3-5")) == {1: None, 2: "C102", 3: None, 4: None,
                                                      5: None}
    with pytest.raises(ValueError):
        cols({3: "80"}, nulls="2-4")


def _change(op: Operation, before: dict[str, str | None] | None,
            after: dict[str, str | None] | None) -> RowChange:
    return RowChange(op=op, owner="UNKNOWN", table="OBJ# 1", obj=1, before=before, after=after)


def test_column_differences_apply_logminer_semantics() -> None:
    lm = LogMinerColumns(obj=1, set_columns=cols({2: "C103"}),
                         where_columns=cols({1: "C102", 2: "C102"}, nulls="3"))
    # An unchanged supplemental column may ride along in after if WHERE shows that value.
    same = _change(Operation.UPDATE, {"COL 1": "C102", "COL 2": "C102", "COL 3": None},
                   {"COL 1": "C102", "COL 2": "C103"})
    assert column_differences(same, lm) == []
    wrong = _change(Operation.UPDATE, {"COL 1": "C102", "COL 2": "C102"},
                    {"COL 1": "C109", "COL 2": "C104"})
    assert column_differences(wrong, lm) == [
        "SET COL 2: LogMiner 'C103', after 'C104'",
        "WHERE COL 3: LogMiner None, before absent",
        "after COL 1 = 'C109' is neither set nor unchanged (WHERE 'C102')",
    ]
    delete = LogMinerColumns(obj=1, where_columns=cols({1: "80"}))
    assert column_differences(_change(Operation.DELETE, {"COL 1": "80", "COL 9": None}, None),
                              delete) == []
    assert column_differences(_change(Operation.DELETE, {"COL 1": "80", "COL 9": "80"}, None),
                              delete) == ["WHERE COL 9: LogMiner absent, ours '80'"]
