"""From row changes in Oracle terms to :class:`BoundChange` in target terms.

Pure apart from caches: names are mapped (renames, case policy), values converted by the
target's converters, the key extracted (the primary key, or every column of the before
image when the table has none), and consecutive changes that can share one batched
statement are grouped into runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from drcommon.model import ColumnInfo, ColumnValue, Operation, RowChange

from drapply.adapters.base import BoundChange
from drapply.errors import BadRecord, UnconfiguredTable, ValueNotStorable
from drapply.naming import Naming, TableRef, matches
from drapply.settings import SourceSettings
from drapply.typemap import Converter

ConverterFor = Callable[[ColumnInfo | None], Converter]


class Planner:
    """Binds row changes for one target."""

    def __init__(self, naming: Naming, converter_for: ConverterFor, source: SourceSettings):
        self._naming = naming
        self._converter_for = converter_for
        self._source = source
        self._columns: dict[tuple[str, str, str, str, int | None], tuple[str, Converter]] = {}
        self._types_cache: dict[
            tuple[str, str, tuple[str, ...]], tuple[tuple[str, ColumnInfo], ...]
        ] = {}
        self._keys: dict[tuple[str, str, tuple[str, ...]], tuple[str, ...]] = {}
        self._plans: dict[tuple[str, str, tuple[str, ...]], list[tuple[str, str, Converter]]] = {}
        self._configured: dict[tuple[str, str], bool] = {}

    def skipped(self, change: RowChange) -> bool:
        """Whether the table is configured to be skipped; unconfigured tables raise."""
        key = (change.owner, change.table)
        known = self._configured.get(key)
        if known is None:
            if matches(self._source.skip_tables, change.owner, change.table):
                known = False
            elif matches(self._source.tables, change.owner, change.table):
                known = True
            else:
                raise UnconfiguredTable(
                    "table is not configured for apply (source.tables)",
                    table=f"{change.owner}.{change.table}",
                )
            self._configured[key] = known
        return not known

    def _column(self, change: RowChange, column: str) -> tuple[str, Converter]:
        """Target name and converter of a column, cached per table and Oracle type (keyed
        by plain strings: hashing the pydantic ColumnInfo per value is far slower)."""
        info = change.columns.get(column)
        key = (
            change.owner,
            change.table,
            column,
            info.type if info else "",
            info.scale if info else None,
        )
        found = self._columns.get(key)
        if found is None:
            found = (
                self._naming.column(change.owner, change.table, column),
                self._converter_for(info),
            )
            self._columns[key] = found
        return found

    def _mapped(self, change: RowChange, image: dict[str, ColumnValue]) -> dict[str, Any]:
        """The image in target names and values, through a plan compiled per column set."""
        key = (change.owner, change.table, tuple(image))
        plan = self._plans.get(key)
        if plan is None:
            plan = [(col, *self._column(change, col)) for col in image]
            self._plans[key] = plan
        try:
            return {name: convert(image[col]) for col, name, convert in plan}
        except (ValueNotStorable, TypeError, ValueError):
            return self._mapped_slowly(change, image)  # to name the column

    def _mapped_slowly(self, change: RowChange, image: dict[str, ColumnValue]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for column, value in image.items():
            name, convert = self._column(change, column)
            try:
                out[name] = convert(value)
            except ValueNotStorable as exc:
                raise ValueNotStorable(
                    exc.message,
                    table=f"{change.owner}.{change.table}",
                    column=column,
                    **exc.where,
                ) from None
            except (TypeError, ValueError) as exc:
                raise ValueNotStorable(
                    f"value does not convert: {exc}",
                    table=f"{change.owner}.{change.table}",
                    column=column,
                ) from None
        return out

    def _key_cols(self, change: RowChange, key_names: tuple[str, ...]) -> tuple[str, ...]:
        key = (change.owner, change.table, key_names)
        found = self._keys.get(key)
        if found is None:
            name = self._naming.column
            found = tuple(name(change.owner, change.table, k) for k in key_names)
            self._keys[key] = found
        return found

    def table_ref(self, change: RowChange) -> TableRef:
        return self._naming.table(change.owner, change.table)

    def forget(self, owner: str, table: str) -> None:
        """Drop compiled plans of a table (after DDL: its column types may have changed)."""

        def stale(key: tuple[object, ...]) -> bool:
            return key[0] == owner and key[1] == table

        for key in [k for k in self._plans if stale(k)]:
            del self._plans[key]
        for ckey in [k for k in self._columns if stale(k)]:
            del self._columns[ckey]
        for tkey in [k for k in self._types_cache if stale(k)]:
            del self._types_cache[tkey]
        for kkey in [k for k in self._keys if stale(k)]:
            del self._keys[kkey]

    def _types(self, change: RowChange) -> tuple[tuple[str, ColumnInfo], ...]:
        """Column types in target names, for creating tables; cached per column set."""
        key = (change.owner, change.table, tuple(change.columns))
        found = self._types_cache.get(key)
        if found is None:
            name = self._naming.column
            found = tuple(
                (name(change.owner, change.table, col), info)
                for col, info in change.columns.items()
            )
            self._types_cache[key] = found
        return found

    def bind(self, change: RowChange) -> BoundChange:
        """Map one insert, update or delete to target terms."""
        ref = self._naming.table(change.owner, change.table)
        op = change.op
        if op is Operation.INSERT:
            key_image = change.after or {}
        elif op in (Operation.UPDATE, Operation.DELETE):
            key_image = change.before or {}
        else:
            raise BadRecord(f"cannot bind a {op} change")
        key_names = change.pk or tuple(key_image)
        if not key_names or any(k not in key_image for k in key_names):
            missing = [k for k in key_names if k not in key_image]
            raise BadRecord(
                f"{op} carries no value for key column(s) {', '.join(missing) or '(none)'}",
                table=f"{change.owner}.{change.table}",
            )
        mapped_key_image = self._mapped(change, key_image)
        key_cols = self._key_cols(change, key_names)
        key_vals = tuple(mapped_key_image[k] for k in key_cols)
        if op is Operation.INSERT:
            mapped_sets, image = mapped_key_image, None
        elif op is Operation.UPDATE:
            mapped_sets = self._mapped(change, change.after or {})
            # The merged image; whether it holds every column of the target row is
            # decided against the target table when it is needed (overwrite policy).
            image = {**mapped_key_image, **mapped_sets}
        else:
            mapped_sets, image = {}, None
        return BoundChange(
            op=change.op,
            table=ref,
            owner=change.owner,
            source_table=change.table,
            key_cols=key_cols,
            key_vals=key_vals,
            set_cols=tuple(mapped_sets),
            set_vals=tuple(mapped_sets.values()),
            image=image,
            columns=self._types(change),
            has_pk=bool(change.pk),
        )


def runs(changes: Sequence[BoundChange]) -> Iterator[list[BoundChange]]:
    """Consecutive changes with the same table, operation and columns, in order."""
    current: list[BoundChange] = []
    for change in changes:
        if current and change.run_key != current[0].run_key:
            yield current
            current = []
        current.append(change)
    if current:
        yield current


def batches(changes: Sequence[BoundChange]) -> Iterator[list[BoundChange]]:
    """Batched statements for a group's changes: changes to the same row keep their order,
    changes to different rows commute, so each change goes to the first level after the
    last change of its row(s), and each level runs one batch per statement shape.

    Inside one database transaction the result is the same as applying in order; what
    does not commute after all (a secondary unique key, a foreign key) fails the batch and
    the group is re-applied strictly in order, one row at a time.
    """
    last: dict[tuple[object, ...], int] = {}
    levels: list[dict[tuple[object, ...], list[BoundChange]]] = []
    for change in changes:
        rows = [(change.table, change.key_vals)]
        if change.image is not None:  # an update may move the row to another key
            moved = tuple(change.image.get(k) for k in change.key_cols)
            if moved != change.key_vals:
                rows.append((change.table, moved))
        level = max(last.get(row, -1) for row in rows) + 1
        for row in rows:
            last[row] = level
        if level == len(levels):
            levels.append({})
        levels[level].setdefault(change.run_key, []).append(change)
    for level_runs in levels:
        yield from level_runs.values()
