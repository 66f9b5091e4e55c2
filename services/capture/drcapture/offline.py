"""Offline tools behind ``drcapture decode`` and ``drcapture dump`` (no Kafka).

``decode`` reads the given files per thread (each thread's files in sequence order) in
the compiled core (:class:`~drcapture.native_txn.ThreadCore`, what the service reads
with), and prints the committed changes in global commit order — the same decoding the
service does, as a batch job and a support tool.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from drcommon.errors import SourceError
from drcommon.sqlcommand import command_name

from drcapture.catalog import read_log_file
from drcapture.dictionary.follow import follow
from drcapture.dictionary.model import Dictionary
from drcapture.dictionary.system import SystemRows
from drcapture.dictionary.versions import DictionaryVersions, table_names
from drcapture.filtering import TableFilter
from drcapture.merge import CommitKey
from drcapture.native import NativeRedoFile
from drcapture.native_txn import CoreDictionary, CoreOptions, NativeCommit, ThreadCore
from drcapture.redo.blocks import FileSource, RedoFile
from drcapture.redo.reader import iter_records
from drcapture.redo.records import Rba, ReadState
from drcapture.redo.render import dump_lines

PROGRESS_EVERY_BYTES = 64 * 1024 * 1024


def _kind(path: Path, kind: str) -> str:
    if kind != "auto":
        return kind
    with path.open("rb") as handle:
        head = json.loads(handle.read()) if path.stat().st_size < 512 * 1024 * 1024 else {}
    return "snapshot" if isinstance(head, dict) and "format" in head else "olr"


def load_system_file(path: Path, kind: str = "auto") -> SystemRows | None:
    """The SYS dictionary rows a snapshot or checkpoint file holds (None: none)."""
    from drcapture.dictionary.snapshot import load_snapshot_system

    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        return None
    rows = SystemRows.from_sections(data) if _kind(path, kind) == "olr" else (
        load_snapshot_system(data))
    return rows if rows is not None and rows.sections.get("sys-obj") else None


def load_dictionary_file(path: Path, kind: str = "auto") -> Dictionary:
    """A snapshot or an OpenLogReplicator checkpoint, told apart by their content."""
    kind = _kind(path, kind)
    if kind == "olr":
        from drcapture.dictionary.olr import load_olr_checkpoint_file

        return load_olr_checkpoint_file(path)
    from drcapture.dictionary.snapshot import load_snapshot_file

    return load_snapshot_file(path)


def decode_transactions(
    files: list[Path],
    dictionary: Dictionary,
    table_filter: TableFilter | None,
    *,
    include_unknown: bool = False,
    progress: TextIO | None = None,
    system: SystemRows | None = None,
) -> list[NativeCommit]:
    """Every committed transaction in ``files`` (all threads), in commit order. With
    ``system`` (the dictionary's SYS rows) the dictionary follows the logs' DDL, as the
    service's does (``dictionary.on_ddl = track``): each transaction decodes with the
    version valid at its commit."""
    by_thread: dict[int, list[tuple[int, Path]]] = {}
    for path in files:
        entry = read_log_file(path)
        by_thread.setdefault(entry.thread, []).append((entry.sequence, path))
    committed: list[NativeCommit] = []
    for thread, logs in sorted(by_thread.items()):
        core = ThreadCore(dictionary, CoreOptions(
            thread=thread, db_id=dictionary.db_id, db_name=dictionary.db_name,
            include_unknown=include_unknown, wanted=table_filter))
        for _, path in sorted(logs):
            committed.extend(_read_one(path, core, progress))
    committed.sort(key=_commit_key)
    if system is None:
        return committed
    versions = DictionaryVersions(system.copy(), dictionary,
                                  lambda d: CoreDictionary(d, table_filter), table_filter)
    out = []
    for tx in committed:
        decided = follow(tx, versions)
        if decided.version is not None and decided.before is not None:
            _refuse_came_in(tx, versions.newly_captured(decided.before, decided.version),
                            decided.version.dictionary)
        if decided.publish:
            out.append(tx)
    return out


def _refuse_came_in(tx: NativeCommit, objs: set[int], dictionary: Dictionary) -> None:
    """Each thread was read whole with the first dictionary: the changes of a table a
    RENAME brought into the filter were not kept. Say so rather than print less."""
    if not objs:
        return
    tables = table_names(objs, dictionary)
    raise SourceError(
        "a DDL (a RENAME) brought tables into the filter; drcapture decode read the logs "
        "with the dictionary before it and cannot show their later changes: decode the "
        "logs after it with a dictionary exported at its SCN",
        tables=",".join(tables), scn=tx.commit_scn, xid=str(tx.xid),
    )


def _commit_key(tx: NativeCommit) -> CommitKey:
    rba = Rba.parse(tx.commit_rba)
    return CommitKey(tx.commit_scn, tx.thread, (rba.sequence, rba.block, rba.offset))


READ_BUDGET = 20_000  # records per call into the core


def _read_one(path: Path, core: ThreadCore, progress: TextIO | None) -> Iterator[NativeCommit]:
    redo = NativeRedoFile(path)
    total = redo.block_size * (redo.last_block + 1)
    state = ReadState()
    core.open(redo, state)
    started = time.monotonic()
    next_report = PROGRESS_EVERY_BYTES
    while True:
        batch = core.read(READ_BUDGET, state)
        batch.raise_error()
        yield from batch.commits
        done = state.next_block * redo.block_size
        if progress is not None and done >= next_report and not batch.ended:
            rate = done / max(time.monotonic() - started, 1e-9) / 1e6
            progress.write(f"{path.name}: {done * 100 // total}% ({rate:.0f} MB/s)\n")
            next_report = done + PROGRESS_EVERY_BYTES
        if batch.ended:
            return


def decode_dicts(transactions: list[NativeCommit]) -> Iterator[dict[str, Any]]:
    """Committed changes as JSON-able dicts (one per row change)."""
    for txn in transactions:
        xid = txn.xid
        commit_ts = txn.commit_ts
        head = {"xid": str(xid), "xid_hex": xid.logminer, "commit_scn": txn.commit_scn,
                "commit_ts": commit_ts.isoformat() if commit_ts else None}
        for line in txn.change_lines():
            change = json.loads(line)
            position = change.get("position")
            yield {
                **head, "owner": change["owner"], "table": change["table"],
                "op": change["op"], "before": change.get("before"),
                "after": change.get("after"), "ddl": change.get("ddl"),
                "ddl_command": command_name(change.get("ddl_command")),
                "rba": position["rba"] if position else None,
                "row_id": change.get("row_id"),
            }


def decode_files(
    files: list[Path],
    dictionary_path: Path,
    dictionary_format: str,
    include: list[str],
    exclude: list[str],
    include_unknown: bool,
    *,
    progress: TextIO | None = None,
) -> Iterator[dict[str, Any]]:
    """JSON-able change dicts for ``drcapture decode``."""
    dictionary = load_dictionary_file(dictionary_path, dictionary_format)
    system = load_system_file(dictionary_path, dictionary_format)
    table_filter = TableFilter(tuple(include), tuple(exclude))
    yield from decode_dicts(
        decode_transactions(
            files, dictionary, table_filter, include_unknown=include_unknown, progress=progress,
            system=system,
        )
    )


def dump_file(path: Path) -> Iterator[str]:
    """Lines of ``drcapture dump``: headers, then every record and change vector."""
    redo = RedoFile(FileSource(path))
    from drcapture.redo.render import inspect_lines

    yield from inspect_lines(redo)
    yield ""
    yield from dump_lines(iter_records(redo), thread=redo.header.thread)
