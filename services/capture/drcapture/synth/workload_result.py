"""What building a workload yields: the logs, the dictionary, and the committed
transactions a correct reader must report (computed from the description alone)."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from drcommon.model import ColumnValue, NotLogged, Operation

from drcapture.dictionary.model import Dictionary, SystemChange
from drcapture.dictionary.snapshot import dump_snapshot
from drcapture.dictionary.system import DictionaryChangeSet, SystemRows
from drcapture.synth.workload import Supplemental
from drcapture.synth.workload_iot import uses_whole_nonkey
from drcapture.synth.workload_ops import supplemental_columns
from drcapture.synth.workload_state import LOB_TYPES, Change, Kind, Locators, column_def
from drcapture.synth.writer import LogHeader
from drcapture.values.lob import NOT_IN_REDO, parse_locator
from drcapture.values.rowid import decode_rowid

DICTIONARY_FILE = "dictionary.json"


@dataclass(frozen=True, slots=True)
class ExpectedChange:
    """A row change a reader must report."""

    op: Operation
    owner: str
    table: str
    before: dict[str, ColumnValue] | None
    after: dict[str, ColumnValue] | None
    row_id: str | None  # None for index-organized tables (logical rowids only)


@dataclass(frozen=True, slots=True)
class ExpectedTransaction:
    """A committed transaction a reader must report (commit time in UTC); ``start_scn``
    is the SCN of its first redo record (Oracle's ``gv$transaction.start_scn``)."""

    thread: int
    xid: str
    commit_scn: int
    commit_time: datetime
    changes: tuple[ExpectedChange, ...]
    start_scn: int | None = None


@dataclass(frozen=True, slots=True)
class ExpectedDdl:
    """A committed DDL transaction a reader must report: the 24.1 record's statement,
    command and object, and the dictionary row changes (what the redo carries of each,
    by column name) that make the dictionary valid from ``commit_scn`` on."""

    thread: int
    xid: str
    commit_scn: int
    sql: str
    command: int
    obj: int
    changes: tuple[SystemChange, ...]

    def change_set(self) -> DictionaryChangeSet:
        """The journal entry capture keeps for this transaction."""
        return DictionaryChangeSet(scn=self.commit_scn, xid=self.xid, changes=self.changes)


@dataclass(frozen=True, slots=True)
class LogFile:
    """One archived log of one thread."""

    thread: int
    sequence: int
    header: LogHeader
    data: bytes

    @property
    def name(self) -> str:
        """``thread_1_seq_000042.arc``."""
        return f"thread_{self.thread}_seq_{self.sequence:06d}.arc"


@dataclass(frozen=True, slots=True)
class BuiltWorkload:
    """Logs (per thread, in sequence order), dictionary and expected transactions
    (in commit order)."""

    logs: tuple[LogFile, ...]
    dictionary: Dictionary
    expected: tuple[ExpectedTransaction, ...]
    # The source's SYS dictionary rows at the start (the snapshot's "system" section)
    # and the DDL transactions committed since, in commit order.
    system: SystemRows | None = None
    ddl: tuple[ExpectedDdl, ...] = ()
    # The source's tables at the end ("OWNER.TABLE" -> full rows, in key order): what a
    # DR copy must equal once everything is applied (every transaction ended).
    final: dict[str, list[dict[str, ColumnValue]]] = field(default_factory=dict)

    def logs_of(self, thread: int) -> list[LogFile]:
        """The logs of one thread in sequence order."""
        return [log for log in self.logs if log.thread == thread]

    def write(self, directory: Path) -> list[Path]:
        """Store every log under ``directory``, plus the dictionary as a snapshot
        (``dictionary.json``, :mod:`drcapture.dictionary.snapshot` format, with the SYS
        rows capture keeps the dictionary current from); returns the
        log paths in :attr:`logs` order."""
        directory.mkdir(parents=True, exist_ok=True)
        (directory / DICTIONARY_FILE).write_text(
            json.dumps(dump_snapshot(self.dictionary, self.system)))
        paths = []
        for log in self.logs:
            path = directory / log.name
            path.write_bytes(log.data)
            paths.append(path)
        return paths


def _rowid(data_obj: int, bdba: int, slot: int) -> str:
    return decode_rowid(struct.pack(">IIH", data_obj, bdba, slot))


def _shown_update_columns(change: Change) -> set[str]:
    """The columns a reader reports in both images of an update: the changed ones and
    those supplemental logging adds; for an IOT also the key, and what the leaf
    operation carries (:mod:`drcapture.synth.workload_iot`): a 10.30 the whole non-key
    part new and old (the old one stored nothing), a 10.35 with every column logged all."""
    table = change.table
    if table.compressed:  # a compressed row's images are logged whole, old and new
        return set(table.column_names())
    if not table.iot:
        return set(supplemental_columns(change)) | set(change.changed)
    if uses_whole_nonkey(change):
        names = table.stored_names()
        stored = [n for n in names if change.after[0][n] is not None]
        return set(names[: names.index(stored[-1]) + 1])
    if table.supplemental is Supplemental.ALL:
        return set(table.column_names())
    return set(table.pk) | set(change.changed)


def expected_changes(change: Change) -> list[ExpectedChange]:
    """What a reader reports for one (committed) change."""
    table = change.table
    names = table.column_names()

    def out(
        op: Operation,
        before: dict[str, ColumnValue] | None,
        after: dict[str, ColumnValue] | None,
        slot: int,
    ) -> ExpectedChange:
        return ExpectedChange(
            op=op,
            owner=table.owner,
            table=table.name,
            before=before,
            after=after,
            row_id=None if table.iot else _rowid(table.data_object, change.at.bdba, slot),
        )

    if change.kind is Kind.INSERT:
        return [out(Operation.INSERT, None, dict(change.after[0]), change.at.slot)]
    if change.kind is Kind.DELETE:
        before = _old_lobs(change, dict(change.before[0]), change.lobs_before[0])
        return [out(Operation.DELETE, before, None, change.at.slot)]
    if change.kind is Kind.UPDATE:
        logged = _shown_update_columns(change)
        shown = [n for n in names if n in logged]
        before = {n: change.before[0][n] for n in shown}
        after = {n: change.after[0][n] for n in shown}
        before = _old_lobs(change, before, change.lobs_before[0])
        return [out(Operation.UPDATE, before, after, change.at.slot)]  # the head's ROWID
    if change.kind is Kind.MULTI_INSERT:
        return [
            out(Operation.INSERT, None, dict(values), slot)
            for values, slot in zip(change.after, change.slots, strict=True)
        ]
    return [
        out(Operation.DELETE, dict(values), None, slot)
        for values, slot in zip(change.before, change.slots, strict=True)
    ]


def _old_lobs(change: Change, image: dict[str, ColumnValue],
              lobs: Locators) -> dict[str, ColumnValue]:
    """A before image as the redo carries it: an out-of-row LOB's old content is not in
    the redo (``NotLogged``); an in-row one is, inside its locator."""
    table = change.table
    out = dict(image)
    for index, col in enumerate(table.columns):
        if (col.type_code in LOB_TYPES and out.get(col.name) is not None
                and not parse_locator(lobs[col.name]).in_row):
            type_name = column_def(table, index).type_name
            out[col.name] = NotLogged(oracle_type=type_name, reason=NOT_IN_REDO)
    return out
