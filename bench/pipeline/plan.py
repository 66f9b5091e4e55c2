"""What the source database does: OLTP transactions of 1-10 rows on the capture
benchmark's 20 tables, on a 4-instance RAC, as steps for the project's redo writer.

The tables are those of ``bench/capture`` (``BENCH.T01`` … ``T20``, odd ones logging all
columns on update, even ones the key), so its mixes hold here too: the 10% mix captures
``T01`` and ``T02``, the 100% mix every table. Each transaction works on one table and
changes 1 to 10 rows (inserts, updates, deletes of rows it does not lock against
another open transaction); 3% roll back, 3% roll back to a savepoint one extra change
they made. Every instance runs ``SESSIONS_PER_THREAD`` sessions at once, so the steps of
concurrent transactions interleave as they do on a busy database.

A plan is cut in segments of ``SEGMENT_TRANSACTIONS`` committed transactions that the
writer can build independently (in parallel): each has its own SCN range, row ids and
rows, so a segment's updates and deletes find rows its own inserts made.
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

OWNER = "BENCH"  # the capture benchmark's schema and tables (bench/capture/workload_gen.py)
TABLE_COUNT = 20
FIRST_OBJ = 81001
THREADS = 4
SESSIONS_PER_THREAD = 8
SEGMENT_TRANSACTIONS = 2000
SEGMENT_SCN_SPAN = 10_000_000  # SCNs reserved per segment (it uses about 40,000)
START_SCN = 7_000_000_000
MIXES: dict[str, tuple[str, ...]] = {
    "10": ("T01", "T02"),  # 2 of 20 tables, as bench/capture/run.py --mix 10
    "100": tuple(f"T{i + 1:02d}" for i in range(TABLE_COUNT)),
}

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
WORDS = ("order", "crème", "brûlée", "widget", "blue", "large", "express", "gift", "wrap",
         "warehouse", "Zürich", "spare", "part", "café", "monthly", "invoice", "north")
BASE_DAY = datetime(2026, 3, 2)


def bench_tables() -> tuple[Table, ...]:
    """The 20 tables; odd ones log all columns on update, even ones the primary key."""
    return tuple(
        Table(OWNER, f"T{i + 1:02d}", FIRST_OBJ + i, COLUMNS, pk=("ID",),
              supplemental=Supplemental.ALL if i % 2 == 0 else Supplemental.PRIMARY_KEY)
        for i in range(TABLE_COUNT)
    )


class Values:
    """Column values in their published (canonical) form, from one seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def amount(self) -> str:
        whole, frac = divmod(self.rng.randrange(100, 5_000_000), 100)
        return str(whole) if frac == 0 else f"{whole}.{frac:02d}".rstrip("0")

    def timestamp(self) -> str:
        moment = BASE_DAY + timedelta(seconds=self.rng.randrange(86_400))
        return f"{moment:%Y-%m-%dT%H:%M:%S}.{self.rng.randrange(1, 1_000_000):06d}"

    def text(self, low: int, high: int) -> str:
        words: list[str] = []
        target = self.rng.randrange(low, high)
        while sum(len(w) + 1 for w in words) < target:
            words.append(self.rng.choice(WORDS))
        return " ".join(words)[:high]

    def new_row(self, ident: int) -> Row:
        rng = self.rng
        created = BASE_DAY + timedelta(seconds=rng.randrange(86_400))
        return row(ID=str(ident), CUSTOMER_ID=str(rng.randrange(1, 2_000_000)),
                   STATUS=rng.choice(STATUSES), AMOUNT=self.amount(),
                   QUANTITY=str(rng.randrange(1, 500)), CREATED=f"{created:%Y-%m-%dT%H:%M:%S}",
                   UPDATED=self.timestamp(), DESCRIPTION=self.text(20, 90),
                   NOTE=self.text(30, 180) if rng.random() < 0.5 else None)

    def changes(self) -> Row:
        values: dict[str, ColumnValue] = {}
        for name in self.rng.sample(UPDATABLE, self.rng.randrange(1, 4)):
            values[name] = {
                "STATUS": lambda: self.rng.choice(STATUSES),
                "AMOUNT": self.amount,
                "QUANTITY": lambda: str(self.rng.randrange(1, 500)),
                "UPDATED": self.timestamp,
            }.get(name, lambda: self.text(30, 180) if self.rng.random() < 0.7 else None)()
        return row(values)


@dataclass(slots=True)
class _Session:
    label: str
    thread: int
    table: str
    plan: list[str]
    locked: list[int] = field(default_factory=list)
    inserted: list[int] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    mark: tuple[int, int, int] | None = None  # lengths of the lists at the savepoint


class SegmentPlanner:
    """The steps of one segment, reproducible from (seed, segment)."""

    def __init__(self, segment: int, transactions: int, seed: int) -> None:
        self.rng = random.Random(seed * 1_000_003 + segment)
        self.values = Values(self.rng)
        self.segment = segment
        self.transactions = transactions
        self.next_id = segment * 10_000_000 + 1
        self.live: dict[str, list[int]] = {t.name: [] for t in bench_tables()}
        self.locked: set[tuple[str, int]] = set()
        self.steps: list[Step] = []
        self.started = 0
        self.planned_commits = 0

    def _open(self, thread: int) -> _Session:
        rng = self.rng
        self.started += 1
        rows = rng.randint(1, 10)
        kinds = rng.choices(("insert", "update", "delete"), weights=(45, 40, 15), k=rows)
        ending = rng.choices(("commit", "rollback", "partial"), weights=(94, 3, 3))[0]
        if ending == "partial":  # one more change, undone by a rollback to a savepoint
            kinds += ["savepoint", rng.choice(("insert", "update")), "rollback_to"]
        kinds.append("rollback" if ending == "rollback" else "commit")
        self.planned_commits += ending != "rollback"
        table = f"T{rng.randrange(TABLE_COUNT) + 1:02d}"
        return _Session(f"s{self.segment}.{self.started}", thread, table, kinds)

    def _free_row(self, session: _Session) -> int | None:
        pool = self.live[session.table]
        for _ in range(4):
            if not pool:
                return None
            ident = pool[self.rng.randrange(len(pool))]
            if (session.table, ident) not in self.locked:
                return ident
        return None

    def _lock(self, session: _Session, ident: int) -> None:
        self.locked.add((session.table, ident))
        session.locked.append(ident)

    def _change(self, session: _Session, kind: str) -> Op:
        ident = None if kind == "insert" else self._free_row(session)
        if ident is None:
            ident = self.next_id
            self.next_id += 1
            self._lock(session, ident)
            session.inserted.append(ident)
            return Insert(session.table, self.values.new_row(ident))
        self._lock(session, ident)
        if kind == "update":
            return Update(session.table, row(ID=str(ident)), self.values.changes())
        self.live[session.table].remove(ident)
        session.deleted.append(ident)
        return Delete(session.table, row(ID=str(ident)))

    def _undo(self, session: _Session, mark: tuple[int, int, int]) -> None:
        """Forget what the session did after ``mark`` (its rows stay locked)."""
        _, inserted, deleted = mark
        self.live[session.table].extend(session.deleted[deleted:])
        del session.inserted[inserted:], session.deleted[deleted:]

    def _end(self, session: _Session, kind: str) -> Op:
        if kind == "rollback":
            self._undo(session, (0, 0, 0))
        self.live[session.table].extend(session.inserted)
        self.locked.difference_update((session.table, i) for i in session.locked)
        return Rollback() if kind == "rollback" else Commit()

    def _step(self, session: _Session) -> Op | None:
        kind = session.plan.pop(0)
        if kind in ("commit", "rollback"):
            return self._end(session, kind)
        if kind == "savepoint":
            session.mark = (len(session.locked), len(session.inserted), len(session.deleted))
            return Savepoint("sp")
        if kind == "rollback_to":
            assert session.mark is not None
            self._undo(session, session.mark)
            return RollbackTo("sp")
        return self._change(session, kind)

    def plan(self) -> list[Step]:
        """Every step of the segment; every transaction ends inside it."""
        sessions: list[_Session] = []
        wanted = SESSIONS_PER_THREAD * THREADS
        while True:
            while len(sessions) < wanted and self.planned_commits < self.transactions:
                sessions.append(self._open(self.rng.randint(1, THREADS)))
            if not sessions:
                return self.steps
            session = sessions[self.rng.randrange(len(sessions))]
            op = self._step(session)
            if op is not None:
                self.steps.append(Step(session.thread, session.label, op))
            if isinstance(op, Commit | Rollback):
                sessions.remove(session)


def segment_workload(segment: int, transactions: int, seed: int) -> Workload:
    """Segment ``segment``: its own SCN range and row ids, four RAC threads."""
    return Workload(
        tables=bench_tables(),
        steps=tuple(SegmentPlanner(segment, transactions, seed).plan()),
        start_scn=START_SCN + segment * SEGMENT_SCN_SPAN,
        db_name="BENCH",
    )
