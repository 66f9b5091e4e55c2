"""Where redo logs live, behind one small interface.

A :class:`LogStore` lists the logs it holds (with a signature that changes when a log
changes) and opens one as a :class:`~drcapture.redo.blocks.BlockSource`. The catalog
knows nothing else about it. Local and NFS directories and explicit file lists are here;
an ASM store (``DBMS_DISKGROUP`` reads over ``oracledb``) or an SSH store (``asyncssh``
SFTP reads) implements the same three members and plugs into the catalog unchanged.

Reading a log's records is the compiled core's work, and the core reads local files: a
store whose logs are local files says where (:func:`local_path`); the readers then hand
that path to the core. A store without local files (ASM, SSH) is listed and its headers
are read, but capture refuses to read its records (``ConfigError``) until the core gets a
block source for it: never a silent slower path.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Protocol

from drcommon.errors import SourceError

from drcapture.redo.blocks import BlockSource, FileSource

Signature = tuple[int, int]  # (size, modification time in ns) or any value that changes


class LogStore(Protocol):
    """A place holding redo logs."""

    @property
    def name(self) -> str:
        """How errors and status name the place (a path, ``asm:+FRA``, ``ssh:host:/dir``)."""
        ...

    def entries(self) -> Iterator[tuple[str, Signature]]:
        """Every log it holds now: (location, signature), in a stable order."""
        ...

    def open(self, location: str) -> BlockSource:
        """A reader of one log's bytes."""
        ...


@dataclass(frozen=True, slots=True)
class LocalDirectory:
    """A directory on a local or NFS file system; file names matched by shell patterns."""

    path: Path
    patterns: tuple[str, ...] = ("*",)

    @property
    def name(self) -> str:
        return str(self.path)

    def entries(self) -> Iterator[tuple[str, Signature]]:
        """The matching files; :class:`~drcommon.errors.SourceError` when the directory
        cannot be listed (missing, unmounted, no permission)."""
        try:
            items = sorted(self.path.iterdir())
        except OSError as exc:
            raise SourceError("an archive directory cannot be listed", directory=str(self.path),
                              error=exc.strerror or str(exc)) from exc  # fmt: skip
        for item in items:
            if not any(fnmatch(item.name, p) for p in self.patterns):
                continue
            try:
                stat = item.stat()
            except OSError:
                continue  # deleted between listing and stat
            if item.is_file():
                yield str(item), (stat.st_size, stat.st_mtime_ns)

    def open(self, location: str) -> BlockSource:
        return FileSource(Path(location))

    def local_path(self, location: str) -> Path:
        """The log's local file (the core reads it directly)."""
        return Path(location)


@dataclass(frozen=True, slots=True)
class LocalFiles:
    """An explicit list of files (``source.files``, online log members)."""

    paths: tuple[Path, ...]
    label: str = "explicit files"

    @property
    def name(self) -> str:
        return self.label

    def entries(self) -> Iterator[tuple[str, Signature]]:
        for path in self.paths:
            try:
                stat = path.stat()
            except OSError:
                continue
            yield str(path), (stat.st_size, stat.st_mtime_ns)

    def open(self, location: str) -> BlockSource:
        return FileSource(Path(location))

    def local_path(self, location: str) -> Path:
        """The log's local file (the core reads it directly)."""
        return Path(location)


def local_path(store: LogStore, location: str) -> Path | None:
    """Where ``store`` keeps the log at ``location`` as a local file, or None when it
    does not (its ``local_path`` member, which stores of local files have)."""
    found = getattr(store, "local_path", None)
    return found(location) if callable(found) else None


def local_stores(directories: Iterable[Path], patterns: str) -> list[LogStore]:
    """The configured archive directories, in order."""
    globs = tuple(p for p in patterns.split("|") if p) or ("*",)
    return [LocalDirectory(d, globs) for d in directories]
