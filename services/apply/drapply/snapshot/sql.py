"""SQL pieces readers share: key-range and key-list predicates, pure string building.

Key ranges compare lexicographically over the key's columns, written out as
``(a > :1) OR (a = :1 AND b > :2)`` because Oracle has no row-value comparison. Column
expressions come in ready to use (quoted, with a collation where one is needed) and
parameters are produced by ``bind(position, wire_value)``, so each database binds its
own types.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from drapply.snapshot.model import KeyRange, WireRow, WireValue

Bind = Callable[[int, WireValue], Any]
Placeholder = Callable[[int], str]


def quote(name: str) -> str:
    """A delimited identifier."""
    return '"' + name.replace('"', '""') + '"'


class Params:
    """Collects parameters while SQL is built; ``ph`` gives each its placeholder."""

    def __init__(self, placeholder: Placeholder, bind: Bind) -> None:
        self._placeholder = placeholder
        self._bind = bind
        self.values: list[Any] = []

    def add(self, position: int, value: WireValue) -> str:
        self.values.append(self._bind(position, value))
        return self._placeholder(len(self.values) - 1)


def _beyond(exprs: Sequence[str], key: WireRow, op: str, params: Params, inclusive: bool) -> str:
    """``exprs`` compared with ``key`` lexicographically (``>`` or ``<``), with equality
    of the whole key added when ``inclusive``."""
    terms = []
    for depth in range(len(exprs)):
        equal = [f"{exprs[i]} = {params.add(i, key[i])}" for i in range(depth)]
        equal.append(f"{exprs[depth]} {op} {params.add(depth, key[depth])}")
        terms.append("(" + " AND ".join(equal) + ")")
    if inclusive:
        same = [f"{exprs[i]} = {params.add(i, key[i])}" for i in range(len(exprs))]
        terms.append("(" + " AND ".join(same) + ")")
    return "(" + " OR ".join(terms) + ")"


def range_where(exprs: Sequence[str], keys: KeyRange, params: Params) -> str:
    """The condition for rows in ``keys``: after ``lo`` (exclusive), up to ``hi``
    (inclusive); ``1 = 1`` for the whole table."""
    parts = []
    if keys.lo is not None:
        parts.append(_beyond(exprs, keys.lo, ">", params, inclusive=False))
    if keys.hi is not None:
        parts.append(_beyond(exprs, keys.hi, "<", params, inclusive=True))
    return " AND ".join(parts) if parts else "1 = 1"


def keys_where(exprs: Sequence[str], keys: Sequence[WireRow], params: Params) -> str:
    """The condition for rows with one of ``keys`` (an ``IN`` list for one column)."""
    if not keys:
        return "1 = 0"
    if len(exprs) == 1:
        listed = ", ".join(params.add(0, key[0]) for key in keys)
        return f"{exprs[0]} IN ({listed})"
    terms = []
    for key in keys:
        terms.append(
            "(" + " AND ".join(f"{e} = {params.add(i, key[i])}" for i, e in enumerate(exprs)) + ")"
        )
    return "(" + " OR ".join(terms) + ")"


def batched(items: Sequence[WireRow], size: int) -> list[Sequence[WireRow]]:
    """``items`` in slices of at most ``size``."""
    return [items[i : i + size] for i in range(0, len(items), size)]
