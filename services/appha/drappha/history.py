"""The small SQLite history file: application state, switch operations and their steps,
events with time to detect and time to switch, site transitions, and the audit log.

The audit table is append-only: triggers refuse UPDATE and DELETE, so a mode change or an
acknowledgement cannot be rewritten afterwards. All calls are short and made from the
event loop's thread (one connection, WAL journal).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from drappha.model import AppState, Mode, Phase, Site, Status

_SCHEMA = """
CREATE TABLE IF NOT EXISTS app_state (
    app TEXT PRIMARY KEY, state TEXT NOT NULL, saved_wall REAL NOT NULL);
CREATE TABLE IF NOT EXISTS operations (
    operation_id TEXT PRIMARY KEY, app TEXT NOT NULL, target TEXT NOT NULL,
    requested_by TEXT NOT NULL, state TEXT NOT NULL, verified INTEGER NOT NULL DEFAULT 0,
    error TEXT, started_wall REAL NOT NULL, finished_wall REAL, attestation TEXT,
    event_id INTEGER);
CREATE TABLE IF NOT EXISTS steps (
    operation_id TEXT NOT NULL, seq INTEGER NOT NULL, name TEXT NOT NULL, state TEXT NOT NULL,
    detail TEXT, started_wall REAL NOT NULL, finished_wall REAL,
    PRIMARY KEY (operation_id, seq));
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, app TEXT NOT NULL, target TEXT NOT NULL,
    reason TEXT, onset_wall REAL, detected_wall REAL, request_id TEXT, operation_id TEXT,
    switch_started_wall REAL, switch_finished_wall REAL, outcome TEXT,
    time_to_detect REAL, time_to_switch REAL);
CREATE TABLE IF NOT EXISTS site_transitions (
    app TEXT NOT NULL, site TEXT NOT NULL, status TEXT NOT NULL, at_wall REAL NOT NULL);
CREATE INDEX IF NOT EXISTS site_transitions_by_time ON site_transitions (app, site, at_wall);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at_wall REAL NOT NULL, app TEXT NOT NULL,
    actor TEXT NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL, detail TEXT);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"""

_MONO_FIELDS = ("last_switch_at", "previous_switch_at")


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One step of a switch operation."""

    seq: int
    name: str
    state: str
    detail: str | None
    started_wall: float
    finished_wall: float | None


@dataclass(frozen=True, slots=True)
class OperationRecord:
    """A switch operation as stored."""

    operation_id: str
    app: str
    target: Site
    requested_by: str
    state: str  # running | succeeded | failed
    verified: bool
    error: str | None
    started_wall: float
    finished_wall: float | None
    attestation: dict[str, Any] | None
    event_id: int | None
    steps: tuple[StepRecord, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "operation_id": self.operation_id,
            "app": self.app,
            "direction": "switch" if self.target is Site.STANDBY else "switchback",
            "target": self.target.value,
            "requested_by": self.requested_by,
            "state": self.state,
            "verified": self.verified,
            "error": self.error,
            "started_at": self.started_wall,
            "finished_at": self.finished_wall,
            "attestation": self.attestation,
            "steps": [asdict(s) for s in self.steps],
        }


def availability(
    transitions: Iterable[tuple[float, Status]], start: float, end: float
) -> float | None:
    """Share of known time in ``[start, end]`` during which the site was up.

    ``transitions`` are (wall time, new status), oldest first; time before the first one
    and time in ``unknown`` do not count. None when nothing is known.
    """
    up = known = 0.0
    current: Status | None = None
    since = start
    for at, status in transitions:
        at = max(at, start)
        if at > end:
            break
        if current is not None and current is not Status.UNKNOWN:
            known += at - since
            up += (at - since) if current is Status.UP else 0.0
        current, since = status, at
    if current is not None and current is not Status.UNKNOWN and end > since:
        known += end - since
        up += (end - since) if current is Status.UP else 0.0
    return up / known if known > 0 else None


class History:
    """The history file; open with :meth:`open`, close with :meth:`close`."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._db: sqlite3.Connection | None = None

    def open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self._path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        assert self._db is not None, "history not open"
        return self._db

    # -- application state -------------------------------------------------------------

    def save_state(self, app: str, state: AppState, now: float) -> None:
        """Persist ``state``; monotonic times are stored as wall-clock times."""
        wall = time.time()
        data = asdict(state)
        for key in _MONO_FIELDS:
            if data[key] is not None:
                data[key] = wall - (now - data[key])
        data.pop("started_at")
        self.db.execute(
            "INSERT INTO app_state (app, state, saved_wall) VALUES (?, ?, ?) "
            "ON CONFLICT (app) DO UPDATE SET state = excluded.state, "
            "saved_wall = excluded.saved_wall",
            (app, json.dumps(data), wall),
        )

    def load_state(self, app: str, now: float) -> AppState | None:
        """The saved state with wall-clock times re-based onto this process's clock."""
        row = self.db.execute("SELECT state FROM app_state WHERE app = ?", (app,)).fetchone()
        if row is None:
            return None
        data = json.loads(row[0])
        wall = time.time()
        for key in _MONO_FIELDS:
            if data.get(key) is not None:
                data[key] = now - (wall - data[key])
        target = data.get("operation_target")
        return AppState(
            phase=Phase(data["phase"]),
            active=Site(data["active"]),
            mode=Mode(data["mode"]),
            maintenance=bool(data["maintenance"]),
            blocked=data["blocked"],
            last_switch_at=data["last_switch_at"],
            previous_switch_at=data.get("previous_switch_at"),
            started_at=now,
            operation_id=data["operation_id"],
            operation_target=Site(target) if target else None,
            request_open=bool(data["request_open"]),
            suppressed=bool(data["suppressed"]),
            alert=data["alert"],
        )

    # -- operations --------------------------------------------------------------------

    def create_operation(
        self, operation_id: str, app: str, target: Site, requested_by: str, event_id: int | None
    ) -> None:
        self.db.execute(
            "INSERT INTO operations (operation_id, app, target, requested_by, state, "
            "started_wall, event_id) VALUES (?, ?, ?, ?, 'running', ?, ?)",
            (operation_id, app, target.value, requested_by, time.time(), event_id),
        )

    def step(self, operation_id: str, seq: int, name: str, state: str, detail: str | None) -> None:
        """Record a step starting (state ``running``) or ending (``succeeded``/``failed``)."""
        now = time.time()
        finished = None if state == "running" else now
        self.db.execute(
            "INSERT INTO steps (operation_id, seq, name, state, detail, started_wall, "
            "finished_wall) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (operation_id, seq) DO "
            "UPDATE SET state = excluded.state, detail = excluded.detail, "
            "finished_wall = excluded.finished_wall",
            (operation_id, seq, name, state, detail, now, finished),
        )

    def set_attestation(self, operation_id: str, attestation: dict[str, Any]) -> None:
        self.db.execute(
            "UPDATE operations SET attestation = ? WHERE operation_id = ?",
            (json.dumps(attestation), operation_id),
        )

    def finish_operation(
        self, operation_id: str, *, succeeded: bool, verified: bool, error: str | None
    ) -> None:
        self.db.execute(
            "UPDATE operations SET state = ?, verified = ?, error = ?, finished_wall = ? "
            "WHERE operation_id = ?",
            (
                "succeeded" if succeeded else "failed",
                int(verified),
                error,
                time.time(),
                operation_id,
            ),
        )

    def latest_operation_id(self, app: str) -> str | None:
        """The id of ``app``'s most recently started switch."""
        row = self.db.execute(
            "SELECT operation_id FROM operations WHERE app = ? ORDER BY started_wall DESC LIMIT 1",
            (app,),
        ).fetchone()
        return None if row is None else str(row[0])

    def operation(self, operation_id: str) -> OperationRecord | None:
        row = self.db.execute(
            "SELECT operation_id, app, target, requested_by, state, verified, error, "
            "started_wall, finished_wall, attestation, event_id FROM operations "
            "WHERE operation_id = ?",
            (operation_id,),
        ).fetchone()
        if row is None:
            return None
        steps = tuple(
            StepRecord(*s)
            for s in self.db.execute(
                "SELECT seq, name, state, detail, started_wall, finished_wall FROM steps "
                "WHERE operation_id = ? ORDER BY seq",
                (operation_id,),
            )
        )
        return OperationRecord(
            operation_id=row[0],
            app=row[1],
            target=Site(row[2]),
            requested_by=row[3],
            state=row[4],
            verified=bool(row[5]),
            error=row[6],
            started_wall=row[7],
            finished_wall=row[8],
            attestation=json.loads(row[9]) if row[9] else None,
            event_id=row[10],
            steps=steps,
        )

    def fail_interrupted(self) -> list[str]:
        """Mark operations left running by a previous process as failed; return their ids."""
        ids = [
            r[0]
            for r in self.db.execute("SELECT operation_id FROM operations WHERE state = 'running'")
        ]
        for ident in ids:
            self.finish_operation(
                ident, succeeded=False, verified=False, error="interrupted by an appha restart"
            )
        return ids

    # -- events: time to detect, time to switch ----------------------------------------

    def open_event(
        self, app: str, target: Site, reason: str, onset_wall: float | None, detected_wall: float
    ) -> int:
        ttd = detected_wall - onset_wall if onset_wall is not None else None
        cursor = self.db.execute(
            "INSERT INTO events (app, target, reason, onset_wall, detected_wall, time_to_detect) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (app, target.value, reason, onset_wall, detected_wall, ttd),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def event_request(self, event_id: int, request_id: str) -> None:
        self.db.execute("UPDATE events SET request_id = ? WHERE id = ?", (request_id, event_id))

    def event_switch_started(self, event_id: int, operation_id: str) -> None:
        self.db.execute(
            "UPDATE events SET operation_id = ?, switch_started_wall = ? WHERE id = ?",
            (operation_id, time.time(), event_id),
        )

    def event_finished(self, event_id: int, outcome: str) -> None:
        now = time.time()
        self.db.execute(
            "UPDATE events SET outcome = ?, switch_finished_wall = ?, "
            "time_to_switch = ? - switch_started_wall WHERE id = ?",
            (outcome, now, now, event_id),
        )

    def event(self, event_id: int) -> dict[str, Any] | None:
        rows = self._events("WHERE id = ?", (event_id,))
        return rows[0] if rows else None

    def events(self, app: str, limit: int = 50) -> list[dict[str, Any]]:
        return self._events("WHERE app = ? ORDER BY id DESC LIMIT ?", (app, limit))

    def _events(self, where: str, args: tuple[Any, ...]) -> list[dict[str, Any]]:
        cursor = self.db.execute(
            "SELECT id, app, target, reason, onset_wall, detected_wall, request_id, "
            "operation_id, switch_started_wall, switch_finished_wall, outcome, time_to_detect, "
            f"time_to_switch FROM events {where}",
            args,
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    # -- site transitions and availability ---------------------------------------------

    def transition(self, app: str, site: Site, status: Status, at_wall: float) -> None:
        self.db.execute(
            "INSERT INTO site_transitions (app, site, status, at_wall) VALUES (?, ?, ?, ?)",
            (app, site.value, status.value, at_wall),
        )

    def transitions(self, app: str, site: Site, since_wall: float) -> list[tuple[float, Status]]:
        """Transitions from the last one before ``since_wall`` on, oldest first."""
        before = self.db.execute(
            "SELECT at_wall, status FROM site_transitions WHERE app = ? AND site = ? AND "
            "at_wall < ? ORDER BY at_wall DESC LIMIT 1",
            (app, site.value, since_wall),
        ).fetchall()
        after = self.db.execute(
            "SELECT at_wall, status FROM site_transitions WHERE app = ? AND site = ? AND "
            "at_wall >= ? ORDER BY at_wall",
            (app, site.value, since_wall),
        ).fetchall()
        return [(at, Status(status)) for at, status in [*before, *after]]

    # -- audit log (append-only) -------------------------------------------------------

    def audit(
        self, app: str, actor: str, kind: str, message: str, detail: dict[str, Any] | None = None
    ) -> None:
        self.db.execute(
            "INSERT INTO audit (at_wall, app, actor, kind, message, detail) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (time.time(), app, actor, kind, message, json.dumps(detail) if detail else None),
        )

    def audit_entries(self, app: str, limit: int = 100) -> list[dict[str, Any]]:
        cursor = self.db.execute(
            "SELECT id, at_wall, app, actor, kind, message, detail FROM audit WHERE app = ? "
            "ORDER BY id DESC LIMIT ?",
            (app, limit),
        )
        names = [d[0] for d in cursor.description]
        out = []
        for row in cursor:
            entry = dict(zip(names, row, strict=True))
            entry["detail"] = json.loads(entry["detail"]) if entry["detail"] else None
            out.append(entry)
        return out
