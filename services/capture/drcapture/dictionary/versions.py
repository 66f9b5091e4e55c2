"""Dictionary versions by commit SCN: which dictionary each committed change decodes with.

A DDL runs as a transaction of its own that changes the SYS dictionary tables (OBJ$,
TAB$, COL$ …). Capture decodes those changes from the redo (the core hands them over as
:class:`~drcapture.dictionary.model.SystemChange`) and, when the merge releases that
transaction, applies them to the tracked rows: from its commit SCN on, a new version is
valid. A version is named by that SCN.

Why the commit SCN is the right boundary for every change, not just most: a DDL takes an
exclusive lock on its table, so no transaction holds uncommitted changes to the table
while the DDL runs. A transaction committed after the DDL made all its changes to that
table after it; one committed before, before it. So each committed transaction decodes
with the version valid at its commit, whatever thread it ran on.

The change sets that made the versions are published to Kafka in the same transaction as
the DDL itself (:mod:`drcapture.checkpoints`): a restart rebuilds the current version from
the configured dictionary and those change sets, with no local file to lose.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from drcommon.errors import DRError, SourceError

from drcapture.dictionary.derive import DatabaseFacts
from drcapture.dictionary.model import Dictionary, SystemChange, TableDef
from drcapture.dictionary.system import (
    INSERT,
    TRACKED,
    UPDATE,
    DictionaryChangeSet,
    SystemRows,
    field_value,
)

Handle = TypeVar("Handle")


class DictionaryTrackingError(SourceError):
    """The redo's dictionary changes cannot be applied to the tracked rows."""


@dataclass(frozen=True, slots=True)
class Version(Generic[Handle]):
    """One dictionary version: valid from ``scn`` (the commit SCN of the DDL that made
    it; the base dictionary's own SCN for the first) until the next one."""

    scn: int
    xid: str | None
    dictionary: Dictionary
    core: Handle  # the same dictionary built for the compiled core, once
    changed_tables: frozenset[int]  # user table objects whose definition differs


def captured_objects(dictionary: Dictionary, wanted: Callable[[str, str], bool] | None
                     ) -> set[int]:
    """Object numbers (tables, partitions, segments) whose table the filter keeps."""
    return {obj for obj, table in dictionary.tables.items()
            if wanted is None or wanted(table.owner, table.name)}


def table_names(objs: set[int], dictionary: Dictionary) -> list[str]:
    """``OWNER.NAME`` of the tables ``objs`` name (partitions name their table), sorted."""
    return sorted({f"{dictionary.tables[o].owner}.{dictionary.tables[o].name}"
                   for o in objs if o in dictionary.tables})


def changed_tables(old: Dictionary, new: Dictionary) -> frozenset[int]:
    """Table objects present in either version whose definition differs."""
    objs = set(old.tables) | set(new.tables)
    return frozenset(o for o in objs if _table(old, o) != _table(new, o))


def _table(dictionary: Dictionary, obj: int) -> TableDef | None:
    return dictionary.tables.get(obj)


# The columns by which a dictionary row names the object it describes.
OBJECT_COLUMNS = ("OBJ#", "BO#", "POBJ#")


def effective_changes(rows: SystemRows, changes: Iterable[SystemChange]) -> list[SystemChange]:
    """The changes that alter the tracked rows, in order. Left out:

    * changes to tables the dictionary does not depend on (IND$, SEG$ …);
    * updates that only set untracked columns (statistics, times) or set tracked ones to
      the values they hold: a transaction with nothing else (a statistics gathering, a
      segment created on first insert) makes no new version;
    * rows of objects the dictionary does not hold. It holds the configured schemas'
      objects and the SYS tables; a DDL elsewhere in the database inserts rows of other
      owners' objects and updates or deletes rows it never held. A change to a row it
      does not hold that names an object it does hold is kept: applying it fails with
      the ROWID named, since the configured dictionary is then not the redo's.
    """
    owners = {int(r["user"]) for r in rows.sections.get("sys-user", {}).values()
              if r.get("user") is not None}
    known = {int(r["obj"]) for r in rows.sections.get("sys-obj", {}).values()}
    out = []
    for change in changes:
        tracked = TRACKED.get(change.table)
        if tracked is None:
            continue
        fields = tracked[1]
        row = rows.row(change.table, change.rowid)
        named = _objects_named(change)
        if change.table == "OBJ$" and change.op == INSERT:
            owner = _number(change.values.get("OWNER#"))
            if owner not in owners and owner != SYS_USER:
                continue
            known.update(named)
        elif _outside(change, row is not None, named, known):
            continue
        if change.op == UPDATE and row is not None and all(
            fields[c] not in row or row[fields[c]] == field_value(fields[c], v)
            for c, v in change.values.items() if c in fields
        ):
            continue
        out.append(change)
    return out


SYS_USER = 0  # OBJ$.OWNER# of the SYS dictionary tables themselves


def _outside(change: SystemChange, held: bool, named: set[int], known: set[int]) -> bool:
    """A change to a row of an object the dictionary does not hold."""
    if held:
        return False
    if named:
        return not named & known
    return change.op != INSERT  # a row never held that names no object: someone else's


def _number(text: str | None) -> int | None:
    try:
        return None if text is None else int(text)
    except ValueError:
        return None


def _objects_named(change: SystemChange) -> set[int]:
    found = (_number(change.values.get(column)) for column in OBJECT_COLUMNS)
    return {obj for obj in found if obj is not None}


class DictionaryVersions(Generic[Handle]):
    """The base dictionary's tracked rows and the versions the redo made from them."""

    def __init__(self, rows: SystemRows, base: Dictionary,
                 build_core: Callable[[Dictionary], Handle],
                 wanted: Callable[[str, str], bool] | None = None) -> None:
        self._rows = rows
        self._wanted = wanted
        self._facts = DatabaseFacts(db_id=base.db_id, db_name=base.db_name,
                                    charsets=base.charsets, scn=base.scn,
                                    max_obj=base.max_obj)
        self._build_core = build_core
        self._current: Version[Handle] = Version(base.scn, None, base, build_core(base),
                                                 frozenset())
        # What the rows derive to now: what the next version is compared with (the
        # configured dictionary may be a snapshot's tables, written by another hand).
        self._derived = rows.dictionary(self._facts)
        self.applied: list[DictionaryChangeSet] = []

    @property
    def current(self) -> Version[Handle]:
        return self._current

    @property
    def rows(self) -> SystemRows:
        """The tracked rows of the current version (not to be changed by the caller)."""
        return self._rows

    def newly_captured(self, before: Version[Handle], after: Version[Handle]) -> set[int]:
        """Objects the filter keeps under ``after`` but not under ``before`` (a table
        renamed into the filter) that the core may have skipped while reading on with
        ``before``: those at or below ``max_obj`` (above it the core keeps every change
        until a version decides, see Dictionary.max_obj)."""
        kept = captured_objects(after.dictionary, self._wanted)
        kept -= captured_objects(before.dictionary, self._wanted)
        limit = self._facts.max_obj
        return {obj for obj in kept if limit == 0 or obj <= limit}

    def came_into_capture(self, before: Version[Handle], after: Version[Handle]) -> set[int]:
        """Objects the filter keeps under ``after`` but not under ``before`` that existed
        before it (a table renamed into the filter): their rows from before ``after`` were
        never captured. A table ``after`` creates is not one of them."""
        kept = captured_objects(after.dictionary, self._wanted)
        kept -= captured_objects(before.dictionary, self._wanted)
        return {obj for obj in kept if obj in before.dictionary.tables}

    def replay(self, entries: Iterable[DictionaryChangeSet]) -> None:
        """Apply change sets published before a restart (those the base already holds,
        at or before its SCN, are left out), building one version at the end."""
        todo = [e for e in entries if e.scn > self._facts.scn]
        if not todo:
            return
        for entry in todo:
            self._apply_rows(entry)
        last = todo[-1]
        self._current = self._version(last.scn, last.xid)
        self.applied.extend(todo)

    def effective(self, entry: DictionaryChangeSet) -> DictionaryChangeSet | None:
        """``entry`` cut to the changes that alter the tracked rows (None: none do, or the
        configured dictionary was taken at or after its SCN and holds them already)."""
        if entry.scn <= self._facts.scn:
            return None
        changes = effective_changes(self._rows, entry.changes)
        if not changes:
            return None
        return DictionaryChangeSet(scn=entry.scn, xid=entry.xid, changes=tuple(changes))

    def advance(self, entry: DictionaryChangeSet) -> Version[Handle]:
        """Apply one DDL transaction's changes; the new version is valid from its SCN."""
        if entry.scn < self._current.scn:
            raise DictionaryTrackingError(
                "dictionary changes arrived out of commit order",
                scn=entry.scn, xid=entry.xid, current_version_scn=self._current.scn,
            )
        self._apply_rows(entry)
        self._current = self._version(entry.scn, entry.xid)
        self.applied.append(entry)
        return self._current

    def provisional(self, entries: Iterable[DictionaryChangeSet]) -> Version[Handle] | None:
        """The version one thread reads on with after DDL transactions it read that the
        merge has not released yet (``entries``, in its commit order), on top of the
        current one; None when they change nothing. The released version replaces it;
        records are always made with the released one (see the module doc)."""
        rows = self._rows.copy()
        last = None
        for entry in entries:
            changes = effective_changes(rows, entry.changes) if entry.scn > self._facts.scn else []
            if changes:
                try:
                    rows.apply_all([DictionaryChangeSet(entry.scn, entry.xid, tuple(changes))])
                except DRError:
                    return None  # the release applies it again and says what is wrong
                last = entry
        if last is None:
            return None
        derived = rows.dictionary(self._facts)
        derived.scn, derived.max_obj = last.scn, self._facts.max_obj
        return Version(last.scn, last.xid, derived, self._build_core(derived),
                       changed_tables(self._derived, derived))

    def _apply_rows(self, entry: DictionaryChangeSet) -> None:
        try:
            self._rows.apply_all([entry])
        except DRError as exc:
            where = {**exc.where, "scn": entry.scn, "xid": entry.xid}
            raise DictionaryTrackingError(
                "the dictionary changes of a DDL transaction do not fit the tracked "
                f"dictionary: {exc.message}", **where,
            ) from exc

    def _version(self, scn: int, xid: str | None) -> Version[Handle]:
        derived = self._rows.dictionary(self._facts)
        derived.scn = scn
        derived.max_obj = self._facts.max_obj  # never raised: see Dictionary.max_obj
        changed = changed_tables(self._derived, derived)
        self._derived = derived
        return Version(scn, xid, derived, self._build_core(derived), changed)
