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
from drapply.naming import Naming, matches
from drapply.settings import SourceSettings
from drapply.typemap import Converter

ConverterFor = Callable[[ColumnInfo | None], Converter]


class Planner:
    """Binds row changes for one target."""

    def __init__(self, naming: Naming, converter_for: ConverterFor, source: SourceSettings):
        self._naming = naming
        self._converter_for = converter_for
        self._source = source
        self._converters: dict[ColumnInfo | None, Converter] = {}
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

    def _convert(self, change: RowChange, column: str, value: ColumnValue) -> Any:
        info = change.columns.get(column)
        convert = self._converters.get(info)
        if convert is None:
            convert = self._converter_for(info)
            self._converters[info] = convert
        try:
            return convert(value)
        except ValueNotStorable as exc:
            raise ValueNotStorable(
                exc.message, table=f"{change.owner}.{change.table}", column=column, **exc.where
            ) from None
        except (TypeError, ValueError) as exc:
            raise ValueNotStorable(
                f"value does not convert: {exc}",
                table=f"{change.owner}.{change.table}",
                column=column,
            ) from None

    def _mapped(self, change: RowChange, image: dict[str, ColumnValue]) -> dict[str, Any]:
        name = self._naming.column
        return {
            name(change.owner, change.table, col): self._convert(change, col, value)
            for col, value in image.items()
        }

    def bind(self, change: RowChange) -> BoundChange:
        """Map one insert, update or delete to target terms."""
        ref = self._naming.table(change.owner, change.table)
        before = change.before or {}
        after = change.after or {}
        if change.op is Operation.INSERT:
            key_source, sets = after, after
        elif change.op is Operation.UPDATE:
            key_source, sets = before, after
        elif change.op is Operation.DELETE:
            key_source, sets = before, {}
        else:
            raise BadRecord(f"cannot bind a {change.op} change")
        key_names = change.pk or tuple(key_source)
        missing = [k for k in key_names if k not in key_source]
        if missing or not key_names:
            raise BadRecord(
                f"{change.op} carries no value for key column(s) {', '.join(missing) or '(none)'}",
                table=f"{change.owner}.{change.table}",
            )
        key = self._mapped(change, {k: key_source[k] for k in key_names})
        mapped_sets = self._mapped(change, sets)
        image = None
        if change.op is Operation.UPDATE:
            merged = {**before, **after}
            required = change.columns.keys()
            if required and required <= merged.keys():
                image = self._mapped(change, merged)
        name = self._naming.column
        return BoundChange(
            op=change.op,
            table=ref,
            owner=change.owner,
            source_table=change.table,
            key_cols=tuple(key),
            key_vals=tuple(key.values()),
            set_cols=tuple(mapped_sets),
            set_vals=tuple(mapped_sets.values()),
            image=image,
            columns=tuple(
                (name(change.owner, change.table, col), info)
                for col, info in change.columns.items()
            ),
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
