"""Finding redo logs: which file holds (thread, sequence), across an ordered list of places.

Archived logs are recognised by their redo header, not by their names: names are a site
convention (``arch1_15_1224959854.dbf``, ``thread_1_seq_15.arc`` …), headers are facts.
Headers are read once per (path, size, mtime) and cached. When several places hold the
same log, the first configured place wins. A gap in the sequence of a thread is an
explicit :class:`~drcommon.errors.MissingLog`, never skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from drcommon.errors import DRError, MissingLog

from drcapture.redo.blocks import FileSource, RedoFile, RedoHeader

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LogFile:
    """One redo log file and the facts of its header."""

    path: Path
    thread: int
    sequence: int
    resetlogs_id: int
    first_scn: int
    next_scn: int
    block_size: int
    online: bool = False

    @classmethod
    def from_header(
        cls, path: Path, header: RedoHeader, block_size: int, *, online: bool = False
    ) -> LogFile:
        return cls(
            path,
            header.thread,
            header.sequence,
            header.resetlogs_id,
            header.first_scn,
            header.next_scn,
            block_size,
            online,
        )


def read_log_file(path: Path, *, online: bool = False) -> LogFile:
    """Open a file's headers (raises CorruptRedo/UnsupportedFormat when it is not redo)."""
    redo = RedoFile(FileSource(path), online=online)
    return LogFile.from_header(path, redo.header, redo.block_size, online=online)


class LogCatalog:
    """Archived logs found in an ordered list of directories and/or explicit files."""

    def __init__(
        self,
        directories: Iterable[Path] = (),
        files: Iterable[Path] = (),
        patterns: str = "*",
        online: Iterable[Path] = (),
    ) -> None:
        self._directories = list(directories)
        self._files = list(files)
        self._online = list(online)
        self._patterns = [p for p in patterns.split("|") if p]
        self._cache: dict[Path, tuple[tuple[int, int], LogFile | None]] = {}
        self._by_key: dict[tuple[int, int], LogFile] = {}
        self.unreadable: dict[Path, str] = {}

    def refresh(self) -> None:
        """Re-scan the places; cheap when nothing changed. Archived copies win over
        online logs of the same sequence: they are complete and cannot be reused."""
        found: dict[tuple[int, int], LogFile] = {}
        for path in self._candidates():
            entry = self._describe(path)
            if entry is None:
                continue
            found.setdefault((entry.thread, entry.sequence), entry)
        for path in self._online:
            entry = self._describe_online(path)
            if entry is not None:
                found.setdefault((entry.thread, entry.sequence), entry)
        self._by_key = found

    def _describe_online(self, path: Path) -> LogFile | None:
        """An online log's header is rewritten at every log switch: never cached."""
        try:
            entry = read_log_file(path, online=True)
        except (DRError, OSError) as exc:
            if self.unreadable.get(path) != str(exc):
                log.warning(
                    "online redo log not readable", extra={"file": str(path), "error": str(exc)}
                )
            self.unreadable[path] = str(exc)
            return None
        self.unreadable.pop(path, None)
        return entry

    def _candidates(self) -> Iterable[Path]:
        yield from self._files
        for directory in self._directories:
            if not directory.is_dir():
                continue
            for path in sorted(directory.iterdir()):
                if path.is_file() and any(fnmatch(path.name, p) for p in self._patterns):
                    yield path

    def _describe(self, path: Path) -> LogFile | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        signature = (stat.st_size, stat.st_mtime_ns)
        cached = self._cache.get(path)
        if cached is not None and cached[0] == signature:
            return cached[1]
        try:
            entry: LogFile | None = read_log_file(path)
            self.unreadable.pop(path, None)
        except DRError as exc:
            entry = None
            if self.unreadable.get(path) != str(exc):
                log.warning(
                    "not a readable redo log; ignored", extra={"file": str(path), "error": str(exc)}
                )
            self.unreadable[path] = str(exc)
        self._cache[path] = (signature, entry)
        return entry

    def threads(self) -> list[int]:
        return sorted({t for t, _ in self._by_key})

    def sequences(self, thread: int) -> list[int]:
        return sorted(s for t, s in self._by_key if t == thread)

    def find(self, thread: int, sequence: int) -> LogFile | None:
        return self._by_key.get((thread, sequence))

    def first_for_scn(self, thread: int, scn: int) -> LogFile | None:
        """The log of ``thread`` whose SCN range holds ``scn`` (or the oldest after it)."""
        candidates = [self._by_key[(thread, s)] for s in self.sequences(thread)]
        for entry in candidates:
            if entry.next_scn > scn:
                return entry
        return None

    def check_gap(self, thread: int, sequence: int) -> None:
        """Raise MissingLog when ``sequence`` is absent but a later one exists."""
        if self.find(thread, sequence) is not None:
            return
        later = [s for s in self.sequences(thread) if s > sequence]
        if not later:
            return
        before = self.find(thread, sequence - 1)
        after = self.find(thread, later[0])
        raise MissingLog(
            "a redo log capture needs is in none of the configured locations",
            thread=thread,
            sequence=sequence if later[0] == sequence + 1 else f"{sequence}..{later[0] - 1}",
            scn_from=before.next_scn if before else None,
            scn_to=after.first_scn if after else None,
            searched=", ".join(str(d) for d in self._directories) or "explicit files",
        )
