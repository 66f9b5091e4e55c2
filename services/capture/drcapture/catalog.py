"""Finding redo logs: which file holds (thread, sequence), across an ordered list of places.

Archived logs are recognised by their redo header, not by their names: names are a site
convention (``arch1_15_1224959854.dbf``, ``thread_1_seq_15.arc`` …), headers are facts.
Headers are read once per (location, signature) and cached. Where logs live is a
:class:`~drcapture.stores.LogStore` (local or NFS directories today). When several places hold the
same log, the first configured place wins, unless a reader found that copy damaged
(:meth:`LogCatalog.mark_damaged`): then any other copy wins, until the damaged file
changes. A gap in the sequence of a thread is an explicit
:class:`~drcommon.errors.MissingLog`, never skipped.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from drcommon.errors import ConfigError, DRError, MissingLog, SourceError

from drcapture.native import NativeRedoFile
from drcapture.redo.blocks import RedoFile, RedoHeader
from drcapture.stores import LocalFiles, LogStore, Signature, local_path, local_stores

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LogFile:
    """One redo log, where it is, and the facts of its header."""

    location: str
    thread: int
    sequence: int
    resetlogs_id: int
    first_scn: int
    next_scn: int
    block_size: int
    online: bool = False
    store: LogStore = field(default_factory=lambda: LocalFiles(()), compare=False, repr=False)

    @classmethod
    def from_header(
        cls,
        location: str,
        header: RedoHeader,
        block_size: int,
        store: LogStore,
        *,
        online: bool = False,
    ) -> LogFile:
        return cls(
            location,
            header.thread,
            header.sequence,
            header.resetlogs_id,
            header.first_scn,
            header.next_scn,
            block_size,
            online,
            store,
        )

    def open(self) -> RedoFile:
        """The log, opened for reading (online logs tolerate unwritten blocks)."""
        return RedoFile(self.store.open(self.location), online=self.online)

    def open_native(self) -> NativeRedoFile:
        """The log opened in the compiled core, which reads it as a local file; a store
        without local files is refused (:mod:`drcapture.stores`)."""
        path = local_path(self.store, self.location)
        if path is None:
            raise ConfigError(
                "this log store holds no local files, and capture's compiled core reads "
                "redo from local files only (a block source for other stores is not built "
                "yet); configure a local or NFS archive directory",
                store=self.store.name, file=self.location,
            )  # fmt: skip
        return NativeRedoFile(path, name=self.location, online=self.online)

    def reread(self) -> LogFile:
        """The same location described again (an online log's header changes)."""
        redo = self.open()
        return LogFile.from_header(
            self.location, redo.header, redo.block_size, self.store, online=self.online
        )


def read_log_file(path: Path, *, online: bool = False) -> LogFile:
    """Open a local file's headers (CorruptRedo/UnsupportedFormat when it is not redo)."""
    store = LocalFiles((path,))
    redo = RedoFile(store.open(str(path)), online=online)
    return LogFile.from_header(str(path), redo.header, redo.block_size, store, online=online)


class LogCatalog:
    """Archived logs found in an ordered list of stores, plus online logs."""

    def __init__(
        self,
        directories: Iterable[Path] = (),
        files: Iterable[Path] = (),
        patterns: str = "*",
        online: Iterable[Path] = (),
        stores: Iterable[LogStore] = (),
    ) -> None:
        listed = tuple(files)
        self._stores: list[LogStore] = [
            *([LocalFiles(listed)] if listed else []),
            *local_stores(directories, patterns),
            *stores,
        ]
        self._online = LocalFiles(tuple(online), "online logs")
        self._cache: dict[str, tuple[Signature, LogFile | None]] = {}
        self._by_key: dict[tuple[int, int], LogFile] = {}
        self._damaged: dict[str, Signature | None] = {}  # location -> signature when found
        self.unreadable: dict[str, str] = {}
        self.unreachable: dict[str, str] = {}  # locations that cannot be listed: why
        # The RAC threads' readers share the catalog and run at once (each read in its
        # own OS thread): one at a time looks at the places or marks a copy damaged.
        self._lock = threading.RLock()

    def refresh(self) -> None:
        """Re-scan the places; cheap when nothing changed. Archived copies win over
        online logs of the same sequence: they are complete and cannot be reused."""
        with self._lock:
            self._refresh()

    def _refresh(self) -> None:
        found: dict[tuple[int, int], LogFile] = {}
        for store in self._stores:
            try:
                listed = list(store.entries())
            except SourceError as exc:  # its logs are not found meanwhile; said in status
                if self.unreachable.get(store.name) != str(exc):
                    log.warning("an archive location cannot be listed",
                                extra={"location": store.name, "error": str(exc)})
                self.unreachable[store.name] = str(exc)
                continue
            self.unreachable.pop(store.name, None)
            for location, signature in listed:
                if self._still_damaged(location, signature):
                    continue
                entry = self._describe(store, location, signature)
                if entry is not None:
                    found.setdefault((entry.thread, entry.sequence), entry)
        for location, signature in self._online.entries():
            if self._still_damaged(location, signature):
                continue
            entry = self._describe_online(location)
            if entry is not None:
                found.setdefault((entry.thread, entry.sequence), entry)
        self._by_key = found

    def mark_damaged(self, location: str) -> None:
        """A reader found this copy damaged: other copies of its log win over it until
        the file changes (replaced by a good copy, or an online log written on)."""
        with self._lock:
            self._mark_damaged(location)

    def _mark_damaged(self, location: str) -> None:
        signature = None
        for store in (*self._stores, self._online):
            with contextlib.suppress(SourceError):
                signature = next((sig for loc, sig in store.entries() if loc == location),
                                 signature)  # fmt: skip
        self._damaged[location] = signature

    def _still_damaged(self, location: str, signature: Signature) -> bool:
        if location not in self._damaged:
            return False
        if self._damaged[location] == signature:
            return True
        del self._damaged[location]  # the file changed: worth reading again
        return False

    @property
    def damaged(self) -> list[str]:
        """Copies found damaged and not changed since."""
        return sorted(self._damaged)

    def _describe_online(self, location: str) -> LogFile | None:
        """An online log's header is rewritten at every log switch: never cached."""
        try:
            redo = RedoFile(self._online.open(location), online=True)
            entry = LogFile.from_header(
                location, redo.header, redo.block_size, self._online, online=True
            )
        except (DRError, OSError) as exc:
            self._note_unreadable(location, exc, "online redo log not readable")
            return None
        self.unreadable.pop(location, None)
        return entry

    def _describe(self, store: LogStore, location: str, signature: Signature) -> LogFile | None:
        cached = self._cache.get(location)
        if cached is not None and cached[0] == signature:
            return cached[1]
        entry: LogFile | None = None
        try:
            redo = RedoFile(store.open(location))
            entry = LogFile.from_header(location, redo.header, redo.block_size, store)
            self.unreadable.pop(location, None)
        except (DRError, OSError) as exc:
            self._note_unreadable(location, exc, "not a readable redo log; ignored")
        self._cache[location] = (signature, entry)
        return entry

    def _note_unreadable(self, location: str, exc: BaseException, what: str) -> None:
        if self.unreadable.get(location) != str(exc):
            log.warning(what, extra={"file": location, "error": str(exc)})
        self.unreadable[location] = str(exc)

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
            searched=", ".join(store.name for store in self._stores),
            # A damaged copy is not recognised as a log: name what could not be read.
            unreadable=", ".join(sorted(self.unreadable)) or None,
        )
