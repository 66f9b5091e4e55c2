"""Saved states of the open transactions: a long transaction must not pin the restart.

Without them, a restart re-reads redo from the start of the oldest open transaction —
hours of logs for a batch job left open. Every ``restart.persist_interval`` seconds,
when some open transaction started in an older log than the one being read, capture
writes the open transactions of every thread (their buffered pieces) and the position
they were taken at to a file (written atomically, named by content hash). Checkpoints
then point at the newest such state whose prerequisites are published, and a restart
loads it and reads on from those positions. If the file is gone, the checkpoint's
fallback positions (the classic ones) are used.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from drcommon.errors import SourceError

from drcapture.errors import StateDiskFull, free_bytes, is_disk_full

log = logging.getLogger(__name__)

STATE_FORMAT = "drcapture-open-transactions"
STATE_VERSION = 1
KEEP_FILES = 3


@dataclass(frozen=True, slots=True)
class SavedState:
    """A written state: its reference, positions, and what must be published first."""

    ref: str  # "<file name>:<sha256>"
    positions: dict[int, tuple[int, int, int]]  # thread -> RBA of the last record read
    scns: dict[int, int]
    requires_published: tuple[int, int, tuple[int, int, int]] | None


class OpenStateStore:
    """State files in one directory (capture's ``state_dir``)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def write(
        self,
        threads: dict[int, dict[str, Any]],
        positions: dict[int, tuple[int, int, int]],
        scns: dict[int, int],
        requires_published: tuple[int, int, tuple[int, int, int]] | None,
    ) -> SavedState:
        """Write atomically (temp file, fsync, rename) and prune old files."""
        body = orjson.dumps(
            {
                "format": STATE_FORMAT,
                "version": STATE_VERSION,
                "positions": {str(t): list(p) for t, p in positions.items()},
                "scns": {str(t): s for t, s in scns.items()},
                "threads": {str(t): state for t, state in threads.items()},
            }
        )
        digest = hashlib.sha256(body).hexdigest()
        name = f"open-{digest[:24]}.json"
        final = self._directory / name
        temp = final.with_suffix(".tmp")
        try:
            fd = os.open(temp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            temp.unlink(missing_ok=True)
            if not is_disk_full(exc):
                raise
            raise StateDiskFull(
                "the state directory's disk is full: the open transactions could not be "
                "saved (a restart reads from older logs meanwhile); tried again at the "
                "next save", path=str(temp), needed_bytes=len(body),
                free_bytes=free_bytes(self._directory), error=exc.strerror,
            ) from exc  # fmt: skip
        temp.replace(final)
        self._prune(keep=name)
        return SavedState(f"{name}:{digest}", dict(positions), dict(scns), requires_published)

    def _prune(self, keep: str) -> None:
        files = sorted(self._directory.glob("open-*.json"), key=lambda p: p.stat().st_mtime)
        for old in files[:-KEEP_FILES]:
            if old.name != keep:
                old.unlink(missing_ok=True)

    def read(self, ref: str) -> dict[int, dict[str, Any]] | None:
        """The per-thread assembler states of a reference; None if lost or damaged."""
        name, _, digest = ref.partition(":")
        path = self._directory / name
        try:
            body = path.read_bytes()
        except OSError as exc:
            log.warning(
                "saved open-transaction state is missing; falling back to the "
                "classic restart positions",
                extra={"file": str(path), "error": exc.strerror},
            )
            return None
        if hashlib.sha256(body).hexdigest() != digest:
            log.warning(
                "saved open-transaction state does not match its checkpoint; "
                "falling back to the classic restart positions",
                extra={"file": str(path)},
            )
            return None
        data = orjson.loads(body)
        if data.get("format") != STATE_FORMAT or data.get("version") != STATE_VERSION:
            raise SourceError(
                "saved open-transaction state has an unknown format",
                file=str(path),
                found=data.get("version"),
            )
        return {int(t): state for t, state in data["threads"].items()}
