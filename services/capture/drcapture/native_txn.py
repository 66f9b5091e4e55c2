"""The typed face of the core's transaction layer: one :class:`ThreadCore` per RAC thread.

A thread core holds the dictionary (built once from the Python :class:`Dictionary`, with
the filter's answer per table), walks a log opened at a :class:`ReadState` up to a record
budget with the GIL released, and hands back :class:`NativeCommit` s: committed
transactions whose row changes stay in the core until they are serialised into the
exact Kafka records :func:`drcapture.publish.transaction_records` writes. Errors come
back as the project's own ``DRError`` subclasses with their facts, as the Python
assembler raises them (its message, facts and class).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import starmap
from pathlib import Path
from typing import Any, Final, NoReturn

from drcapture_core import _core
from drcommon.errors import (
    ConfigError,
    CorruptRedo,
    DRError,
    ParseError,
    SinkError,
    UnsupportedFormat,
)
from drcommon.model import TransactionInfo

from drcapture.dictionary.model import Charsets, ColumnDef, Dictionary, SystemChange, TableDef
from drcapture.errors import DirectLoadGap, SpillDiskFull, UndecodableChange, free_bytes
from drcapture.native import NativeRedoFile, time_zones
from drcapture.publish_records import OutRecord, RecordLimits
from drcapture.redo.binary import redo_time
from drcapture.redo.blocks import BlockStatus
from drcapture.redo.ops.common import Fragment, NotInRedo
from drcapture.redo.records import Rba, ReadState
from drcapture.redo.txn.state import check_state_version, piece_from_json
from drcapture.redo.xid import Xid
from drcapture.values.errors import MalformedValue, UnknownCharset

_ERRORS: Final[dict[str, type[DRError]]] = {
    "ParseError": ParseError,
    "CorruptRedo": CorruptRedo,
    "UnsupportedFormat": UnsupportedFormat,
    "MalformedValue": MalformedValue,
    "UndecodableChange": UndecodableChange,
    "SinkError": SinkError,
    "UnknownCharset": UnknownCharset,
    "ConfigError": ConfigError,
    "DirectLoadGap": DirectLoadGap,
    "SpillDiskFull": SpillDiskFull,
}
_STATUS: Final = {status.value: status for status in BlockStatus}


def _error(exc: BaseException, spill: Path | None = None) -> BaseException:
    """The project's exception for what the core raised (an ``OSError`` stays one)."""
    if not isinstance(exc, _core.CoreError):
        return exc
    kind, message, facts = exc.args
    if kind == "ValueError":
        return ValueError(message)
    where: dict[str, Any] = {
        key: Rba(*value) if key == "rba" and isinstance(value, tuple) else value
        for key, value in facts}
    if kind == "SpillDiskFull":  # the free bytes, told where Python tells them
        error = where.pop("error", None)
        where["free_bytes"] = free_bytes(spill) if spill is not None else None
        where["error"] = error
    return _ERRORS[kind](message, **where)


def _raise(exc: BaseException, spill: Path | None = None) -> NoReturn:
    raise _error(exc, spill) from None


def _info(column: ColumnDef, charsets: Charsets) -> tuple[Any, ...]:
    charset = None
    if column.charset_form == 1:
        charset = charsets.database
    elif column.charset_form == 2:
        charset = charsets.national
    return (column.type_name, column.length or None, column.precision, column.scale,
            column.nullable, charset)


def _table_tuple(objs: list[int], table: TableDef, charsets: Charsets,
                 captured: bool, system: bool = False) -> tuple[Any, ...]:
    columns = [(c.seg_col, c.name, c.type_code, c.type_name, c.scale, c.charset_form,
                _info(c, charsets)) for c in table.columns]
    iot = None
    if table.iot is not None:
        iot = (table.iot.index_obj, table.iot.overflow_obj, table.iot.key_compressed)
    return (objs, table.obj, table.owner, table.name, columns, list(table.pk),
            table.data_obj, iot, captured, table.cluster_key_columns, system)


def dictionary_tables(dictionary: Dictionary,
                      wanted: Callable[[str, str], bool] | None) -> list[tuple[Any, ...]]:
    """The dictionary's tables as the core takes them: one tuple per table object with the
    object numbers naming it and whether ``wanted`` keeps it, then the SYS dictionary
    tables (``system_tables``), marked ``system``: always decoded, never published,
    whatever ``wanted`` says."""
    groups: dict[int, tuple[TableDef, list[int]]] = {}
    for obj, table in dictionary.tables.items():
        groups.setdefault(id(table), (table, []))[1].append(obj)
    out = []
    for table, objs in groups.values():
        captured = wanted is None or wanted(table.owner, table.name)
        out.append(_table_tuple(objs, table, dictionary.charsets, captured))
    for obj, table in dictionary.system_tables.items():
        out.append(_table_tuple([obj], table, dictionary.charsets, False, system=True))
    return out


class CoreDictionary:
    """A dictionary version built once in the core (with the filter's answer per table):
    what a :class:`ThreadCore` decodes with (:meth:`ThreadCore.set_dictionary`) and what
    a commit can be decoded again with (``NativeCommit.records(dictionary=…)``)."""

    __slots__ = ("core", "dictionary")

    def __init__(self, dictionary: Dictionary,
                 wanted: Callable[[str, str], bool] | None = None) -> None:
        self.dictionary = dictionary
        self.core = _core.Dictionary(
            dictionary_tables(dictionary, wanted),
            (dictionary.db_id, dictionary.db_name, dictionary.charsets.database,
             dictionary.charsets.national, dictionary.max_obj))


def _system_change(found: tuple[str, str, str, list[tuple[str, str | None]]]) -> SystemChange:
    table, op, rowid, values = found
    return SystemChange(table, op, rowid, dict(values))


@dataclass(frozen=True, slots=True)
class CoreOptions:
    """How one thread's core names, filters, decodes, stores and starts."""

    thread: int
    db_id: int = 0
    db_name: str = ""
    include_unknown: bool = False
    wanted: Callable[[str, str], bool] | None = None
    triage: bool = True
    on_undecodable: str = "stop"
    on_direct_load: str = "stop"
    spill_directory: Path | None = None  # None: every transaction in memory
    spill_threshold: int = 64 * 1024 * 1024
    start: Rba | None = None
    start_exclusive: bool = False
    start_scn: int = 0


@dataclass(frozen=True, slots=True)
class Prepare:
    """How a read makes its commits' Kafka records ahead, beside the other threads'
    reads (:meth:`ThreadCore.read`), for a later :meth:`NativeCommit.records` with the
    same arguments: each commit at its :attr:`~NativeCommit.commit_ts` if that is aware
    (the commit's own time, UTC), else at ``aware(commit_ts)`` (a redo time, naive: the
    server's zone)."""

    aware: Callable[[datetime], datetime]
    max_changes: int
    limits: RecordLimits


Moment = tuple[int, int, int, int, int, int, int, int | None]


def _moment(commit_ts: datetime) -> Moment:
    """A time as the core takes it: its fields and its UTC offset in µs (None: naive)."""
    if commit_ts.tzinfo is UTC:  # a commit's own time (most): no call into the zone
        return (commit_ts.year, commit_ts.month, commit_ts.day, commit_ts.hour,
                commit_ts.minute, commit_ts.second, commit_ts.microsecond, 0)
    offset = commit_ts.utcoffset()
    offset_us = None
    if offset is not None:
        offset_us = ((offset.days * 86_400 + offset.seconds) * 1_000_000
                     + offset.microseconds)
    return (commit_ts.year, commit_ts.month, commit_ts.day, commit_ts.hour,
            commit_ts.minute, commit_ts.second, commit_ts.microsecond, offset_us)


def _commit_ts(kind: str, value: int) -> datetime | None:
    """A commit time as the core gives it (see :attr:`NativeCommit.commit_ts`)."""
    if kind == "unix":
        return datetime.fromtimestamp(value, UTC)
    return redo_time(value)


@dataclass(slots=True)
class CoreBatch:
    """What one :meth:`ThreadCore.read` produced: up to an error, if there was one."""

    commits: list[NativeCommit] = field(default_factory=list)
    records: int = 0
    bytes: int = 0
    scn: int = 0
    ended: bool = False  # the walk reached the end of what is readable now
    # What stopped the read early (a DRError, or an OSError from the operating system),
    # and where: "walk" (blocks, records, vectors) or "feed" (the record's operations,
    # rows, values, the spill store). The batch holds what was read before it.
    error: BaseException | None = None
    stage: str | None = None
    # The read stopped right after a commit with changes of the SYS dictionary tables
    # (the last commit of the batch): install the dictionary version they make before
    # reading on.
    system: bool = False

    def raise_error(self) -> None:
        """Raise :attr:`error` if there is one."""
        if self.error is not None:
            raise self.error


class NativeCommit:
    """A committed transaction held in the core (its changes are not Python objects)."""

    __slots__ = ("_commit", "_dictionary")

    def __init__(self, commit: Any) -> None:
        self._commit = commit
        # The dictionary version its records are made with when none is given (None:
        # the one it was prepared with): see use_dictionary.
        self._dictionary: CoreDictionary | None = None

    def use_dictionary(self, dictionary: CoreDictionary) -> None:
        """Make its header, records and change lines with ``dictionary`` from now on
        (the version valid at its commit, chosen when the merge releases it)."""
        self._dictionary = None if self.prepared_with(dictionary) else dictionary

    def prepare(self, commit_ts: datetime, max_changes: int, limits: RecordLimits) -> None:
        """Serialise the records now (in the reader's thread, beside the other threads'
        reads; the core keeps them) for a later :meth:`records` with the same arguments.
        An error is left for that call to raise, where the publisher meets it."""
        self._commit.prepare(_moment(commit_ts), max_changes, limits.max_value_bytes,
                             limits.max_record_bytes)

    @property
    def xid(self) -> Xid:
        return Xid(*self._commit.xid)

    @property
    def thread(self) -> int:
        return int(self._commit.thread)

    @property
    def commit_scn(self) -> int:
        return int(self._commit.commit_scn)

    @property
    def commit_rba(self) -> str:
        return str(Rba(*self._commit.commit_rba))

    @property
    def start_scn(self) -> int:
        return int(self._commit.start_scn)

    @property
    def start_rba(self) -> str:
        return str(Rba(*self._commit.start_rba))

    @property
    def commit_ts(self) -> datetime | None:
        """The commit time as the Python assembler gives it: UTC from the commit's own
        time, else the newest redo time read (naive: the server's zone), else None."""
        found = self._commit.commit_time
        if found is None:
            return None
        return _commit_ts(*found)

    @property
    def changes_total(self) -> int:
        if self._dictionary is None:
            return int(self._commit.changes_total)
        return int(self._header(self._dictionary)[5])

    def _header(self, dictionary: CoreDictionary | None) -> tuple[Any, ...]:
        try:
            return tuple(self._commit.header(_core_of(dictionary)))
        except _core.CoreError as exc:
            _raise(exc)

    @property
    def schemas(self) -> tuple[str, ...]:
        return tuple(self._commit.schemas)

    @property
    def has_system_changes(self) -> bool:
        """It changed rows of the SYS dictionary tables."""
        return bool(self._commit.has_system_changes)

    def system_changes(self) -> list[SystemChange]:
        """Its changes of the SYS dictionary tables, in redo order (never published)."""
        return [_system_change(found) for found in self._commit.system_changes()]

    def prepared_with(self, dictionary: CoreDictionary) -> bool:
        """It was decoded first (prepared) with this dictionary version."""
        return bool(self._commit.prepared_with(dictionary.core))

    def dropped(self, dictionary: CoreDictionary) -> dict[str, int]:
        """What decoding it with ``dictionary`` left out, by counter (changes of objects
        that version does not know or capture); empty for the version it was prepared
        with (the thread core counted those)."""
        try:
            return dict(self._commit.dropped(dictionary.core))
        except _core.CoreError as exc:
            _raise(exc)

    def ddl(self) -> list[tuple[str, str, str | None]]:
        """The DDL changes it holds: (owner, table, statement)."""
        return list(self._commit.ddl())

    def info(self, commit_ts: datetime,
             dictionary: CoreDictionary | None = None) -> TransactionInfo:
        """The event model's header with this commit time (its other fields read from
        the core at once), decoded with ``dictionary`` when given."""
        xid, scn, thread, rba, start_scn, changes, schemas = self._header(
            dictionary or self._dictionary)
        return TransactionInfo(xid=xid, commit_scn=scn, commit_ts=commit_ts, thread=thread,
                               commit_rba=rba, start_scn=start_scn, changes_total=changes,
                               schemas=schemas)

    def records(self, commit_ts: datetime, max_changes: int, limits: RecordLimits,
                dictionary: CoreDictionary | None = None) -> tuple[bytes, list[OutRecord]]:
        """``(key, records)``: what :func:`drcapture.publish.transaction_records` writes
        for this transaction at ``commit_ts`` (an aware time); what :meth:`prepare` (or
        the read, :class:`Prepare`) made for the same arguments, if it did.
        ``dictionary``: decode it with that version (its pieces are kept; None: the one
        use_dictionary chose, else as prepared)."""
        dictionary = dictionary or self._dictionary
        own = dictionary is None or self.prepared_with(dictionary)
        try:
            key, found = self._commit.records(_moment(commit_ts), max_changes,
                                              limits.max_value_bytes,
                                              limits.max_record_bytes,
                                              None if own else _core_of(dictionary))
        except _core.CoreError as exc:
            _raise(exc)
        return key, list(starmap(OutRecord, found))  # no Python loop: less held GIL

    def change_lines(self, dictionary: CoreDictionary | None = None) -> list[bytes]:
        """Each change as the JSON the event model writes for it (decoded with
        ``dictionary`` when given, else the one use_dictionary chose)."""
        try:
            return list(self._commit.change_lines(_core_of(dictionary or self._dictionary)))
        except _core.CoreError as exc:
            _raise(exc)


def _core_of(dictionary: CoreDictionary | None) -> Any:
    return None if dictionary is None else dictionary.core


def _raw_tuple(raw: object) -> object:
    if isinstance(raw, NotInRedo):
        return raw.reason
    if isinstance(raw, Fragment):
        return (raw.data, raw.continues, raw.goes_on, raw.at, raw.next_piece)
    return raw


def _values(values: Sequence[tuple[int, object]]) -> list[tuple[int, object]]:
    return [(col, _raw_tuple(raw)) for col, raw in values]


def _piece_tuple(data: dict[str, Any]) -> tuple[Any, ...]:
    piece = piece_from_json(data)
    lob = None
    if piece.lob is not None:
        lob = (piece.lob.lid, piece.lob.column, piece.lob.op, piece.lob.length)
    return (piece.kind.value, tuple(Rba.parse(piece.rba)), piece.scn, piece.sub_scn,
            piece.con_id, piece.obj, piece.data_obj, piece.redo_code, piece.undo_code,
            piece.bdba, piece.slot, piece.fb, piece.supp_type, piece.supp_fb, piece.row,
            _values(piece.before), _values(piece.after), _values(piece.supp),
            [_values(r) for r in piece.rows], list(piece.slots), piece.ddl,
            piece.compressed, piece.before_rest.reason if piece.before_rest else None,
            piece.after_rest.reason if piece.after_rest else None, lob, piece.ddl_command)


@dataclass(frozen=True, slots=True)
class OpenTransaction:
    """A transaction seen but not yet committed or rolled back."""

    xid: Xid
    start_scn: int
    start_rba: str


class ThreadCore:
    """One RAC thread's walk and transaction assembly in the core."""

    def __init__(self, dictionary: Dictionary | CoreDictionary, options: CoreOptions) -> None:
        self.options = options
        if isinstance(dictionary, Dictionary):
            dictionary = CoreDictionary(dictionary, options.wanted)
        self.dictionary = dictionary
        spill = None
        self._spill = options.spill_directory
        if options.spill_directory is not None:
            spill = (str(options.spill_directory), options.spill_threshold)
        first = options.start
        start = ((first.sequence, first.block, first.offset) if first else None,
                 options.start_exclusive, options.start_scn)
        try:
            self._core = _core.ThreadCore(
                dictionary.core,
                time_zones(),
                (options.thread, options.db_id, options.db_name, options.include_unknown,
                 options.triage, options.on_undecodable, options.on_direct_load),
                spill, start)
        except _core.CoreError as exc:
            _raise(exc)

    def set_dictionary(self, dictionary: CoreDictionary) -> None:
        """Feed, triage and commit with ``dictionary`` from now on (a new version, e.g.
        after a batch that ended on a commit with system changes). Transactions still
        open keep the pieces they have."""
        try:
            self._core.set_dictionary(dictionary.core)
        except _core.CoreError as exc:
            _raise(exc)
        self.dictionary = dictionary

    def open(self, redo: NativeRedoFile, state: ReadState) -> None:
        """Walk ``redo`` from ``state`` from now on."""
        self._core.open(redo.core, (state.next_block, state.resume_offset,
                                    state.stopped.value))

    def read(self, budget: int, state: ReadState | None = None,
             prepare: Prepare | None = None) -> CoreBatch:
        """Read up to ``budget`` records of the open log (``state`` follows the walk),
        the GIL released; with ``prepare``, its commits' records are made too, in the
        same call (see :class:`Prepare`). An error does not raise: it ends the batch
        (see :class:`CoreBatch`)."""
        ahead = None
        if prepare is not None:
            def moment(value: int) -> Moment | None:  # a redo time's (the core: UNIX times)
                found = redo_time(value)
                return _moment(prepare.aware(found)) if found is not None else None
            limits = prepare.limits
            ahead = (moment, prepare.max_changes, limits.max_value_bytes,
                     limits.max_record_bytes)
        commits, records, size, scn, ended, found, failed, system = self._core.read(
            budget, ahead)
        if state is not None and found is not None:
            state.next_block, state.resume_offset = found[0], found[1]
            state.stopped = _STATUS[found[2]]
        batch = CoreBatch(list(map(NativeCommit, commits)), records, size, scn, ended,
                          system=system)
        if failed is not None:
            batch.stage, raised = failed
            batch.error = _error(raised, self._spill)
        return batch

    def discard(self) -> None:
        """Remove every spill file of this core (after a failed attempt)."""
        self._core.discard()

    @property
    def last_rba(self) -> Rba | None:
        found = self._core.last_rba
        return Rba(*found) if found is not None else None

    @property
    def last_scn(self) -> int:
        return int(self._core.last_scn)

    @property
    def last_time(self) -> datetime | None:
        found = self._core.last_time
        return redo_time(found) if found is not None else None

    @property
    def direct_load_rows(self) -> int:
        return int(self._core.direct_load_rows)

    def counters(self) -> dict[str, int]:
        """The assembler's counters (no zeros)."""
        return dict(self._core.counters())

    def op_counters(self) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        """Vectors by opcode: (decoded, skipped, unknown)."""
        decoded, skipped, unknown = self._core.op_counters()
        return dict(decoded), dict(skipped), dict(unknown)

    def take_notes(self) -> tuple[bool, list[Any], list[Any], list[Any]]:
        """What happened that the Python side logs (see the binding)."""
        return self._core.take_notes()

    def open_transactions(self) -> list[OpenTransaction]:
        """Open transactions, oldest first."""
        return [OpenTransaction(Xid(*x), scn, str(Rba(*rba)))
                for x, scn, rba in self._core.open_transactions()]

    def export_state(self) -> dict[str, Any]:
        """The open transactions with their pieces, in the Python assembler's format."""
        try:
            text = self._core.export_state()
        except _core.CoreError as exc:
            _raise(exc)
        state: dict[str, Any] = json.loads(text)
        return state

    def import_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`export_state` (or the Python assembler) produced."""
        check_state_version(state)
        items = [(tuple(Xid.parse(t["xid"])), t["start_scn"], tuple(Rba.parse(t["start_rba"])),
                  [_piece_tuple(p) for p in t["pieces"]]) for t in state["transactions"]]
        try:
            self._core.import_state(items)
        except _core.CoreError as exc:
            _raise(exc)

    def commit_open(self, scn: int, rba: str) -> list[NativeCommit]:
        """Commit every open transaction (for the tests)."""
        try:
            at = Rba.parse(rba)
            found = self._core.commit_open(scn, (at.sequence, at.block, at.offset))
        except _core.CoreError as exc:
            _raise(exc)
        return [NativeCommit(c) for c in found]

    def store_stats(self) -> tuple[int, int, int]:
        """(memory bytes, spilled transactions, spilled bytes)."""
        return self._core.store_stats()
