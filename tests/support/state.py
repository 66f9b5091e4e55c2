"""The reference contents of the source tables after a built workload, and the same view
of a DR PostgreSQL copy, so end-to-end tests can compare them row by row."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg
from drcapture.synth.workload_result import BuiltWorkload

COLUMNS = {
    ("SI", "PERSON"): ("ID", "NAME", "ADDRESS", "BALANCE", "BORN"),
    ("HIS", "VISIT"): ("ID", "PERSON_ID", "DOCTOR", "FEE"),
}
TableState = dict[tuple[str, str], dict[str, tuple[Any, ...]]]


def source_state(built: BuiltWorkload, upto_scn: int | None = None) -> TableState:
    """Replay the committed transactions (those with commit SCN <= ``upto_scn``, if
    given: the source as of that SCN) on plain dictionaries: the reference."""
    tables: dict[tuple[str, str], dict[str, dict[str, Any]]] = {k: {} for k in COLUMNS}
    for tx in built.expected:
        if upto_scn is not None and tx.commit_scn > upto_scn:
            continue
        for change in tx.changes:
            if (change.owner, change.table) not in tables:
                continue  # a table this reference does not model
            rows = tables[(change.owner, change.table)]
            if change.op.value == "insert":
                assert change.after is not None
                rows[str(change.after["ID"])] = dict(change.after)
            elif change.op.value == "update":
                assert change.before is not None and change.after is not None
                rows[str(change.before["ID"])].update(change.after)
            else:
                assert change.before is not None
                del rows[str(change.before["ID"])]
    return {
        key: {pk: tuple(row.get(c) for c in COLUMNS[key]) for pk, row in rows.items()}
        for key, rows in tables.items()
    }


def canonical(value: Any) -> Any:
    """A database value written the way the workload writes it (exact decimals, ISO)."""
    if value is None:
        return None
    if isinstance(value, Decimal | int):
        text = format(Decimal(value), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def postgres_state(dsn: str, schemas: dict[str, str]) -> TableState:
    """The DR copy in PostgreSQL (``schemas``: Oracle owner -> target schema), keyed and
    written like :func:`source_state`."""
    out: TableState = {}
    with psycopg.connect(dsn) as conn:
        for (owner, table), columns in COLUMNS.items():
            cols = ", ".join(c.lower() for c in columns)
            rows = conn.execute(f'SELECT {cols} FROM "{schemas[owner]}".{table.lower()}')
            out[(owner, table)] = {
                canonical(r[0]): tuple(canonical(v) for v in r) for r in rows.fetchall()
            }
    return out
