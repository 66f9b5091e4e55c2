"""The DR copy against the plan: every captured table holds exactly the rows the
source's committed transactions leave (values compared in their published text form)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import psycopg
from drcommon.model import ColumnValue

from bench.pipeline.plan import COLUMNS
from bench.pipeline.segments import Segment

NAMES = tuple(c.name for c in COLUMNS)


def canonical(value: Any) -> str | None:
    """A database value written the way the plan writes it (exact decimals, ISO times)."""
    if value is None:
        return None
    if isinstance(value, Decimal | int):
        text = format(Decimal(value), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def expected_rows(segments: Iterable[Segment], table: str) -> dict[str, tuple[Any, ...]]:
    """The source table's rows after every segment (ID -> values in column order)."""
    rows: dict[str, tuple[Any, ...]] = {}
    for segment in segments:
        for ident, values in segment.final_rows.get(table, {}).items():
            rows[ident] = tuple(_text(values.get(n)) for n in NAMES)
    return rows


def _text(value: ColumnValue | None) -> str | None:
    return None if value is None else str(value)


def dr_rows(dsn: str, schema: str, table: str) -> dict[str, tuple[Any, ...]]:
    """The DR copy of one table, keyed and written like :func:`expected_rows`."""
    columns = ", ".join(n.lower() for n in NAMES)
    with psycopg.connect(dsn) as conn:
        fetched = conn.execute(f'SELECT {columns} FROM "{schema}"."{table.lower()}"').fetchall()
    return {str(canonical(r[0])): tuple(canonical(v) for v in r) for r in fetched}


def differences(dsn: str, schema: str, tables: Sequence[str],
                segments: Sequence[Segment]) -> dict[str, str]:
    """Per table that differs: how (missing, extra, different rows). Empty: equal."""
    found: dict[str, str] = {}
    for table in tables:
        want = expected_rows(segments, table)
        have = dr_rows(dsn, schema, table)
        missing = want.keys() - have.keys()
        extra = have.keys() - want.keys()
        changed = [k for k in want.keys() & have.keys() if want[k] != have[k]]
        if missing or extra or changed:
            sample = changed[:1]
            found[table] = (f"{len(missing)} missing, {len(extra)} extra, {len(changed)} "
                            f"different of {len(want)}"
                            + (f"; e.g. {sample[0]}: {want[sample[0]]} != {have[sample[0]]}"
                               if sample else ""))
    return found
