"""The Python reader's whole decoding path (``iter_records`` + :class:`TransactionAssembler`
per thread, commits in global order): the test oracle of the compiled core that
``drcapture decode`` and the service read with. Row changes come back as Python
objects, which the tests compare with what the writer put in."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from drcapture.catalog import read_log_file
from drcapture.dictionary.model import Dictionary
from drcapture.filtering import TableFilter
from drcapture.pipeline import commit_key
from drcapture.redo.blocks import FileSource, RedoFile
from drcapture.redo.ops.dispatch import OpCounters
from drcapture.redo.reader import iter_records
from drcapture.redo.txn.assembler import (
    AssemblerOptions,
    CommittedTransaction,
    TransactionAssembler,
)

PROGRESS_EVERY_BYTES = 64 * 1024 * 1024


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
