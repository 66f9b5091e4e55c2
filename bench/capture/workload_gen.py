"""The capture benchmark's workload: OLTP transactions on 20 tables, as a list of
:class:`~drcapture.synth.workload.Step` s for the project's redo writer
(:func:`drcapture.synth.workload_build.build_workload`).

Each segment is an independent workload (its own rows, SCN range and clock) so segments
can be built in parallel and streamed into one big log (see :mod:`biglog`). Inside a
segment a handful of sessions work concurrently: single-row inserts, updates and
deletes, multi-row inserts and deletes, now and then a rollback to a savepoint or of the
whole transaction. Every transaction ends inside its segment.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from drcapture.dictionary.model import OracleType
from drcapture.synth.workload import (
    Col,
    Commit,
    Delete,
    Insert,
    MultiDelete,
    MultiInsert,
    Op,
    Rollback,
    RollbackTo,
    Row,
    Savepoint,
    Step,
    Supplemental,
    Table,
    Update,
    Workload,
    row,
)
from drcommon.model import ColumnValue

OWNER = "BENCH"
TABLE_COUNT = 20
FIRST_OBJ = 81001
SESSIONS = 6  # transactions open at the same time
SEGMENT_SCN_SPAN = 10_000_000  # SCNs reserved per segment (far more than it uses)
SEGMENT_SECONDS = 1_000_000  # clock seconds reserved per segment (one per step)
START_SCN = 5_000_000_000
START_TIME = datetime(2025, 3, 3, 9, 0, 0)

COLUMNS = (
    Col("ID", OracleType.NUMBER, 22, 12, 0, nullable=False),
    Col("CUSTOMER_ID", OracleType.NUMBER, 22, 10, 0),
    Col("STATUS", OracleType.VARCHAR2, 10),
    Col("AMOUNT", OracleType.NUMBER, 22, 12, 2),
    Col("QUANTITY", OracleType.NUMBER, 22, 6, 0),
    Col("CREATED", OracleType.DATE, 7),
    Col("UPDATED", OracleType.TIMESTAMP, 11, scale=6),
    Col("DESCRIPTION", OracleType.VARCHAR2, 100),
    Col("NOTE", OracleType.VARCHAR2, 200),
)
UPDATABLE = ("STATUS", "AMOUNT", "QUANTITY", "UPDATED", "NOTE")
STATUSES = ("NEW", "PAID", "PACKED", "SHIPPED", "CLOSED", "RETURNED")
WORDS = (
    "order", "crème", "brûlée", "widget", "blue", "large", "express", "gift", "wrap",
    "warehouse", "Zürich", "spare", "part", "café", "monthly", "invoice", "north", "batch",
)


def table_name(index: int) -> str:
    """``T01`` … ``T20``."""
    return f"T{index + 1:02d}"


def bench_tables() -> tuple[Table, ...]:
    """The 20 tables; odd ones log all columns on update, even ones the primary key."""
    return tuple(
        Table(
            OWNER,
            table_name(i),
            FIRST_OBJ + i,
            COLUMNS,
            pk=("ID",),
            supplemental=Supplemental.ALL if i % 2 == 0 else Supplemental.PRIMARY_KEY,
        )
        for i in range(TABLE_COUNT)
    )


def _amount(rng: random.Random) -> str:
    cents = rng.randrange(100, 5_000_000)
    whole, frac = divmod(cents, 100)
    if frac == 0:
        return str(whole)
    return f"{whole}.{frac:02d}".rstrip("0")  # NUMBER prints no trailing zeros


def _timestamp(rng: random.Random, base: datetime) -> str:
    moment = base + timedelta(seconds=rng.randrange(0, 86_400))
    micros = rng.randrange(1, 1_000_000)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{micros:06d}"  # TIMESTAMP(6) prints 6 digits


def _text(rng: random.Random, low: int, high: int) -> str:
    words: list[str] = []
    target = rng.randrange(low, high)
    while sum(len(w) + 1 for w in words) < target:
        words.append(rng.choice(WORDS))
    return " ".join(words)[:high]


@dataclass(slots=True)
class _Session:
    label: str
    table: str
    plan: list[str]
    touched: list[tuple[str, str]] = field(default_factory=list)  # (table, id) locked
    inserted: list[tuple[str, str]] = field(default_factory=list)
    deleted: list[tuple[str, str]] = field(default_factory=list)
    savepoint_at: int | None = None


class SegmentPlanner:
    """Random but reproducible steps for one segment (seeded by segment number)."""

    def __init__(self, segment: int, transactions: int, seed: int) -> None:
        self.rng = random.Random(seed * 1_000_003 + segment)
        self.segment = segment
        self.transactions = transactions
        self.next_id = segment * 10_000_000 + 1
        self.base = START_TIME + timedelta(days=segment % 300)
        self.live: dict[str, list[str]] = {table_name(i): [] for i in range(TABLE_COUNT)}
        self.locked: set[tuple[str, str]] = set()
        self.steps: list[Step] = []
        self.started = 0

    # -- values --------------------------------------------------------------------------
    def _row(self, ident: str) -> Row:
        rng = self.rng
        return row(
            ID=ident,
            CUSTOMER_ID=str(rng.randrange(1, 2_000_000)),
            STATUS=rng.choice(STATUSES),
            AMOUNT=_amount(rng),
            QUANTITY=str(rng.randrange(1, 500)),
            CREATED=f"{self.base + timedelta(seconds=rng.randrange(86_400)):%Y-%m-%dT%H:%M:%S}",
            UPDATED=_timestamp(rng, self.base),
            DESCRIPTION=_text(rng, 20, 90),
            NOTE=_text(rng, 30, 180) if rng.random() < 0.5 else None,
        )

    def _changes(self) -> Row:
        rng = self.rng
        names = rng.sample(UPDATABLE, rng.randrange(1, 4))
        values: dict[str, ColumnValue] = {}
        for name in names:
            if name == "STATUS":
                values[name] = rng.choice(STATUSES)
            elif name == "AMOUNT":
                values[name] = _amount(rng)
            elif name == "QUANTITY":
                values[name] = str(rng.randrange(1, 500))
            elif name == "UPDATED":
                values[name] = _timestamp(rng, self.base)
            else:
                values[name] = _text(rng, 30, 180) if rng.random() < 0.7 else None
        return row(values)

    def _new_id(self) -> str:
        ident = str(self.next_id)
        self.next_id += 1
        return ident

    def _free_rows(self, table: str, count: int) -> list[str]:
        pool = self.live[table]
        picked: list[str] = []
        for _ in range(count * 3):
            if len(picked) == count or not pool:
                break
            ident = pool[self.rng.randrange(len(pool))]
            if (table, ident) not in self.locked and ident not in picked:
                picked.append(ident)
        return picked

    # -- sessions ------------------------------------------------------------------------
    def _open(self) -> _Session:
        rng = self.rng
        self.started += 1
        ops = min(1 + int(rng.expovariate(1 / 2.2)), 12)
        kinds = rng.choices(
            ("insert", "update", "delete", "multi_insert", "multi_delete"),
            weights=(40, 36, 14, 6, 4),
            k=ops,
        )
        ending = rng.choices(("commit", "rollback", "partial"), weights=(94, 3, 3))[0]
        if ending == "partial" and ops >= 2:
            kinds.insert(rng.randrange(1, ops), "savepoint")
            kinds.append("rollback_to")
        kinds.append("rollback" if ending == "rollback" else "commit")
        table = table_name(rng.randrange(TABLE_COUNT))
        return _Session(f"s{self.segment}.{self.started}", table, kinds)

    def _lock(self, session: _Session, table: str, ident: str) -> None:
        self.locked.add((table, ident))
        session.touched.append((table, ident))

    def _op(self, session: _Session, kind: str) -> Op | None:
        table = session.table
        if kind == "insert":
            ident = self._new_id()
            self._lock(session, table, ident)
            session.inserted.append((table, ident))
            return Insert(table, self._row(ident))
        if kind == "multi_insert":
            idents = [self._new_id() for _ in range(self.rng.randrange(4, 17))]
            for ident in idents:
                self._lock(session, table, ident)
                session.inserted.append((table, ident))
            return MultiInsert(table, tuple(self._row(i) for i in idents))
        if kind == "savepoint":
            session.savepoint_at = len(session.touched)
            return Savepoint("sp")
        if kind == "rollback_to":
            if session.savepoint_at is None:
                return None
            self._undo_to_savepoint(session, session.savepoint_at)
            return RollbackTo("sp")
        count = self.rng.randrange(2, 9) if kind == "multi_delete" else 1
        idents = self._free_rows(table, count)
        if not idents:
            return self._op(session, "insert")
        for ident in idents:
            self._lock(session, table, ident)
        if kind == "update":
            return Update(table, row(ID=idents[0]), self._changes())
        session.deleted.extend((table, i) for i in idents)
        for ident in idents:
            self.live[table].remove(ident)
        if kind == "delete":
            return Delete(table, row(ID=idents[0]))
        return MultiDelete(table, tuple(row(ID=i) for i in idents))

    def _undo_to_savepoint(self, session: _Session, at: int) -> None:
        undone = set(session.touched[at:])
        session.inserted = [k for k in session.inserted if k not in undone]
        for table, ident in [k for k in session.deleted if k in undone]:
            self.live[table].append(ident)
        session.deleted = [k for k in session.deleted if k not in undone]

    def _end(self, session: _Session, kind: str) -> Op:
        if kind == "rollback":
            self._undo_to_savepoint(session, 0)
        for table, ident in session.inserted:
            self.live[table].append(ident)
        for key in session.touched:
            self.locked.discard(key)
        return Rollback() if kind == "rollback" else Commit()

    def plan(self) -> list[Step]:
        """Every step of the segment, all transactions ended."""
        open_sessions: list[_Session] = []
        while self.started < self.transactions or open_sessions:
            while len(open_sessions) < SESSIONS and self.started < self.transactions:
                open_sessions.append(self._open())
            session = open_sessions[self.rng.randrange(len(open_sessions))]
            kind = session.plan.pop(0)
            if kind in ("commit", "rollback"):
                op: Op | None = self._end(session, kind)
                open_sessions.remove(session)
            else:
                op = self._op(session, kind)
            if op is not None:
                self.steps.append(Step(1, session.label, op))
        return self.steps


def segment_workload(segment: int, transactions: int, seed: int) -> Workload:
    """Segment ``segment``'s workload: its own SCN range, clock and row ids."""
    steps = SegmentPlanner(segment, transactions, seed).plan()
    return Workload(
        tables=bench_tables(),
        steps=tuple(steps),
        start_scn=START_SCN + segment * SEGMENT_SCN_SPAN,
        start_time=START_TIME + timedelta(seconds=segment * SEGMENT_SECONDS),
        db_name="BENCH",
    )
