"""A PostgreSQL source in the history layout (:mod:`drapply.snapshot.postgres`), fed from
a built workload: the same transactions the redo writer turned into redo, applied in
SCN order with every row version's SCN range, so "as of SCN X" is a real query.

Events run in SCN order: a transaction's start (it is then open) and its commit (its
changes become versions valid from the commit SCN). The clock follows the events, so
the reader's "now" is the SCN of the last event fed. :meth:`HistorySource.feed` may run
in another thread while a load reads (writes continuing on the source).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from drapply.adapters.postgresql import pg_converter, pg_type
from drapply.snapshot.postgres import catalog_ddl
from drapply.typemap import classify
from drcapture.synth.workload import Table
from drcapture.synth.workload_result import BuiltWorkload, ExpectedTransaction
from drcapture.synth.workload_state import column_def
from drcommon.model import ColumnInfo


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def column_infos(table: Table) -> list[tuple[str, ColumnInfo]]:
    """The Oracle column types of a workload table, as capture's messages carry them."""
    out = []
    for index, col in enumerate(table.columns):
        definition = column_def(table, index)
        out.append((col.name, ColumnInfo(type=definition.type_name, length=col.length or None,
                                         precision=col.precision, scale=col.scale,
                                         nullable=col.nullable)))  # fmt: skip
    return out


@dataclass(frozen=True, slots=True)
class Event:
    scn: int
    commit: bool
    tx: ExpectedTransaction


def events(built: BuiltWorkload) -> list[Event]:
    """Starts and commits of the committed transactions, in SCN order."""
    out = []
    for tx in built.expected:
        out.append(Event(tx.start_scn if tx.start_scn is not None else tx.commit_scn, False, tx))
        out.append(Event(tx.commit_scn, True, tx))
    return sorted(out, key=lambda e: (e.scn, e.commit))


class HistorySource:
    """The history layout in ``schema``, for the tables of one workload."""

    def __init__(self, dsn: str, schema: str, tables: Iterable[Table], start_scn: int) -> None:
        self.dsn = dsn
        self.schema = schema
        self.tables = {(t.owner, t.name): t for t in tables}
        self.start_scn = start_scn
        self._conn = psycopg.connect(dsn, autocommit=False)
        self._lock = threading.Lock()
        self.fed = 0  # events fed so far
        self.scn = start_scn

    def close(self) -> None:
        self._conn.close()

    def history_table(self, owner: str, name: str) -> str:
        return f"{_q(self.schema)}.{_q(f'{owner}.{name}')}"

    def create(self) -> None:
        s = _q(self.schema)
        with self._conn.transaction():
            self._conn.execute(f"DROP SCHEMA IF EXISTS {s} CASCADE")
            for statement in catalog_ddl(self.schema):
                self._conn.execute(statement)
            self._conn.execute(f"INSERT INTO {s}.dr_clock VALUES (%s)", (self.start_scn,))
            for (owner, name), table in self.tables.items():
                infos = column_infos(table)
                cols = ", ".join(f"{_q(c)} {pg_type(classify(i), False)}" for c, i in infos)
                self._conn.execute(
                    f"CREATE TABLE {self.history_table(owner, name)} ({cols}, "
                    "dr_from_scn bigint NOT NULL, dr_to_scn bigint)"
                )
                keys = ", ".join(_q(k) for k in table.pk)
                self._conn.execute(
                    f"CREATE INDEX ON {self.history_table(owner, name)} ({keys}, dr_from_scn)"
                )
                self._conn.execute(f"INSERT INTO {s}.dr_tables VALUES (%s, %s, %s)",
                                   (owner, name, f"{owner}.{name}"))  # fmt: skip
                for position, (col, info) in enumerate(infos, start=1):
                    key = table.pk.index(col) + 1 if col in table.pk else None
                    self._conn.execute(
                        f"INSERT INTO {s}.dr_columns VALUES "
                        "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        (owner, name, col, position, info.type, info.length, info.precision,
                         info.scale, info.nullable, key),
                    )  # fmt: skip

    # -- feeding -----------------------------------------------------------------------------
    def _values(self, table: Table, row: dict[str, Any]) -> dict[str, Any]:
        infos = dict(column_infos(table))
        return {c: pg_converter(classify(infos[c]), False)(v) for c, v in row.items()}

    def _apply(self, event: Event) -> None:
        s = _q(self.schema)
        tx = event.tx
        if not event.commit:
            self._conn.execute(f"INSERT INTO {s}.dr_transactions VALUES (%s, %s, %s, NULL, NULL)",
                               (tx.xid, tx.thread, event.scn))  # fmt: skip
        else:
            self._conn.execute(
                f"UPDATE {s}.dr_transactions SET end_scn = %s, committed = true WHERE xid = %s",
                (event.scn, tx.xid),
            )
            for change in tx.changes:
                self._change(change.owner, change.table, change.op.value, change.before,
                             change.after, event.scn)  # fmt: skip
        self._conn.execute(f"UPDATE {s}.dr_clock SET scn = %s", (event.scn,))

    def _change(self, owner: str, name: str, op: str, before: dict[str, Any] | None,
                after: dict[str, Any] | None, scn: int) -> None:  # fmt: skip
        table = self.tables[(owner, name)]
        target = self.history_table(owner, name)
        if op == "insert":
            assert after is not None
            self._insert(table, target, self._values(table, after), scn)
            return
        assert before is not None
        key = {k: self._values(table, {k: before[k]})[k] for k in table.pk}
        where = " AND ".join(f"{_q(k)} = %s" for k in key)
        current = self._conn.execute(
            f"UPDATE {target} SET dr_to_scn = %s WHERE {where} AND dr_to_scn IS NULL "
            f"RETURNING {', '.join(_q(c.name) for c in table.columns)}",
            (scn, *key.values()),
        ).fetchall()
        assert len(current) == 1, f"{op} of a missing row {owner}.{name} {key}"
        if op == "update":
            assert after is not None
            row = dict(zip((c.name for c in table.columns), current[0], strict=True))
            row.update(self._values(table, after))
            self._insert(table, target, row, scn)

    def _insert(self, table: Table, target: str, row: dict[str, Any], scn: int) -> None:
        cols = [c.name for c in table.columns]
        self._conn.execute(
            f"INSERT INTO {target} ({', '.join(_q(c) for c in cols)}, dr_from_scn) "
            f"VALUES ({', '.join(['%s'] * (len(cols) + 1))})",
            (*(row.get(c) for c in cols), scn),
        )

    def feed(self, built: BuiltWorkload, *, upto_scn: int | None = None,
             pause: float = 0.0) -> int:  # fmt: skip
        """Apply the events not fed yet, up to ``upto_scn`` (all if None), one source
        transaction per event, ``pause`` seconds apart; returns the clock's SCN."""
        with self._lock:
            todo = events(built)
            while self.fed < len(todo):
                event = todo[self.fed]
                if upto_scn is not None and event.scn > upto_scn:
                    break
                with self._conn.transaction():
                    self._apply(event)
                self.fed += 1
                self.scn = event.scn
                if pause:
                    time.sleep(pause)
            return self.scn

    def feed_in_background(self, built: BuiltWorkload, pause: float) -> threading.Thread:
        """Keep feeding the rest in a thread (writes continue on the source)."""
        thread = threading.Thread(target=self.feed, args=(built,), kwargs={"pause": pause},
                                  daemon=True)  # fmt: skip
        thread.start()
        return thread
