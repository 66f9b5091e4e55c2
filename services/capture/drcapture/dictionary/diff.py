"""How two dictionaries differ, table by table: the check of a redo-tracked dictionary
against one read from the live source at the same SCN (``drcapture dictionary diff``).

Only what decoding depends on is compared: which tables exist under which names, their
stored columns (position, name, type, length, precision, scale, character set form,
nullability), their primary key, and which objects (partitions, IOT segments) map to
them. A difference means capture decodes some table unlike the source defines it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from drcapture.dictionary.model import ColumnDef, Dictionary, TableDef

Wanted = Callable[[str, str], bool]


def _column_facts(column: ColumnDef) -> tuple[object, ...]:
    return (column.seg_col, column.name, column.type_name, column.length, column.precision,
            column.scale, column.charset_form, column.nullable)


def _segments(dictionary: Dictionary) -> dict[int, set[int]]:
    """Table object -> every object number naming it (itself, partitions, segments)."""
    out: dict[int, set[int]] = defaultdict(set)
    for obj, table in dictionary.tables.items():
        out[table.obj].add(obj)
    return out


def _name(table: TableDef) -> str:
    return f"{table.owner}.{table.name}"


def _columns(left: TableDef, right: TableDef) -> list[str]:
    found = []
    mine = {c.seg_col: c for c in left.columns}
    theirs = {c.seg_col: c for c in right.columns}
    for seg in sorted(set(mine) | set(theirs)):
        a, b = mine.get(seg), theirs.get(seg)
        if a is None and b is not None:
            found.append(f"column {b.name} ({b.type_name}) at position {seg} only on the right")
        elif b is None and a is not None:
            found.append(f"column {a.name} ({a.type_name}) at position {seg} only on the left")
        elif a is not None and b is not None and _column_facts(a) != _column_facts(b):
            found.append(f"column at position {seg}: {_column_facts(a)} != {_column_facts(b)}")
    return found


def differences(left: Dictionary, right: Dictionary, wanted: Wanted | None = None
                ) -> list[str]:
    """Lines naming each difference of the tables ``wanted`` keeps (all when None)."""
    def keep(table: TableDef) -> bool:
        return wanted is None or wanted(table.owner, table.name)

    lefts = {o: t for o, t in left.tables.items() if t.obj == o and keep(t)}
    rights = {o: t for o, t in right.tables.items() if t.obj == o and keep(t)}
    left_segments, right_segments = _segments(left), _segments(right)
    out = []
    for obj in sorted(set(lefts) | set(rights)):
        a, b = lefts.get(obj), rights.get(obj)
        if a is None and b is not None:
            out.append(f"{_name(b)} (object {obj}): only on the right")
            continue
        if b is None and a is not None:
            out.append(f"{_name(a)} (object {obj}): only on the left")
            continue
        assert a is not None and b is not None
        facts = []
        if _name(a) != _name(b):
            facts.append(f"named {_name(b)} on the right")
        facts += _columns(a, b)
        if a.data_obj != b.data_obj:
            facts.append(f"data object {a.data_obj} != {b.data_obj}")
        if a.pk != b.pk:
            facts.append(f"primary key {list(a.pk)} != {list(b.pk)}")
        if left_segments[obj] != right_segments[obj]:
            facts.append(f"objects {sorted(left_segments[obj])} != "
                         f"{sorted(right_segments[obj])}")
        out += [f"{_name(a)} (object {obj}): {fact}" for fact in facts]
    return out
