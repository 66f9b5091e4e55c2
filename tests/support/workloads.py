"""Seeded, realistic source activity for end-to-end tests: a small social-insurance
schema pair on a 4-thread RAC, turned into real Oracle-format redo by our writer.

Transactions run concurrently on their threads with Oracle's rules respected: a row
changed by an open transaction is locked until it ends, updates never change keys,
deletes only hit rows that exist. Some transactions roll back, some roll back to a
savepoint, some touch both schemas. Names and addresses are Chinese.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from drcapture.dictionary.model import OracleType
from drcapture.synth.workload import (
    Col,
    Commit,
    Delete,
    Insert,
    LogSwitch,
    MultiInsert,
    Op,
    Rollback,
    RollbackTo,
    Savepoint,
    Step,
    Table,
    Update,
    Workload,
    row,
)

PERSON = Table(
    "SI",
    "PERSON",
    90001,
    (
        Col("ID", OracleType.NUMBER, precision=12, scale=0, nullable=False),
        Col("NAME", OracleType.VARCHAR2, length=60),
        Col("ADDRESS", OracleType.VARCHAR2, length=200),
        Col("BALANCE", OracleType.NUMBER, precision=14, scale=2),
        Col("BORN", OracleType.DATE),
    ),
    pk=("ID",),
)
VISIT = Table(
    "HIS",
    "VISIT",
    90002,
    (
        Col("ID", OracleType.NUMBER, precision=12, scale=0, nullable=False),
        Col("PERSON_ID", OracleType.NUMBER, precision=12, scale=0),
        Col("DOCTOR", OracleType.VARCHAR2, length=40),
        Col("FEE", OracleType.NUMBER, precision=10, scale=2),
    ),
    pk=("ID",),
)
TABLES = (PERSON, VISIT)

SURNAMES = "王李张刘陈杨黄赵周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"
PLACES = ("淳安县千岛湖镇", "杭州市西湖区", "淳安县汾口镇", "建德市新安江街道", "淳安县威坪镇")


def _name(rnd: random.Random) -> str:
    return rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.randint(1, 2)))


def _person(rnd: random.Random, key: int) -> dict[str, str | None]:
    return {
        "ID": str(key),
        "NAME": _name(rnd),
        "ADDRESS": f"{rnd.choice(PLACES)}{rnd.randint(1, 300)}号" if rnd.random() < 0.9 else None,
        "BALANCE": f"{rnd.randint(-5000, 900000) / 100:.2f}".rstrip("0").rstrip("."),
        "BORN": f"{rnd.randint(1930, 2020)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
        "T00:00:00",
    }


def _visit(rnd: random.Random, key: int) -> dict[str, str | None]:
    return {
        "ID": str(key),
        "PERSON_ID": str(rnd.randint(1, 10_000)),
        "DOCTOR": _name(rnd),
        "FEE": f"{rnd.randint(1, 200000) / 100:.2f}".rstrip("0").rstrip("."),
    }


def _canonical(value: str | None) -> str | None:
    if value is None or "." not in value or "T" in value:
        return value
    return value.rstrip("0").rstrip(".") or "0"


@dataclass
class _Txn:
    label: str
    thread: int
    ops: list[Op] = field(default_factory=list)
    locked: set[tuple[str, int]] = field(default_factory=set)
    inserted: set[tuple[str, int]] = field(default_factory=set)
    deleted: set[tuple[str, int]] = field(default_factory=set)


def random_workload(  # noqa: C901 - one readable loop of a small simulation
    seed: int,
    transactions: int = 200,
    threads: int = 4,
    switch_every: int = 40,
    concurrency: int = 6,
) -> Workload:
    """A deterministic workload of about ``transactions`` transactions."""
    rnd = random.Random(seed)
    existing: dict[str, set[int]] = {"PERSON": set(), "VISIT": set()}
    locked: set[tuple[str, int]] = set()
    next_key = {"PERSON": 1, "VISIT": 1}
    steps: list[Step] = []
    open_txns: list[_Txn] = []
    started = 0
    per_thread_steps = dict.fromkeys(range(1, threads + 1), 0)

    def fresh(table: str) -> int:
        key = next_key[table]
        next_key[table] += 1
        return key

    def values(table: str, key: int) -> dict[str, str | None]:
        raw = _person(rnd, key) if table == "PERSON" else _visit(rnd, key)
        return {k: _canonical(v) for k, v in raw.items()}

    def one_op(txn: _Txn) -> Op | None:
        table = rnd.choice(("PERSON", "PERSON", "VISIT"))
        free = [k for k in existing[table] if (table, k) not in locked]
        choice = rnd.random()
        if choice < 0.45 or not free:
            key = fresh(table)
            txn.inserted.add((table, key))
            txn.locked.add((table, key))
            locked.add((table, key))
            return Insert(table, row(values(table, key)))
        if choice < 0.55:
            keys = [fresh(table) for _ in range(rnd.randint(2, 4))]
            for key in keys:
                txn.inserted.add((table, key))
                txn.locked.add((table, key))
                locked.add((table, key))
            return MultiInsert(table, tuple(row(values(table, k)) for k in keys))
        key = rnd.choice(free)
        txn.locked.add((table, key))
        locked.add((table, key))
        if choice < 0.85:
            new = values(table, key)
            names = rnd.sample([c for c in new if c != "ID"], rnd.randint(1, 2))
            return Update(table, row(ID=str(key)), row({n: new[n] for n in names}))
        txn.deleted.add((table, key))
        return Delete(table, row(ID=str(key)))

    def finish(txn: _Txn) -> None:
        commit = rnd.random() < 0.9
        steps.append(Step(txn.thread, txn.label, Commit() if commit else Rollback()))
        if commit:
            for table, key in txn.inserted:
                existing[table].add(key)
            for table, key in txn.deleted:
                existing[table].discard(key)
        locked.difference_update(txn.locked)
        open_txns.remove(txn)

    while started < transactions or open_txns:
        if started < transactions and (
            (len(open_txns) < concurrency and rnd.random() < 0.5) or not open_txns
        ):
            txn = _Txn(f"t{started}", rnd.randint(1, threads))
            started += 1
            open_txns.append(txn)
        txn = rnd.choice(open_txns)
        roll = rnd.random()
        if txn.ops and roll < 0.3:
            finish(txn)
            continue
        if txn.ops and roll < 0.34:
            # A savepoint, more work, and a rollback to it: that work must vanish. Rows it
            # touched stay locked until the transaction ends and are not reused by it.
            inserted, deleted = set(txn.inserted), set(txn.deleted)
            steps.append(Step(txn.thread, txn.label, Savepoint("sp")))
            op = one_op(txn)
            if op is not None:
                steps.append(Step(txn.thread, txn.label, op))
            steps.append(Step(txn.thread, txn.label, RollbackTo("sp")))
            txn.inserted, txn.deleted = inserted, deleted
            continue
        op = one_op(txn)
        if op is not None:
            txn.ops.append(op)
            steps.append(Step(txn.thread, txn.label, op))
            per_thread_steps[txn.thread] += 1
            if per_thread_steps[txn.thread] % switch_every == 0:
                steps.append(Step(txn.thread, "-", LogSwitch()))
    return Workload(tables=TABLES, steps=tuple(steps), db_name="SIPROD")
