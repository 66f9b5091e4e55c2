"""Offline tools behind ``drcapture decode`` and ``drcapture dump`` (no Kafka).

``decode`` reads the given files per thread (each thread's files in sequence order),
assembles committed transactions and prints them in global commit order — the same
decoding the service does, as a batch job and a support tool.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from drcapture.catalog import read_log_file
from drcapture.dictionary.model import Dictionary
from drcapture.filtering import TableFilter
from drcapture.pipeline import commit_key
from drcapture.redo.blocks import FileSource, RedoFile
from drcapture.redo.ops.dispatch import OpCounters
from drcapture.redo.reader import iter_records
from drcapture.redo.render import decode_dicts, dump_lines
from drcapture.redo.txn.assembler import (
    AssemblerOptions,
    CommittedTransaction,
    TransactionAssembler,
)

PROGRESS_EVERY_BYTES = 64 * 1024 * 1024


def load_dictionary_file(path: Path, kind: str = "auto") -> Dictionary:
    """A snapshot or an OpenLogReplicator checkpoint, told apart by their content."""
    if kind == "auto":
        with path.open("rb") as handle:
            head = json.loads(handle.read()) if path.stat().st_size < 512 * 1024 * 1024 else {}
        kind = "snapshot" if isinstance(head, dict) and "format" in head else "olr"
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
) -> list[CommittedTransaction]:
    """Every committed transaction in ``files`` (all threads), in commit order."""
    by_thread: dict[int, list[tuple[int, Path]]] = {}
    for path in files:
        entry = read_log_file(path)
        by_thread.setdefault(entry.thread, []).append((entry.sequence, path))
    committed: list[CommittedTransaction] = []
    counters = OpCounters()
    for thread, logs in sorted(by_thread.items()):
        assembler = TransactionAssembler(
            dictionary,
            AssemblerOptions(
                thread=thread,
                db_id=dictionary.db_id,
                db_name=dictionary.db_name,
                include_unknown=include_unknown,
                wanted=table_filter,
            ),
        )
        for _, path in sorted(logs):
            committed.extend(_read_one(path, assembler, counters, progress))
    committed.sort(key=commit_key)
    return committed


def _read_one(
    path: Path, assembler: TransactionAssembler, counters: OpCounters, progress: TextIO | None
) -> Iterator[CommittedTransaction]:
    redo = RedoFile(FileSource(path))
    total = redo.block_size * (redo.last_block + 1)
    started = time.monotonic()
    next_report = PROGRESS_EVERY_BYTES
    for record in iter_records(redo, counters=counters):
        yield from assembler.feed(record)
        done = record.record.rba.block * redo.block_size
        if progress is not None and done >= next_report:
            rate = done / max(time.monotonic() - started, 1e-9) / 1e6
            progress.write(f"{path.name}: {done * 100 // total}% ({rate:.0f} MB/s)\n")
            next_report += PROGRESS_EVERY_BYTES


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
    table_filter = TableFilter(tuple(include), tuple(exclude))
    yield from decode_dicts(
        decode_transactions(
            files, dictionary, table_filter, include_unknown=include_unknown, progress=progress
        )
    )


def dump_file(path: Path) -> Iterator[str]:
    """Lines of ``drcapture dump``: headers, then every record and change vector."""
    redo = RedoFile(FileSource(path))
    from drcapture.redo.render import inspect_lines

    yield from inspect_lines(redo)
    yield ""
    yield from dump_lines(iter_records(redo), thread=redo.header.thread)
