"""From row changes in Oracle terms to :class:`BoundChange` in target terms.

Pure apart from caches: names are mapped (renames, case policy), values converted by the
target's converters, the key extracted (the primary key, or every column of the before
image when the table has none), and the changes of a group are arranged in batches.

Binding is compiled: changes of one table with the same operation, key, column types and
image columns share a :class:`_Shape` built once, which then binds a change with a few
tuple operations. A change capture marked ``undecoded`` is refused here, and a before
image's :class:`~drcommon.model.NotLogged` columns are left out (they cannot identify the
row; an after image's are refused by the converters). An update's
:class:`~drcommon.model.LobWrites` leave the after image and become the bound change's
``lob_edits`` (:mod:`drapply.lobs`), performed by the target after the update's row is
found; they are never part of the merged image (which then is not a full row). Values
that are plain strings or NULLs (nearly all) only go through the converters that change
them (RAW to bytes, for instance); anything else (an ``InvalidText``, an
``Unsupported``) goes through every converter, which refuses it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from drcommon.model import ColumnInfo, ImageValue, LobWrites, NotLogged, Operation, RowChange

from drapply.adapters.base import BoundChange
from drapply.errors import BadRecord, UnconfiguredTable, ValueNotStorable
from drapply.lobs import LobKind, lob_edit, lob_kind
from drapply.naming import Naming, TableRef, matches
from drapply.settings import SourceSettings
from drapply.typemap import Converter, as_text

ConverterFor = Callable[[ColumnInfo | None], Converter]
_PLAIN = frozenset({str, type(None)})
_SHAPES_LIMIT = 50_000  # distinct shapes kept; more means unusual churn, start over


class RunKey:
    """Which changes can share one batched statement: one object per (operation, table,
    set columns, key columns, LOB columns written in place), compared and hashed by
    identity (cheap per change)."""

    __slots__ = ("key_cols", "lob_cols", "op", "set_cols", "table")

    def __init__(
        self,
        op: Operation,
        table: TableRef,
        set_cols: tuple[str, ...],
        key_cols: tuple[str, ...],
        lob_cols: tuple[str, ...] = (),
    ) -> None:
        self.op, self.table, self.set_cols, self.key_cols = op, table, set_cols, key_cols
        self.lob_cols = lob_cols

    def __repr__(self) -> str:
        lobs = f" writing {self.lob_cols}" if self.lob_cols else ""
        return f"RunKey({self.op.value} {self.table} {self.set_cols} by {self.key_cols}{lobs})"


@dataclass(frozen=True, slots=True)
class _Image:
    """How one image (before or after) of a shape becomes target names and values."""

    names: tuple[str, ...]
    sources: tuple[str, ...]  # Oracle column names, for errors
    converters: tuple[Converter, ...]
    fixes: tuple[tuple[int, Converter], ...]  # positions whose converter changes strings

    def values(self, image: dict[str, ImageValue], change: RowChange) -> tuple[Any, ...]:
        values = tuple(image.values())
        try:
            if set(map(type, values)) <= _PLAIN:
                if not self.fixes:
                    return values
                out: list[Any] = list(values)
                for index, convert in self.fixes:
                    out[index] = convert(out[index])
                return tuple(out)
            return tuple(convert(v) for convert, v in zip(self.converters, values, strict=True))
        except (ValueNotStorable, TypeError, ValueError):
            self._name_the_column(image, change)
            raise

    def _name_the_column(self, image: dict[str, ImageValue], change: RowChange) -> None:
        for column, convert in zip(self.sources, self.converters, strict=True):
            try:
                convert(image[column])
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


@dataclass(frozen=True, slots=True)
class _Shape:
    """A compiled binding for one table, operation, key, column types and image columns."""

    op: Operation
    ref: TableRef
    owner: str
    table: str
    key_cols: tuple[str, ...]
    key_positions: tuple[int, ...]  # in the key image (after for inserts, else before)
    before: _Image | None
    after: _Image | None
    moves: tuple[tuple[int, int], ...]  # (key position, after position): keys an update sets
    columns: tuple[tuple[str, ColumnInfo], ...]
    has_pk: bool
    run: RunKey
    lobs: tuple[tuple[str, str, LobKind], ...] = ()  # (Oracle column, target column, kind)

    def with_edits(self, bound: BoundChange, edits: dict[str, LobWrites]) -> BoundChange:
        """An update's LOB writes as edits; its merged image loses those columns."""
        found = []
        for source, target, kind in self.lobs:
            try:
                found.append(lob_edit(target, kind, edits[source]))
            except ValueNotStorable as exc:
                raise ValueNotStorable(exc.message, table=f"{self.owner}.{self.table}",
                                       column=source) from None  # fmt: skip
        image = bound.image
        if image is not None:
            written = {target for _s, target, _k in self.lobs}
            image = {k: v for k, v in image.items() if k not in written}
        return bound._replace(lob_edits=tuple(found), image=image)

    def bind(self, change: RowChange) -> BoundChange:
        op = self.op
        if op is Operation.INSERT:
            assert self.after is not None and change.after is not None
            values = self.after.values(change.after, change)
            keys = tuple(values[i] for i in self.key_positions)
            return BoundChange(op, self.ref, self.owner, self.table, self.key_cols, keys,
                               self.after.names, values, None, self.columns, self.has_pk,
                               None, self.run)  # fmt: skip
        assert self.before is not None and change.before is not None
        old = self.before.values(change.before, change)
        keys = tuple(old[i] for i in self.key_positions)
        if op is Operation.DELETE:
            return BoundChange(op, self.ref, self.owner, self.table, self.key_cols, keys,
                               (), (), None, self.columns, self.has_pk, None, self.run)  # fmt: skip
        if self.after is not None and change.after:
            new = self.after.values(change.after, change)
            names = self.after.names
        else:
            new, names = (), ()
        # The merged image; whether it holds every column of the target row is decided
        # against the target table when it is needed (overwrite policy).
        image = dict(zip(self.before.names, old, strict=True))
        image.update(zip(names, new, strict=True))
        moved = None
        if self.moves:
            target = list(keys)
            for key_index, after_index in self.moves:
                target[key_index] = new[after_index]
            moved = tuple(target) if tuple(target) != keys else None
        return BoundChange(op, self.ref, self.owner, self.table, self.key_cols, keys, names,
                           new, image, self.columns, self.has_pk, moved, self.run)  # fmt: skip


class Planner:
    """Binds row changes for one target."""

    def __init__(self, naming: Naming, converter_for: ConverterFor, source: SourceSettings):
        self._naming = naming
        self._converter_for = converter_for
        self._source = source
        self._columns: dict[tuple[str, str, str, str, int | None], tuple[str, Converter]] = {}
        self._shapes: dict[tuple[Any, ...], _Shape] = {}
        self._runs: dict[tuple[Any, ...], RunKey] = {}
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

    def table_ref(self, change: RowChange) -> TableRef:
        return self._naming.table(change.owner, change.table)

    @property
    def naming(self) -> Naming:
        return self._naming

    def forget(self, owner: str, table: str) -> None:
        """Drop compiled shapes of a table (after DDL: its column types may have changed)."""
        for key in [k for k in self._shapes if k[0] == owner and k[1] == table]:
            del self._shapes[key]
        for ckey in [k for k in self._columns if k[0] == owner and k[1] == table]:
            del self._columns[ckey]

    def bind(self, change: RowChange) -> BoundChange:
        """Map one insert, update or delete to target terms."""
        if change.undecoded is not None:
            raise ValueNotStorable(
                f"capture could not decode this change: {change.undecoded}",
                table=f"{change.owner}.{change.table}",
                rba=change.position.rba if change.position else None,
            )
        before = change.before
        if before and not set(map(type, before.values())) <= _PLAIN and any(
            isinstance(v, NotLogged) for v in before.values()
        ):
            before = {k: v for k, v in before.items() if not isinstance(v, NotLogged)}
            change = change.model_copy(update={"before": before})
        edits = _lob_writes(change)
        if edits:
            change = change.model_copy(
                update={"after": {k: v for k, v in (change.after or {}).items() if k not in edits}}
            )
        after, columns = change.after, change.columns
        key = (
            change.owner,
            change.table,
            change.op,
            change.pk,
            # The wire reader's shared maps hash by identity; other dicts by content.
            columns if isinstance(columns, dict) and type(columns).__hash__ is not None
            else tuple(columns.items()),
            None if before is None else tuple(before),
            None if after is None else tuple(after),
            tuple(edits) if edits else None,
        )  # fmt: skip
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._compile(change, edits)
            if len(self._shapes) >= _SHAPES_LIMIT:
                self._shapes.clear()
            self._shapes[key] = shape
        bound = shape.bind(change)
        return shape.with_edits(bound, edits) if edits else bound

    # -- compiling -----------------------------------------------------------------------------
    def _compile(self, change: RowChange, edits: dict[str, LobWrites] | None = None) -> _Shape:
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
        order = list(key_image)
        key_positions = tuple(order.index(k) for k in key_names)
        name = self._naming.column
        key_cols = tuple(name(change.owner, change.table, k) for k in key_names)
        before = self._image(change, change.before) if op is not Operation.INSERT else None
        after = self._image(change, change.after) if op is not Operation.DELETE else None
        moves: tuple[tuple[int, int], ...] = ()
        if op is Operation.UPDATE and change.after:
            after_order = list(change.after)
            moves = tuple(
                (i, after_order.index(k)) for i, k in enumerate(key_names) if k in change.after
            )
        if op is Operation.INSERT:
            set_cols = after.names if after else ()
        elif op is Operation.UPDATE:
            set_cols = after.names if after and change.after else ()
        else:
            set_cols = ()
        ref = self._naming.table(change.owner, change.table)
        lobs = tuple(
            (col, name(change.owner, change.table, col),
             lob_kind(change.columns.get(col), value.oracle_type))
            for col, value in (edits or {}).items()
        )  # fmt: skip
        lob_cols = tuple(target for _s, target, _k in lobs)
        run_key = (op, ref, set_cols, key_cols, lob_cols)
        run = self._runs.get(run_key)
        if run is None:
            run = self._runs[run_key] = RunKey(op, ref, set_cols, key_cols, lob_cols)
        columns = tuple(
            (name(change.owner, change.table, col), info) for col, info in change.columns.items()
        )
        return _Shape(op, ref, change.owner, change.table, key_cols, key_positions, before,
                      after, moves, columns, bool(change.pk), run, lobs)  # fmt: skip

    def _image(self, change: RowChange, image: dict[str, ImageValue] | None) -> _Image:
        plan = [self._column(change, column) for column in image or {}]
        converters = tuple(convert for _name, convert in plan)
        return _Image(
            names=tuple(n for n, _c in plan),
            sources=tuple(image or {}),
            converters=converters,
            fixes=tuple((i, c) for i, c in enumerate(converters) if c is not as_text),
        )

    def _column(self, change: RowChange, column: str) -> tuple[str, Converter]:
        """Target name and converter of a column, cached per table and Oracle type."""
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


def _lob_writes(change: RowChange) -> dict[str, LobWrites] | None:
    """An update's in-place LOB writes by Oracle column (None when it has none; those
    of other operations stay in the image and are refused by the converters)."""
    after = change.after
    if change.op is not Operation.UPDATE or not after or set(map(type, after.values())) <= _PLAIN:
        return None
    found = {k: v for k, v in after.items() if isinstance(v, LobWrites)}
    return found or None


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
    levels: list[dict[object, list[BoundChange]]] = []
    for change in changes:
        table = change.table
        row = (table.schema, table.table, change.key_vals)
        moved = change.new_key
        if moved is None:
            level = last.get(row, -1) + 1
            last[row] = level
        else:  # an update that moves the row to another key: both keys are its
            target = (table.schema, table.table, moved)
            level = max(last.get(row, -1), last.get(target, -1)) + 1
            last[row] = last[target] = level
        if level == len(levels):
            levels.append({})
        run = levels[level].get(change.run_key)
        if run is None:
            levels[level][change.run_key] = [change]
        else:
            run.append(change)
    for level_runs in levels:
        yield from level_runs.values()
